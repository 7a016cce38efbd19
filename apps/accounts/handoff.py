"""Staff hand-off: a member signed in to the application signs in on their organization's status
page host (its `<slug>.<STATUS_PAGE_DOMAIN>` or a verified custom domain), whose browser cookies
are not the application's.

1. The page host's sign-in page (POST) stores a random `state` in the page host's session and
   sends the browser to `accounts:page_handoff` on the application host with the page's host,
   the state and the path to come back to.
2. There (signed in, else allauth's login first), a member of the organization that host serves
   gets a token: signed (django.core.signing), valid 60 seconds, naming the user, the host, the
   state and a nonce kept in the cache; the browser goes back to the page host with it.
3. The page host redeems it once: same host, same organization, the state its own session
   holds, the nonce still in the cache (deleted on use), the person still a member.

SECURITY: the return address is always built from the host of one of that organization's own
pages (checked with the middleware's own lookup), never taken from the request as a URL, so
this is no open redirect. The state ties the token to the browser that asked for it: a member
cannot plant their own session in someone else's browser (login CSRF).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.urls import get_script_prefix, reverse, set_script_prefix
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.links import absolute_url
from apps.organizations.models import Membership
from apps.organizations.tenancy import normalise_host, organization_for_host

if TYPE_CHECKING:
    from apps.organizations.models import Organization

    from .models import User

SALT = "accounts.page-handoff"
MAX_AGE_SECONDS = 60
STATE_SESSION_KEY = "page_handoff_state"
NONCE_CACHE_PREFIX = "accounts:page-handoff:"
#: The page host's URL name that redeems a token (config/urls_public.py mounts it).
RETURN_URL_NAME = "public:signin-staff-return"

EXPIRED_MESSAGE = gettext_lazy(
    "This staff sign-in link has expired or was already used. Start again from the sign-in page."
)


class HandoffError(Exception):
    """Why a hand-off is refused, in words for the person."""


def new_state() -> str:
    return secrets.token_urlsafe(24)


def page_organization(host: str) -> Organization | None:
    """The organization whose status page `host` serves (a `<slug>.<STATUS_PAGE_DOMAIN>` host or
    a verified custom domain; never an application host), or None."""
    host = normalise_host(host)
    if not host or host in settings.APP_HOSTS or f"[{host}]" in settings.APP_HOSTS:
        return None
    return organization_for_host(host)


def safe_next(path: str) -> str:
    """A path on the page host (relative, no scheme or host), else the page root."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path or "\n" in path:
        return "/"
    return path


def start_url(host: str, state: str, next_path: str) -> str:
    """The application's hand-off address for a page on `host` (step 1)."""
    query = urlencode({"host": normalise_host(host), "state": state, "next": next_path})
    return absolute_url(_app_path("accounts:page_handoff") + "?" + query)


def _app_path(name: str) -> str:
    previous = get_script_prefix()
    set_script_prefix("/")
    try:
        return reverse(name, urlconf=settings.ROOT_URLCONF)
    finally:
        set_script_prefix(previous)


def _page_path(name: str) -> str:
    # A page host serves the public URLconf at its root.
    previous = get_script_prefix()
    set_script_prefix("/")
    try:
        return reverse(name, urlconf=settings.PUBLIC_URLCONF)
    finally:
        set_script_prefix(previous)


def is_member(user: User, organization: Organization) -> bool:
    return Membership.objects.filter(organization=organization, user=user).exists()


@dataclass
class Issued:
    organization: Organization
    url: str


def issue(user: User, *, host: str, state: str, next_path: str) -> Issued:
    """Step 2: the address on the page host that signs `user` in there. HandoffError when the
    host is not a status page, or the user is not a member of its organization."""
    host = normalise_host(host)
    organization = page_organization(host)
    if organization is None:
        raise HandoffError(_("There is no status page at that address."))
    if not is_member(user, organization):
        raise HandoffError(
            _(
                "You are signed in as %(email)s, who is not a member of %(name)s. "
                "Only its staff can sign in on its status page from here."
            )
            % {"email": user.email, "name": organization.name}
        )
    if not state:
        raise HandoffError(EXPIRED_MESSAGE)
    nonce = secrets.token_urlsafe(16)
    cache.set(NONCE_CACHE_PREFIX + nonce, user.pk, MAX_AGE_SECONDS)
    token = signing.dumps(
        {"u": user.pk, "h": host, "s": state, "n": nonce, "next": safe_next(next_path)},
        salt=SALT,
        compress=True,
    )
    path = _page_path(RETURN_URL_NAME) + "?" + urlencode({"token": token})
    return Issued(organization=organization, url=absolute_url(path, host=host))


@dataclass
class Redeemed:
    user: User
    next_path: str


def redeem(token: str, *, host: str, organization: Organization, state: str | None) -> Redeemed:
    """Step 3, on the page host: the user the token signs in and where to go. HandoffError when
    it is expired, used, for another host or browser, or the person is no longer a member."""
    from .models import User

    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:  # includes SignatureExpired
        raise HandoffError(EXPIRED_MESSAGE) from None
    if not isinstance(data, dict) or data.get("h") != normalise_host(host):
        raise HandoffError(EXPIRED_MESSAGE)
    if page_organization(host) != organization:
        raise HandoffError(EXPIRED_MESSAGE)
    # SECURITY: only the browser that started the hand-off on this host may finish it.
    if not state or not secrets.compare_digest(str(data.get("s", "")), state):
        raise HandoffError(EXPIRED_MESSAGE)
    # Single use: the first redemption deletes the nonce; a replay finds nothing.
    if not cache.delete(NONCE_CACHE_PREFIX + str(data.get("n", ""))):
        raise HandoffError(EXPIRED_MESSAGE)
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None or not is_member(user, organization):
        # Translators: %(name)s is the organization's name.
        raise HandoffError(
            _("Only %(name)s staff can sign in this way.") % {"name": organization.name}
        )
    return Redeemed(user=user, next_path=safe_next(str(data.get("next", "/"))))
