"""The dashboard's banner settings form (the page "Banner, badge and outage page")."""

from __future__ import annotations

from django import forms

from apps.organizations.models import BannerPosition, color_validator


class BannerForm(forms.Form):
    banner_position = forms.ChoiceField(
        label="Position",
        choices=BannerPosition.choices,
        widget=forms.RadioSelect,
        help_text="At the top the banner pushes your page down; at the bottom it floats over it.",
    )
    banner_background = forms.CharField(
        label="Background colour",
        max_length=7,
        validators=[color_validator],
        widget=forms.TextInput(attrs={"type": "color", "data-banner-setting": "background"}),
    )
    banner_text_color = forms.CharField(
        label="Text colour",
        max_length=7,
        validators=[color_validator],
        widget=forms.TextInput(attrs={"type": "color", "data-banner-setting": "text"}),
        help_text="Must be readable on the background: at least 4.5:1 contrast.",
    )
