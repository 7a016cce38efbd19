from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import quote, urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.urls import reverse

from apps.core.links import absolute_url

# Set by the invitation page: the address the invitation was mailed to.
INVITED_EMAIL_SESSION_KEY = "invited_email"


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
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

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Mail templates render without context processors; the footer links to the app.
        context.setdefault("SITE_URL", settings.SITE_URL)
        # "...to register an account on <domain>": SITE_URL's, not the request's Host.
        domain = urlsplit(settings.SITE_URL).netloc
        context.setdefault("current_site", SimpleNamespace(name="Candor", domain=domain))
        if "signup_url" in context:  # unknown_account: built by allauth from the request
            context["signup_url"] = absolute_url(reverse("account_signup"))
        super().send_mail(template_prefix, email, context)
