"""Forms for inbound alert integrations."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.validators import TextRulesFormMixin
from apps.status.models import ComponentStatus

from .models import (
    DEFAULT_SEVERITY_MAP,
    DEFAULT_UPDATE_WINDOW_MINUTES,
    MAX_UPDATE_WINDOW_MINUTES,
    AlertIntegration,
)

OUTAGE_STATUSES = [c for c in ComponentStatus.choices if c[0] != ComponentStatus.OPERATIONAL]


class AlertIntegrationForm(TextRulesFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=AlertIntegration.Kind.choices,
        help_text=gettext_lazy(
            "Which system posts to the hook. It decides the payload format and the URL."
        ),
    )
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("E.g. “Production Alertmanager”."),
    )
    enabled = forms.BooleanField(
        required=False, initial=True, label=gettext_lazy("Enabled: act on notifications")
    )
    component_label = forms.CharField(
        label=gettext_lazy("Component label"),
        max_length=100,
        initial="component",
        help_text=gettext_lazy(
            "The alert label naming the component: its id, its name or “Group - Name”, "
            "any case; several separated by commas."
        ),
    )
    severity_label = forms.CharField(
        label=gettext_lazy("Severity label"), max_length=100, initial="severity"
    )
    severity_map = forms.CharField(
        required=False,
        label=gettext_lazy("Severity → component status"),
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=gettext_lazy(
            "One “severity = status” per line. Built in: critical = major_outage, "
            "major = partial_outage, warning = partial_outage."
        ),
    )
    default_status = forms.ChoiceField(
        choices=OUTAGE_STATUSES,
        initial=ComponentStatus.DEGRADED_PERFORMANCE,
        label=gettext_lazy("Status for other severities"),
    )
    on_firing = forms.ChoiceField(
        choices=AlertIntegration.OnFiring.choices,
        label=gettext_lazy("When alerts fire"),
        widget=forms.RadioSelect,
        initial=AlertIntegration.OnFiring.INCIDENT,
    )
    on_resolved = forms.ChoiceField(
        choices=AlertIntegration.OnResolved.choices,
        label=gettext_lazy("When every alert of the group is resolved"),
        widget=forms.RadioSelect,
        initial=AlertIntegration.OnResolved.MONITORING,
    )
    deliver_notifications = forms.BooleanField(
        required=False, initial=True, label=gettext_lazy("Notify subscribers of these incidents")
    )
    update_window_minutes = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_UPDATE_WINDOW_MINUTES,
        initial=DEFAULT_UPDATE_WINDOW_MINUTES,
        label=gettext_lazy("Minutes between alert updates"),
    )
    bearer_token = forms.CharField(
        label=gettext_lazy("Bearer token"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy(
            "Optional: require `Authorization: Bearer <token>`. Leave empty to keep the "
            "current setting."
        ),
    )
    clear_bearer_token = forms.BooleanField(
        required=False, label=gettext_lazy("Stop requiring a bearer token")
    )
    hmac_secret = forms.CharField(
        required=False,
        max_length=200,
        label=gettext_lazy("Grafana HMAC secret"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy(
            "Grafana only: the contact point's HMAC signature secret. Leave empty to keep "
            "the current one."
        ),
    )
    clear_hmac_secret = forms.BooleanField(
        required=False, label=gettext_lazy("Stop checking signatures")
    )
    signature_header = forms.CharField(
        max_length=100,
        initial="X-Grafana-Alerting-Signature",
        label=gettext_lazy("Signature header"),
    )
    timestamp_header = forms.CharField(
        required=False,
        max_length=100,
        label=gettext_lazy("Timestamp header"),
        help_text=gettext_lazy(
            "Only if set in Grafana too: the signature then covers “timestamp:body”."
        ),
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["update_window_minutes"].help_text = _(
            "An alert storm posts at most one update per incident in this many minutes: "
            "changes that arrive sooner are folded into one update when the time is up (when "
            "every alert has resolved, that is posted at once). Alerts that change nothing "
            "readers see post nothing. 0 posts every change at once; empty means %(default)s."
        ) % {"default": DEFAULT_UPDATE_WINDOW_MINUTES}
        if editing:
            # The kind decides the URL and the token; change it by making a new integration.
            del self.fields["kind"]

    def clean_severity_map(self) -> dict[str, str]:
        mapping: dict[str, str] = {}
        allowed = {value for value, _label in OUTAGE_STATUSES}
        for number, line in enumerate(self.cleaned_data["severity_map"].splitlines(), start=1):
            if not line.strip():
                continue
            severity, sep, status = line.partition("=")
            severity, status = severity.strip().lower(), status.strip()
            if not sep or not severity or status not in allowed:
                raise forms.ValidationError(
                    _("Line %(number)s: write “severity = status”, the status one of %(allowed)s.")
                    % {"number": number, "allowed": ", ".join(sorted(allowed))}
                )
            mapping[severity] = status
        return mapping

    def clean_update_window_minutes(self) -> int:
        minutes = self.cleaned_data["update_window_minutes"]
        return DEFAULT_UPDATE_WINDOW_MINUTES if minutes is None else minutes

    def settings(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("kind", None)
        bearer, clear_bearer = data.pop("bearer_token"), data.pop("clear_bearer_token")
        secret, clear_secret = data.pop("hmac_secret"), data.pop("clear_hmac_secret")
        # None keeps the stored value, "" clears it, text replaces it.
        data["bearer_token"] = "" if clear_bearer else (bearer or None)
        data["hmac_secret"] = "" if clear_secret else (secret or None)
        return data

    @staticmethod
    def initial_for(integration: AlertIntegration) -> dict[str, Any]:
        return {
            "name": integration.name,
            "enabled": integration.enabled,
            "component_label": integration.component_label,
            "severity_label": integration.severity_label,
            "severity_map": "\n".join(f"{k} = {v}" for k, v in integration.severity_map.items()),
            "default_status": integration.default_status,
            "on_firing": integration.on_firing,
            "on_resolved": integration.on_resolved,
            "deliver_notifications": integration.deliver_notifications,
            "update_window_minutes": integration.update_window_minutes,
            "signature_header": integration.signature_header,
            "timestamp_header": integration.timestamp_header,
        }


def severity_defaults_text() -> str:
    return ", ".join(f"{k} = {v}" for k, v in DEFAULT_SEVERITY_MAP.items())
