"""Which language a reader is answered in.

Public pages (a status page, its forum, the embed, subscriber pages) speak the reader's
language among the ones the organization offers; the dashboard and the API stay English.

The choice is a pure function of three things, so a cached rendering keyed by them can never
cross languages (apps/public/caching.py, apps/public/fastpath.py, the front cache):

1. the `candor_language` cookie, set by the switcher on the page, when it names an offered
   language;
2. otherwise the best offered match for `Accept-Language` (by q-value, then order; `de-CH`
   matches `de`);
3. otherwise the organization's default language.

Anything malformed (an unknown code, a garbled header) is skipped, never an error: the reader
gets the page's default. A message missing from a catalog falls back to English (gettext's
own rule: the msgid is the English text), never to an empty string.

Subscribers and forum followers keep the language they signed up in; their mail is rendered
inside `translation.override(language)`, and `supported(code)` turns whatever is stored into a
language we have (English when it is not one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.conf import settings
from django.http import HttpResponseBase
from django.utils import translation
from django.utils.cache import patch_vary_headers

# Accept-Language headers longer than this are not read past it (no browser sends one).
MAX_HEADER = 500


def codes() -> list[str]:
    """Every language Candor has a catalog for, English first."""
    return [code for code, _name in settings.LANGUAGES]


def names() -> dict[str, str]:
    """Each language's own name for itself ("Deutsch", "日本語"), as the switcher shows it."""
    return dict(settings.LANGUAGES)


def supported(code: str | None) -> str:
    """`code` if it is (or its primary subtag is) a language we have, else English."""
    found = _match(code or "", codes())
    return found or settings.LANGUAGE_CODE


def _match(tag: str, offered: Sequence[str]) -> str | None:
    tag = tag.strip().lower().replace("_", "-")
    if not tag or len(tag) > 35:
        return None
    if tag in offered:
        return tag
    primary = tag.split("-", 1)[0]
    if primary in offered:
        return primary
    return None


def parse_accept_language(header: str) -> list[str]:
    """Language tags of an Accept-Language header, best first (q=0 and malformed parts
    dropped; equal weights keep their order)."""
    weighted: list[tuple[float, int, str]] = []
    for index, item in enumerate(header[:MAX_HEADER].split(",")):
        tag, *parameters = (part.strip() for part in item.split(";"))
        if not tag or tag == "*":
            continue
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight > 0:
            weighted.append((-weight, index, tag))
    return [tag for _w, _i, tag in sorted(weighted)]


def choose(
    offered: Sequence[str], default: str, cookie: str | None, accept_language: str | None
) -> str:
    """The language of a public response: the cookie's, else the header's best, else `default`.

    `offered` is the organization's languages (always containing `default`)."""
    if cookie:
        found = _match(cookie, offered)
        if found:
            return found
    for tag in parse_accept_language(accept_language or ""):
        found = _match(tag, offered)
        if found:
            return found
    return default if default in offered else (offered[0] if offered else "en")


def clean_offered(values: Iterable[str], default: str) -> list[str]:
    """An organization's offered languages as stored: known codes, in Candor's order, with the
    default always among them."""
    wanted = set(values) | {default}
    return [code for code in codes() if code in wanted]


def activate_for_dashboard() -> None:
    """The dashboard, the API and everything outside a public page answer in English."""
    translation.activate(settings.LANGUAGE_CODE)


def vary(response: HttpResponseBase, offered: Sequence[str]) -> HttpResponseBase:
    """Say what a public response's language is and what it depended on. A page that offers one
    language answers every reader alike, so only pages offering more vary on the header and
    cookie."""
    if len(offered) > 1:
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
    if not response.has_header("Content-Language"):
        response["Content-Language"] = translation.get_language() or settings.LANGUAGE_CODE
    return response


def cookie_value(cookie_header: str) -> str:
    """The switcher cookie's value from a raw Cookie header ("" without one): what a reader's
    language depends on besides Accept-Language, for keys built before Django parses cookies
    (apps/public/fastpath.py)."""
    name = settings.LANGUAGE_COOKIE_NAME + "="
    for part in cookie_header.split(";"):
        part = part.strip()
        if part.startswith(name):
            return part[len(name) :][:35]
    return ""


# What readers and subscribers see, by path below the project (globs): every message marked
# here must be translated in every catalog (tests/i18n/test_catalogs.py). The dashboard's
# strings are marked too, but stay English for now (`make messages` leaves them out).
PUBLIC_TEMPLATES = [
    "templates/400.html",
    "templates/403.html",
    "templates/404.html",
    "templates/500.html",
    "templates/errors/*.html",
    "templates/status/base_public.html",
    "templates/status/public/*.html",
    "templates/status/includes/*.html",
    "templates/status/email/*",
    "templates/incidents/email/event.*",
    "templates/notifications/public/*.html",
    "templates/notifications/email/*",
    "templates/forum/public/*.html",
    "templates/forum/signin/**/*",
    "templates/forum/notify/*.html",
    "templates/forum/email/*",
]
PUBLIC_MODULES = [
    "apps/public/**/*.py",
    "apps/forum/views_public.py",
    "apps/forum/views_signin.py",
    "apps/forum/views_notify.py",
    "apps/forum/discussion.py",
    "apps/forum/rules.py",
    "apps/forum/counts.py",
    "apps/forum/notifications.py",
    "apps/forum/forms.py",
    "apps/forum/models.py",
    "apps/notifications/subscribers.py",
    "apps/notifications/registry.py",
    "apps/notifications/channels/*.py",
    "apps/incidents/notifications.py",
    "apps/incidents/models.py",
    "apps/incidents/postmortem_facts.py",
    "apps/status/notifications.py",
    "apps/status/models.py",
    "apps/core/validators.py",
    "apps/organizations/middleware.py",
]
