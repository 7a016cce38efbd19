from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import ApiKey
from .services import READ_ONLY_TRUSTED_MESSAGE


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What uses this key, e.g. “Deploy pipeline” or “Grafana alerts”."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
    scope = forms.ChoiceField(
        label=gettext_lazy("Scope"),
        choices=[
            (ApiKey.Scope.READ, gettext_lazy("Read only: can look at the organization's data")),
            (
                ApiKey.Scope.WRITE,
                gettext_lazy("Read and write: can also open and update incidents, etc."),
            ),
            (
                ApiKey.Scope.ADMIN,
                gettext_lazy("Admin: can also manage API keys and alert integrations"),
            ),
        ],
        initial=ApiKey.Scope.READ,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "Give a key the least it needs. Read-only keys get 403 on any change."
        ),
    )
    can_import_confirmed = forms.BooleanField(
        required=False,
        label=gettext_lazy("Trusted importer"),
        help_text=gettext_lazy(
            "may add email subscribers as already confirmed, without a confirmation mail. "
            "Only for addresses that already consented, e.g. a migration from another status page."
        ),
    )
    # One random value per form page: a reload of the "key created" page re-posts the form, and
    # this lets the view answer "already created" instead of making a second key.
    form_nonce = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the key a name."))
        return name

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if cleaned.get("can_import_confirmed") and cleaned.get("scope") == ApiKey.Scope.READ:
            self.add_error("can_import_confirmed", READ_ONLY_TRUSTED_MESSAGE)
        return cleaned
