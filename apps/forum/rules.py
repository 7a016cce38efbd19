"""Forum rules without writes: display names, form anti-bot helpers."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from django.core import signing
from django.utils.translation import gettext as _

from .markup import has_invisible, strip_invisible

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.organizations.models import Organization

# Words a customer's display name may not contain, in any case, as a word or at the start or end
# of one ("SupportBot", "AcmeStaff"; "badminton" passes).
RESERVED_NAME_WORDS = ("staff", "support", "admin", "administrator", "moderator", "official")
CUSTOMER_FALLBACK_NAME = "Customer"


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.casefold())


def check_display_name(name: str, organization: Organization) -> str | None:
    """Why `name` may not be a customer's display name in `organization`, or None if it may.

    Refused: the organization's name (or slug) inside it, a reserved word (staff, support, admin,
    moderator, official...), and invisible Unicode (direction overrides, zero-width characters)
    that could disguise either."""
    if has_invisible(name):
        return _("Display names may not contain invisible or direction-changing characters.")
    folded = " ".join(_words(name))
    squashed = "".join(_words(name))
    for org_text in (organization.name, organization.slug):
        org_words = " ".join(_words(org_text))
        if org_words and (org_words in folded or "".join(_words(org_text)) in squashed):
            return _("Display names may not contain the organization's name (%(name)s).") % {
                "name": organization.name
            }
    for word in _words(name):
        for reserved in RESERVED_NAME_WORDS:
            if word.startswith(reserved) or word.endswith(reserved):
                # Translators: "word" is an English word ("staff", "support", "admin", ...).
                return _("Display names may not contain the word “%(word)s”.") % {"word": reserved}
    return None


def customer_display_name(user: User, organization: Organization) -> str:
    """The name a customer's comments show. A display name that impersonates staff (or is
    empty) is replaced by the local part of their email address when that passes the same
    check, otherwise by "Customer"; the person is never blocked from commenting for it."""
    name = strip_invisible(user.display_name or "").strip()
    if name and check_display_name(user.display_name, organization) is None:
        return name[:80]
    local = user.email.split("@")[0]
    if local and check_display_name(local, organization) is None:
        return local[:80]
    return CUSTOMER_FALLBACK_NAME


# --- form anti-bot helpers (the form itself comes with the pages) -----------------------------

FORM_SALT = "forum.comment-form"
#: A form submitted faster than this after it was rendered was not filled in by a person.
FORM_MIN_SECONDS = 3
#: A form older than this is stale (re-render it).
FORM_MAX_SECONDS = 2 * 60 * 60
HONEYPOT_FIELD = "website"


def sign_form_timestamp(now: float | None = None) -> str:
    return signing.dumps(int(now if now is not None else time.time()), salt=FORM_SALT)


def check_form_submission(token: str, honeypot: str, now: float | None = None) -> str | None:
    """Why a submitted comment form is refused (a clear message), or None when it passes."""
    if honeypot:
        return _("Your comment could not be posted. Leave the last field empty and try again.")
    try:
        issued = int(signing.loads(token, salt=FORM_SALT))
    except (signing.BadSignature, TypeError, ValueError):
        return _("The form has expired or was changed. Reload the page and try again.")
    age = (now if now is not None else time.time()) - issued
    if age < FORM_MIN_SECONDS:
        return _("That was quicker than a person types. Wait a moment and post again.")
    if age > FORM_MAX_SECONDS:
        return _("The form has expired. Reload the page and try again.")
    return None
