"""The status page import's upload form."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .services import MAX_FILE_BYTES


class ImportForm(forms.Form):
    summary = forms.FileField(
        label="summary.json",
        help_text=gettext_lazy("From https://<old page>/api/v2/summary.json. At most 5 MB."),
    )
    incidents = forms.FileField(
        label="incidents.json",
        required=False,
        help_text=gettext_lazy(
            "Optional: https://<old page>/api/v2/incidents.json, for past incidents."
        ),
    )

    def _read(self, name: str) -> Any:
        upload = self.cleaned_data.get(name)
        if not upload:
            return None
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(_("%(file)s is larger than 5 MB.") % {"file": upload.name})
        try:
            return json.loads(upload.read())
        except (UnicodeDecodeError, ValueError) as exc:
            raise forms.ValidationError(
                # Translators: error is the JSON parser's own (English) description.
                _("%(file)s is not valid JSON (%(error)s).") % {"file": upload.name, "error": exc}
            ) from exc

    def clean_summary(self) -> Any:
        return self._read("summary")

    def clean_incidents(self) -> Any:
        return self._read("incidents")
