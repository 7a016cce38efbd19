from __future__ import annotations

from email.utils import formataddr, parseaddr
from types import SimpleNamespace
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.urls import reverse

from apps.core.links import absolute_url

if TYPE_CHECKING:
    from django.http import HttpRequest

    from apps.organizations.models import Organization

# Set by the invitation page: the address the invitation was mailed to.
INVITED_EMAIL_SESSION_KEY = "invited_email"


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
            context["status_page"] = {"name": organization.name, "url": organization.public_url}
            context["code_minutes"] = max(1, account_settings.LOGIN_BY_CODE_TIMEOUT // 60)
        # Mail templates render without context processors; the footer links to the app.
        context.setdefault("SITE_URL", settings.SITE_URL)
        # "...to register an account on <domain>": SITE_URL's, not the request's Host.
        domain = urlsplit(settings.SITE_URL).netloc
        context.setdefault("current_site", SimpleNamespace(name="Candor", domain=domain))
        if "signup_url" in context:  # unknown_account: built by allauth from the request
            context["signup_url"] = absolute_url(reverse("account_signup"))
        super().send_mail(template_prefix, email, context)
