from __future__ import annotations

from django import forms

from .models import User


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label="Display name",
        max_length=User._meta.get_field("display_name").max_length,
        required=False,
        help_text="Shown to your team and, on updates you post, to customers. Leave empty to "
        "show your email address.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
