from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class EraseCustomerForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Email address of the person"),
        help_text=gettext_lazy(
            "Their subscriptions to this status page are deleted; their comments on it "
            "stay, with their name replaced by “Deleted user”; their marks, flags and follows "
            "here are deleted; this audit log shows “erased user” in their place. Nothing "
            "changes in other organizations. This cannot be undone."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )


class DeleteAccountForm(forms.Form):
    confirmation = forms.CharField(
        # Translators: DELETE is typed as is, in capitals; do not translate it.
        label=gettext_lazy("Type DELETE to confirm"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_confirmation(self) -> str:
        value = self.cleaned_data["confirmation"].strip()
        if value != "DELETE":
            # Translators: DELETE is typed as is, in capitals; do not translate it.
            raise forms.ValidationError(_("Type DELETE, in capitals, to confirm."))
        return value
