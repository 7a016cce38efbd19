"""Forms validate input and call the validators that services use; services do the writes."""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.text import slugify
from django.utils.translation import get_language_info, gettext
from django.utils.translation import gettext_lazy as _

from apps.core import i18n
from apps.core.dates import DisplayDateField
from apps.core.validators import TextRulesFormMixin

from .models import Organization, PageAccessToken, Visibility
from .roles import Role, assignable_roles
from .services import validate_invitee, validate_new_hostname, validate_new_slug
from .timezones import UTC_NAME, timezone_choices, zone_aliases

StrOrPromise = str | Promise


def _role_choices(roles: list[str]) -> list[tuple[str, StrOrPromise]]:
    return [(role, Role(role).label) for role in roles]


class TimeZoneField(forms.ChoiceField):
    """Current canonical zones grouped by region, each with its offset; searchable with JS.

    static/js/timezone-picker.js adds a filter box above the select and, with
    `detect_browser_zone`, preselects the browser's zone (until the user picks one). Without
    JavaScript it is a plain grouped select.
    """

    def __init__(
        self, *, current: str | None = None, detect_browser_zone: bool = False, **kw: Any
    ) -> None:
        kw.setdefault("label", _("Time zone"))
        super().__init__(choices=timezone_choices(current), **kw)
        self.widget.attrs["data-timezone-picker"] = ""
        if detect_browser_zone:
            self.widget.attrs["data-detect-browser-zone"] = ""
            # Browsers name some zones by their old names (Chrome: "Asia/Calcutta").
            self.widget.attrs["data-zone-aliases"] = json.dumps(zone_aliases(), sort_keys=True)


