from __future__ import annotations

from allauth.account import app_settings as account_settings
from allauth.account.adapter import get_adapter
from allauth.account.forms import RequestLoginCodeForm as AllauthRequestLoginCodeForm
from allauth.account.internal.userkit import filter_users_by_email
from allauth.core import context
from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.validators import TextRulesFormMixin

from .adapter import consume_login_code_request
from .models import User


class ProfileForm(TextRulesFormMixin, forms.Form):
    display_name = forms.CharField(
        label=_("Display name"),
        max_length=User._meta.get_field("display_name").max_length,
        required=False,
        help_text=_(
            "Shown to your team: in the member list, beside the updates you post in the "
            "dashboard, and on invitations you send; and beside the comments you post on status "
            "pages. Leave empty to use your email address (status pages show only the part "
            "before the @)."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


class RequestLoginCodeForm(AllauthRequestLoginCodeForm):
    """allauth's "mail me a sign-in code" form (settings.ACCOUNT_FORMS), its limit keyed by
    address and client rather than by address alone (consume_login_code_request says why).
    Otherwise allauth's own clean_email."""

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if email:
            users = filter_users_by_email(
                email, is_active=True, prefer_verified=True, for_login=True
            )
            if not account_settings.PREVENT_ENUMERATION and not users:
                raise get_adapter().validation_error("unknown_email")
            if not consume_login_code_request(context.request, email):
                raise get_adapter().validation_error("too_many_login_attempts")
            self._user = users[0] if users else None
        return email
