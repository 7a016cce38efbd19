from __future__ import annotations

import logging
import math
import time
from email.utils import formataddr, parseaddr
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.core.internal import ratelimit
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from apps.core.links import absolute_url

if TYPE_CHECKING:
    from django.http import HttpRequest

    from apps.organizations.models import Organization

logger = logging.getLogger(__name__)

# Set by the invitation page: the address the invitation was mailed to.
INVITED_EMAIL_SESSION_KEY = "invited_email"

#: The app name allauth files its rate limits under (allauth.account.app_settings.RATE_LIMITS,
#: i.e. settings.ACCOUNT_RATE_LIMITS).
RATE_LIMIT_APP = "allauth.account"
#: Failed password sign-ins for one address from every client together: a ceiling against
#: guessing spread over many addresses (ACCOUNT_RATE_LIMITS["login_failed_address"]).
ADDRESS_CEILING = "login_failed_address"
#: Sign-in codes asked for one address from every client together
#: (ACCOUNT_RATE_LIMITS["request_login_code_address"]); "request_login_code" itself is keyed by
#: address and client (consume_login_code_request).
CODE_ADDRESS_CEILING = "request_login_code_address"


def consume_login_code_request(request: HttpRequest, email: str) -> bool:
    """Count one request for a sign-in code mailed to `email`; False when a limit refuses it.

    allauth keys "request_login_code" by the address alone ("3/m/key"), so whoever keeps asking
    for codes for an address stops its owner from getting one. The rule of failed passwords
    applies instead (AccountAdapter below): the limit is per address *and* client (IP, an IPv6
    /64), so a stranger's requests use up only the stranger's own client, plus a ceiling per
    address across all clients, which also bounds how much mail one address can be sent. The
    ceiling is above what one client can reach within its own limits, so it takes several
    clients to reach it; even then the owner's password still works. Both limits are consumed
    together or not at all. Used by allauth's form (apps.accounts.forms.RequestLoginCodeForm)
    and the status page's sign-in (apps/forum/views_signin.py)."""
    address = email.strip().lower()
    pair = ratelimit.consume(
        request,
        app=RATE_LIMIT_APP,
        action="request_login_code",
        key=f"{address}:{ratelimit.get_ip(request)}",
    )
    if pair is None:
        return False
    ceiling = ratelimit.consume(
        request, app=RATE_LIMIT_APP, action=CODE_ADDRESS_CEILING, key=address
    )
    if ceiling is None:
        pair.rollback()
        logger.warning("Sign-in code refused (address ceiling): %s", address)
        return False
    return True


def retry_after_seconds(request: HttpRequest, action: str, key: str) -> float:
    """How long until `action`'s limits (settings.ACCOUNT_RATE_LIMITS) admit `key` again, read
    from the hit history allauth keeps in the cache (newest first); 0 when they admit it now."""
    now = time.time()
    wait = 0.0
    for rate in ratelimit.get_rates(app=RATE_LIMIT_APP, action=action):
        cache_key = ratelimit.get_cache_key(
            request, app=RATE_LIMIT_APP, action=action, rate=rate, key=key
        )
        recent = [hit for hit in cache.get(cache_key, []) if hit > now - rate.duration]
        if len(recent) >= rate.amount:
            # The rate admits again once its amount-th newest hit leaves the window.
            wait = max(wait, recent[rate.amount - 1] + rate.duration - now)
    return wait


def page_organization(request: HttpRequest | None) -> Organization | None:
    """The organization whose status page the request is on (TenantMiddleware set it: a page
    host, or /s/<slug>/ on the application host), else None (the application itself)."""
    if request is None or getattr(request, "public_prefix", None) is None:
        return None
    return getattr(request, "organization", None)


