from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.urls import reverse


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
        # An invitation link followed while logged out brings the user back to accept it.
        pending = request.session.pop("pending_invitation", None)
        if pending:
            return reverse("orgs:invitation_accept", args=[pending])
        return super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request):
        return self.get_login_redirect_url(request)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Mail templates render without context processors; the footer links to the app.
        context.setdefault("SITE_URL", settings.SITE_URL)
        super().send_mail(template_prefix, email, context)
