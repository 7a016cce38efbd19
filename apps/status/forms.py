"""Dashboard forms for components, groups and branding. They validate; services write."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.validators import NAME_FIELDS, TextRulesFormMixin
from apps.organizations.models import Organization, color_validator

from . import services
from .models import ComponentGroup, ComponentStatus


class ComponentForm(TextRulesFormMixin, forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Shown under the component's name on the status page. Plain text; line "
            "breaks are not kept."
        ),
    )
    group = forms.ModelChoiceField(
        label=gettext_lazy("Group"),
        queryset=ComponentGroup.objects.none(),
        required=False,
        to_field_name="public_id",
        empty_label=gettext_lazy("No group (top level)"),
    )
    only_show_if_degraded = forms.BooleanField(
        required=False,
        label=gettext_lazy("Only show if degraded"),
        help_text=gettext_lazy("Hide it from the status page while it is operational."),
    )
    showcase = forms.BooleanField(
        required=False,
        initial=True,
        label=gettext_lazy("Show uptime bars"),
        help_text=gettext_lazy("Show 90 days of uptime for it on the status page."),
    )
    start_date = forms.DateField(
        label=gettext_lazy("Start date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("When you started running it; uptime bars begin here."),
    )

    def __init__(self, *args, organization: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # SECURITY: only this organization's groups are choices, so a posted id of another
        # organization's group is "not one of the available choices".
        self.fields["group"].queryset = ComponentGroup.objects.for_org(organization)
        self.fields["name"].widget.attrs["autofocus"] = True

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("Please give it a name."))
        return name


class GroupForm(TextRulesFormMixin, forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autofocus": True}),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Shown under the group's name on the status page when the group is open. "
            "Plain text; line breaks are not kept."
        ),
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("Please give it a name."))
        return name


class StatusForm(TextRulesFormMixin, forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=ComponentStatus.choices)


class MoveForm(TextRulesFormMixin, forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])


class StarterComponentsForm(TextRulesFormMixin, forms.Form):
    name_fields = NAME_FIELDS | {"names"}  # component names, separated by commas

    names = forms.CharField(
        max_length=500,
        initial="Website, API, Dashboard",
        label=gettext_lazy("Component names"),
        help_text=gettext_lazy(
            "Separate names with commas. You can rename, group or delete them later."
        ),
    )

    def clean_names(self) -> list[str]:
        names = [n.strip() for n in self.cleaned_data["names"].split(",") if n.strip()]
        if not names:
            raise ValidationError(_("Enter at least one name."))
        if len(names) > 20:
            raise ValidationError(_("Add at most 20 at once."))
        too_long = [n for n in names if len(n) > 100]
        if too_long:
            raise ValidationError(_("Names can have at most 100 characters."))
        return names


class BrandingForm(TextRulesFormMixin, forms.Form):
    logo = forms.FileField(
        label=gettext_lazy("Logo"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}),
        help_text=gettext_lazy(
            "PNG, JPEG, GIF or WebP, up to 1 MB. Shown at the top of your status page."
        ),
    )
    remove_logo = forms.BooleanField(required=False, label=gettext_lazy("Remove the current logo"))
    favicon = forms.FileField(
        label=gettext_lazy("Favicon"),
        required=False,
        widget=forms.FileInput(
            attrs={"accept": "image/png,image/jpeg,image/gif,image/webp,image/x-icon,.ico"}
        ),
        help_text=gettext_lazy("ICO, PNG, JPEG, GIF or WebP, up to 256 KB and 512 pixels square."),
    )
    remove_favicon = forms.BooleanField(
        required=False, label=gettext_lazy("Remove the current favicon")
    )
    accent_color = forms.CharField(
        max_length=7,
        validators=[color_validator],
        widget=forms.TextInput(attrs={"type": "color"}),
        label=gettext_lazy("Accent colour"),
        help_text=gettext_lazy("Links and buttons on your status page."),
    )
    website_url = forms.URLField(
        label=gettext_lazy("Website url"),
        required=False,
        assume_scheme="https",
        help_text=gettext_lazy("Your logo links here."),
    )
    support_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label=gettext_lazy("Support URL"),
        help_text=gettext_lazy("Where readers can get help; linked from the status page."),
    )
    footer_text = forms.CharField(label=gettext_lazy("Footer text"), max_length=200, required=False)

    def _clean_image(self, name: str, rules: services.ImageRules):
        upload = self.cleaned_data.get(name)
        if upload:
            services.validate_branding_image(upload, rules)
        return upload

    def clean_logo(self):
        return self._clean_image("logo", services.LOGO_RULES)

    def clean_favicon(self):
        return self._clean_image("favicon", services.FAVICON_RULES)

    def clean_website_url(self) -> str:
        return _http_only(self.cleaned_data["website_url"])

    def clean_support_url(self) -> str:
        return _http_only(self.cleaned_data["support_url"])


def _http_only(url: str) -> str:
    # SECURITY: the URL becomes a link on the public page; only http(s), never javascript:.
    if url and not url.lower().startswith(("https://", "http://")):
        raise ValidationError(_("Use an http:// or https:// address."))
    return url