class AccountAdapter(DefaultAccountAdapter):
    """Account behaviour on the application and, for sign-in to comment, on status pages
    (apps/forum/views_signin.py): there the dashboard is never where a sign-in ends, allauth's
    flash messages are not shown (those pages say what happened themselves), and the code mail
    names the status page rather than Candor."""

    # --- failed sign-ins --------------------------------------------------------------------
    # allauth counts failed password sign-ins per address ("5/5m/key" with the address as key),
    # so whoever knows an address can lock its owner out everywhere with five wrong passwords.
    # Here the key is the address *and* the client (IP, an IPv6 /64), so a stranger's failures
    # lock only the stranger's own client; a second limit per address across all clients
    # (ADDRESS_CEILING) stays against guessing spread over many clients, set high enough that
    # one client cannot reach it within its own limit. Neither limit touches sign-in by emailed
    # code (allauth's request_login_code limits it), which proves control of the mailbox: the
    # way in for an owner whose address is locked, and what the refusal message offers.

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        address_key = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{address_key}:{ratelimit.get_ip(request)}"

    def _address_attempts_key(self, request: HttpRequest, **credentials: Any) -> str:
        return super()._get_login_attempts_cache_key(request, **credentials)

    def _delete_login_attempts_cached_email(self, request: HttpRequest, **credentials: Any) -> None:
        # After a password reset (which proved the mailbox): this client's count (allauth's
        # call, with the key above) and the address's ceiling. Other clients stay counted.
        super()._delete_login_attempts_cached_email(request, **credentials)
        ratelimit.clear(
            request,
            app=RATE_LIMIT_APP,
            action=ADDRESS_CEILING,
            key=self._address_attempts_key(request, **credentials),
        )

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        # allauth's own, with the second limit: both are consumed before the password is checked
        # and rolled back together when it is right (allauth's authenticate), so only failures
        # count and a correct sign-in cannot be used to reset the count mid-guessing.
        pair_key = self._get_login_attempts_cache_key(request, **credentials)
        usage = ratelimit.consume(request, app=RATE_LIMIT_APP, action="login_failed", key=pair_key)
        if usage is None:
            self._refuse_sign_in(request, "login_failed", pair_key, **credentials)
        address_key = self._address_attempts_key(request, **credentials)
        ceiling = ratelimit.consume(
            request, app=RATE_LIMIT_APP, action=ADDRESS_CEILING, key=address_key
        )
        if ceiling is None:
            usage.rollback()
            self._refuse_sign_in(request, ADDRESS_CEILING, address_key, **credentials)
        self._login_failed_rl_usage = ratelimit.RateLimitUsage(usage=usage.usage + ceiling.usage)

    def _refuse_sign_in(
        self, request: HttpRequest, action: str, key: str, **credentials: Any
    ) -> None:
        """Raise the form error for a sign-in refused by a failed-attempts limit: for how long,
        and the way in that still works (a code mailed to the address)."""
        minutes = max(1, math.ceil(retry_after_seconds(request, action, key) / 60))
        logger.warning(
            "Password sign-in refused (%s): %s from %s, %d min",
            action,
            self._login_address(credentials),
            ratelimit.get_ip(request),
            minutes,
        )
        code_url = reverse(
            "public:signin"
            if page_organization(request) is not None
            else "account_request_login_code"
        )
        # Readers see these too (a private status page's sign-in), in their language.
        if action == ADDRESS_CEILING:
            text = ngettext(
                "Too many failed attempts to sign in to this account; password sign-in is paused "
                'for {minutes} minute. <a href="{url}">Sign in with a code sent to your email</a> '
                "instead.",
                "Too many failed attempts to sign in to this account; password sign-in is paused "
                'for {minutes} minutes. <a href="{url}">Sign in with a code sent to your email</a> '
                "instead.",
                minutes,
            )
        else:
            text = ngettext(
                "Too many failed attempts from this device; try again in {minutes} minute, or "
                '<a href="{url}">sign in with a code sent to your email</a>.',
                "Too many failed attempts from this device; try again in {minutes} minutes, or "
                '<a href="{url}">sign in with a code sent to your email</a>.',
                minutes,
            )
        message = format_html(text, minutes=minutes, url=code_url)
        raise ValidationError(message, code="too_many_login_attempts")

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        # Never the password: the address tried and the client it came from.
        logger.info(
            "Password sign-in failed: %s from %s",
            self._login_address(credentials),
            ratelimit.get_ip(request),
        )

    @staticmethod
    def _login_address(credentials: dict[str, Any]) -> str:
        return str(credentials.get("email", credentials.get("username", ""))).lower()

    # --- where a sign-in ends, and account mail ----------------------------------------------

    def get_login_redirect_url(self, request):
        if page_organization(request) is not None:
            return reverse("public:page")
        # An invitation link followed while logged out brings the user back to accept it.
        pending = request.session.pop("pending_invitation", None)
        if pending:
            return reverse("orgs:invitation_accept", args=[pending])
        return super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request):
        return self.get_login_redirect_url(request)

    def is_email_verified(self, request, email: str) -> bool:
        # Whoever opened an invitation link received it at the invited address, so signing up
        # with exactly that address needs no second verification email. allauth's own
        # stash_verified_email is not used: it would attach the invited address to the new
        # account even when the user signs up with a different one.
        invited = request.session.get(INVITED_EMAIL_SESSION_KEY) if request else None
        if invited and invited.lower() == email.strip().lower():
            return True
        return super().is_email_verified(request, email)

    # Links in account mail come from SITE_URL (apps.core.links), like every other link Candor
    # mails, not from the Host of the request that triggered the mail (allauth's default).

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        return absolute_url(reverse("account_confirm_email", args=[emailconfirmation.key]))

    def get_reset_password_from_key_url(self, key: str) -> str:
        # allauth's own path with its "UID-KEY" placeholder replaced, as its flow does.
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return absolute_url(path.replace("UID-KEY", quote(key)))

    def send_account_already_exists_mail(self, email: str) -> None:
        context = {
            "signup_url": absolute_url(reverse("account_signup")),
            "password_reset_url": absolute_url(reverse("account_reset_password")),
        }
        self.send_mail("account/email/account_already_exists", email, context)

    def add_message(
        self,
        request,
        level,
        message_template=None,
        message_context=None,
        extra_tags="",
        message=None,
    ):
        if page_organization(request) is not None:
            return
        super().add_message(
            request,
            level,
            message_template=message_template,
            message_context=message_context,
            extra_tags=extra_tags,
            message=message,
        )

    def format_email_subject(self, subject: str) -> str:
        # Mail sent from a status page (its sign-in code) speaks for that page, not for Candor.
        if page_organization(allauth_context.request) is not None:
            return subject
        return super().format_email_subject(subject)

    def get_from_email(self) -> str:
        organization = page_organization(allauth_context.request)
        if organization is None:
            return super().get_from_email()
        # The page's name on the account sender's address (formataddr quotes and encodes it).
        _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
        return formataddr((f"{organization.name} status", address))

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        organization = page_organization(context.get("request") or allauth_context.request)
        if organization is not None and template_prefix == "account/email/login_code":
            # The code mail of a status page's sign-in names that page, not Candor.
            template_prefix = "forum/signin/email/login_code"
            context["status_page"] = {
                "name": organization.name,
                "url": organization.public_url,
                "private": organization.is_private,
            }
            context["code_minutes"] = max(1, account_settings.LOGIN_BY_CODE_TIMEOUT // 60)
        # Mail templates render without context processors; the footer links to the app.
        context.setdefault("SITE_URL", settings.SITE_URL)
        # "...to register an account on <domain>": SITE_URL's, not the request's Host.
        domain = urlsplit(settings.SITE_URL).netloc
        context.setdefault("current_site", SimpleNamespace(name="Candor", domain=domain))
        if "signup_url" in context:  # unknown_account: built by allauth from the request
            context["signup_url"] = absolute_url(reverse("account_signup"))
        super().send_mail(template_prefix, email, context)
