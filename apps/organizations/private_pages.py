"""Who may read a private status page, decided once per request by TenantMiddleware.

An organization's page is public (anyone) or private. A private page, and everything served on
its addresses (the status API v2, feeds, maintenance.ics, the embed, the badge, the outage page,
the forum), is shown only to:

- members of the organization, signed in on the page's host (the forum's sign-in there, the
  staff hand-off, or the application's own session below /s/<slug>/);
- people signed in there with a verified address at one of its allowed email domains (an exact
  match of the part after "@": `example.com` does not let in `eng.example.com`);
- holders of one of its access tokens (`PageAccessToken`), sent as `Authorization: Bearer
  <token>` or `?token=<token>` (feed readers and calendar apps cannot send headers).

Everyone else gets, before any view runs (so nothing is rendered or even loaded for them):
- on the page's HTML pages (GET): a redirect to the sign-in page of that host, which says the
  page is private and, to a signed-in person it does not let in, whom it is private to;
- on anything else (API, feeds, embed, badge, outage page, live polls, forum actions, URLs that
  do not exist): exactly what an address with no status page answers (`hidden`), so a script
  cannot tell a private page from no page at all.

The sign-in pages, the one-click unsubscribe and mute links of mail (RFC 8058: they must work
without signing in) and the branding images shown on the sign-in page stay reachable (`OPEN`).
"""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import TYPE_CHECKING

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.urls import Resolver404, ResolverMatch, resolve
from django.utils import timezone

from apps.api.throttling import auth_failure_wait, record_auth_failure

from .models import (
    PAGE_TOKEN_PREFIX,
    Membership,
    Organization,
    PageAccessToken,
    hash_page_token,
)

if TYPE_CHECKING:
    from apps.accounts.models import User

# Routes every reader reaches, by URL name (namespace:name).
OPEN = frozenset(
    {
        "public:signin",
        "public:signin-code",
        "public:signin-password",
        "public:signin-two-factor",
        "public:signin-name",
        "public:signin-staff",
        "public:signin-staff-return",
        "public:signout",
        "account_login",
        "account_confirm_login_code",
        "mfa_authenticate",
        # One-click links of mail: the token in the link is the proof (RFC 8058).
        "notifications:unsubscribe",
        "forum_notify:mute",
        "forum_notify:mute_all",
        # The logo and favicon of the sign-in page.
        "branding_file",
        # The language switcher (the sign-in page has it): sets a cookie, shows nothing.
        "public:language",
    }
)
# HTML pages a person opens in a browser: a refused reader is sent to sign in and brought back.
PAGES = frozenset(
    {
        "public:page",
        "public:history",
        "public:incident",
        "notifications:subscribe",
        "notifications:confirm",
        "notifications:manage",
    }
)
# How often last_used_at is written for one token (a monitor polling every second must not
# write a row per request).
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 200


class Route(enum.Enum):
    OPEN = "open"  # reachable by anyone
    PAGE = "page"  # an HTML page: refused readers are sent to sign in
    OTHER = "other"  # refused readers get the "no status page here" answer
    MISSING = "missing"  # no such URL: the same answer, to everyone


class Decision(enum.Enum):
    ALLOW = "allow"
    SIGN_IN = "sign_in"  # redirect to the sign-in page of this host
    HIDDEN = "hidden"  # answer as an address with no status page does


def route_of(path_info: str) -> tuple[Route, ResolverMatch | None]:
    """What kind of public URL path_info is (resolved without running anything)."""
    try:
        match = resolve(path_info, urlconf=settings.PUBLIC_URLCONF)
    except Resolver404:
        return Route.MISSING, None
    name = match.view_name
    if name in OPEN or path_info == "/healthz":
        return Route.OPEN, match
    if name in PAGES:
        return Route.PAGE, match
    return Route.OTHER, match


def presented_token(request: HttpRequest) -> str | None:
    """The access token the request carries, if any (header first, then ?token=)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.GET.get("token") or None


def may_hold_credentials(request: HttpRequest) -> bool:
    """Whether the request could be let in at all: a session cookie or a token. Without either
    it is refused at once, before the session and authentication middleware run."""
    return settings.SESSION_COOKIE_NAME in request.COOKIES or presented_token(request) is not None


def token_opens(request: HttpRequest, organization: Organization) -> bool:
    """A valid, unrevoked token of this very organization. A token of another organization
    opens nothing here (the lookup is scoped to `organization`)."""
    secret = presented_token(request)
    if secret is None:
        return False
    if not secret.startswith(PAGE_TOKEN_PREFIX) or len(secret) > MAX_TOKEN_LENGTH:
        record_auth_failure(request, what="status page token")
        return False
    if auth_failure_wait(request) is not None:
        # Too many wrong tokens from this client: not even looked up. Answered as any refusal
        # (a 429 would tell that a private page is here).
        return False
    token = (
        PageAccessToken.objects.active()
        .filter(organization=organization, hashed_token=hash_page_token(secret))
        .first()
    )
    if token is None:
        record_auth_failure(request, what="status page token")
        return False
    _touch(token)
    return True


def _touch(token: PageAccessToken) -> None:
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    # Conditional: concurrent requests with one token write the row once per resolution.
    PageAccessToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION),
        pk=token.pk,
    ).update(last_used_at=now)


def email_domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower()


def user_may_read(user: User, organization: Organization) -> bool:
    """A member, or a person with a verified address at one of the allowed domains."""
    if not user.is_authenticated or not user.is_active:
        return False
    if Membership.objects.filter(organization=organization, user=user).exists():
        return True
    allowed = set(organization.allowed_email_domains)
    if not allowed:
        return False
    verified = EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)
    return any(email_domain(address) in allowed for address in verified)


def may_read(request: HttpRequest, organization: Organization) -> bool:
    """Whether this request may read the organization's page (public pages: everyone)."""
    if not organization.is_private:
        return True
    user = getattr(request, "user", None)
    if user is not None and user_may_read(user, organization):
        return True
    return token_opens(request, organization)


def decide(request: HttpRequest, organization: Organization, route: Route) -> Decision:
    """The one decision for a request to a private page (TenantMiddleware calls it before the
    view; `request.user` is there by then)."""
    if route is Route.OPEN:
        return Decision.ALLOW
    if route is Route.MISSING:
        return Decision.HIDDEN
    if may_read(request, organization):
        return Decision.ALLOW
    if route is Route.PAGE and request.method in ("GET", "HEAD"):
        return Decision.SIGN_IN
    return Decision.HIDDEN


def refusal_note(organization: Organization) -> str:
    """Whom a private page is for, in words, for the page a signed-in outsider sees."""
    domains = organization.allowed_email_domains
    if not domains:
        return f"This status page is private to {organization.name} staff."
    listed = ", ".join(f"@{domain}" for domain in domains)
    return (
        f"This status page is private to {organization.name}: people with an address at {listed}."
    )


def may_receive_updates(request: HttpRequest, organization: Organization, email: str) -> bool:
    """Whether a private page's updates may be mailed to `email`: an address at an allowed
    domain, or one the signed-in reader has confirmed as their own (a member at any domain)."""
    if email_domain(email) in set(organization.allowed_email_domains):
        return True
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return EmailAddress.objects.filter(user=user, verified=True, email__iexact=email).exists()