class OrganizationCreateForm(TextRulesFormMixin, forms.Form):
    name = forms.CharField(
        max_length=100,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "organization"}),
        label=_("Name"),
        help_text=_("Your company or product, as customers know it."),
    )
    slug = forms.CharField(
        max_length=40,
        required=False,
        label=_("Address"),
        help_text=_("Lowercase letters, digits and hyphens. Leave empty to use the name."),
        widget=forms.TextInput(
            attrs={"autocapitalize": "none", "spellcheck": "false", "data-slug-input": ""}
        ),
    )
    timezone = forms.ChoiceField(
        initial=UTC_NAME,
        label=_("Time zone"),
        help_text=_(
            "Used for maintenance windows and daily uptime. Your browser's zone is "
            "chosen for you when it can be; you can change it later."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built per form, so each zone's offset label is the current one (summer or winter).
        field = self.fields["timezone"]
        self.fields["timezone"] = TimeZoneField(
            initial=field.initial,
            help_text=field.help_text,
            # Not on a form sent back with errors: the user's own choice stays.
            detect_browser_zone=not self.is_bound,
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data  # what Form.clean() returns, typed as never None
        name = cleaned.get("name") or ""
        slug = (cleaned.get("slug") or "").strip() or slugify(name)[:40].strip("-")
        if not slug:
            if name:
                self.add_error(
                    "slug", gettext("Choose an address made of letters, digits or hyphens.")
                )
            return cleaned
        try:
            cleaned["slug"] = validate_new_slug(slug)
        except ValidationError as exc:
            self.add_error("slug", exc)
        return cleaned


class OrganizationSettingsForm(TextRulesFormMixin, forms.Form):
    # A plain form, not a ModelForm: validating a ModelForm writes into the instance, and the
    # service must see the stored values to record what changed.
    name = forms.CharField(
        label=_("Name"), max_length=Organization._meta.get_field("name").max_length
    )
    timezone = forms.ChoiceField(label=_("Time zone"))
    require_two_factor = forms.BooleanField(
        label=_("Require two-factor authentication"),
        required=False,
        help_text=_(
            "Members without an authenticator app are sent to set one up before they can open "
            "this organization's dashboard. You need one yourself first. API keys are not "
            "affected: scripts keep working."
        ),
    )

    default_language = forms.ChoiceField(
        label=_("Default language"),
        help_text=_("What readers get when none of the languages below suits them."),
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages readers can choose"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Readers get the language their browser asks for among the checked ones, or the one "
            "they pick with the switcher at the foot of the page; otherwise the default. The "
            "default language is always offered, checked or not. Subscribers get mail in the "
            "language they subscribed in."
        ),
    )

    def __init__(self, *args: Any, can_require_two_factor: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The stored zone stays offered even when it is an old alias ("US/Pacific"), so
        # renaming the organization does not force a new zone on it.
        self.fields["timezone"] = TimeZoneField(current=self.initial.get("timezone"))
        # Built per form, from settings.LANGUAGES as it is now.
        choices = language_choices()
        cast(forms.ChoiceField, self.fields["default_language"]).choices = choices
        cast(forms.MultipleChoiceField, self.fields["languages"]).choices = choices
        # Owners only (roles: org.require_two_factor); for an admin the field is absent, so
        # a save of the name never touches the requirement.
        if not can_require_two_factor:
            del self.fields["require_two_factor"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        default = cleaned.get("default_language")
        if default and "languages" in cleaned:
            # The default is always offered: checking it is implied (the help text says so).
            cleaned["languages"] = i18n.clean_offered(cleaned["languages"], default)
        return cleaned


def language_choices() -> list[tuple[str, str]]:
    """Each language in its own name, with the dashboard's name for it beside: "Deutsch
    (German)"; English alone ("English")."""
    choices = []
    for code, own_name in settings.LANGUAGES:
        name = get_language_info(code)["name_translated"]
        # Translators: a language's own name, then the dashboard's name for it: "Deutsch (German)".
        label = gettext("%(own_name)s (%(name)s)") % {"own_name": own_name, "name": name}
        choices.append((code, own_name if name == own_name else label))
    return choices


class DeleteOrganizationForm(TextRulesFormMixin, forms.Form):
    confirmation = forms.CharField(
        label=_("Type the organization's address to confirm"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_confirmation(self) -> str:
        value = self.cleaned_data["confirmation"].strip()
        if value != self.organization.slug:
            # Translators: %(slug)s is the organization's address, like "acme".
            raise ValidationError(
                gettext("Type “%(slug)s” exactly to confirm.") % {"slug": self.organization.slug}
            )
        return value


class InviteForm(TextRulesFormMixin, forms.Form):
    email = forms.EmailField(
        label=_("Email address"), widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    role = forms.ChoiceField(label=_("Role"), choices=())

    def __init__(
        self, *args: Any, organization: Organization, actor_role: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        role_field = cast(forms.ChoiceField, self.fields["role"])
        role_field.choices = _role_choices(assignable_roles(actor_role))
        self.fields["role"].initial = Role.EDITOR

    def clean_email(self) -> str:
        return validate_invitee(self.organization, self.cleaned_data["email"])


class RoleForm(TextRulesFormMixin, forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=())

    def __init__(self, *args: Any, actor_role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role_field = cast(forms.ChoiceField, self.fields["role"])
        role_field.choices = _role_choices(assignable_roles(actor_role))


class DomainForm(TextRulesFormMixin, forms.Form):
    hostname = forms.CharField(
        max_length=253,
        label=_("Hostname"),
        help_text=_("For example status.example.com."),
        widget=forms.TextInput(
            attrs={"placeholder": "status.example.com", "autocapitalize": "none"}
        ),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_hostname(self) -> str:
        return validate_new_hostname(self.organization, self.cleaned_data["hostname"])


class AuditFilterForm(TextRulesFormMixin, forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False)
    actor = forms.CharField(
        required=False,
        label=_("Actor"),
        widget=forms.TextInput(attrs={"placeholder": _("email"), "list": "audit-actors"}),
    )
    since = DisplayDateField(required=False, label=_("From"))
    until = DisplayDateField(required=False, label=_("To"))

    def __init__(self, *args: Any, actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        action_field = cast(forms.ChoiceField, self.fields["action"])
        action_field.choices = [("", gettext("All actions"))] + [(a, a) for a in actions]


class PageVisibilityForm(TextRulesFormMixin, forms.Form):
    """Who can see the status page (services.set_page_visibility validates the domains)."""

    visibility = forms.ChoiceField(
        label=_("Who can see the status page"),
        choices=Visibility.choices,
        widget=forms.RadioSelect,
    )
    allowed_domains = forms.CharField(
        label=_("Allowed email domains"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_(
            "One per line, like example.com. On a private page, people who sign in on the page "
            "with a confirmed address at one of these domains can read it; members of this "
            "organization always can. Subdomains are not included: list them too."
        ),
    )


class PageAccessTokenForm(TextRulesFormMixin, forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=PageAccessToken._meta.get_field("name").max_length,
        help_text=_("What will use it, like “Grafana” or “Team calendar”."),
    )
