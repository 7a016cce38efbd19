"""The dashboard's banner settings form (the page "Banner, badge and outage page").

Staff read it: marked for translation, shown in English like the rest of the dashboard."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.organizations.models import BannerPosition, color_validator


class BannerForm(forms.Form):
    banner_position = forms.ChoiceField(
        label=pgettext_lazy("banner placement", "Position"),
        choices=BannerPosition.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "At the top the banner pushes your page down; at the bottom it floats over it."
        ),
    )
    banner_background = forms.CharField(
        label=_("Background colour"),
        max_length=7,
        validators=[color_validator],
        widget=forms.TextInput(attrs={"type": "color", "data-banner-setting": "background"}),
    )
    banner_text_color = forms.CharField(
        label=_("Text colour"),
        max_length=7,
        validators=[color_validator],
        widget=forms.TextInput(attrs={"type": "color", "data-banner-setting": "text"}),
        help_text=_("Must be readable on the background: at least 4.5:1 contrast."),
    )
