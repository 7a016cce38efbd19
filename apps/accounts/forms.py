from __future__ import annotations

from django import forms

from apps.core.validators import TextRulesFormMixin

from .models import User


class ProfileForm(TextRulesFormMixin, forms.Form):
    display_name = forms.CharField(
        label="Display name",
        max_length=User._meta.get_field("display_name").max_length,
        required=False,
        help_text="Shown to your team: in the member list, beside the updates you post in the "
        "dashboard, and on invitations you send; and beside the comments you post on status "
        "pages. Leave empty to use your email address (status pages show only the part before "
        "the @).",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
