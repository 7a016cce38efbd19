"""Inbound alert integrations (Alertmanager, Grafana, generic JSON): the integration, the state of
each alert group, and the log of received events.

Imported by apps/integrations/models.py, so Django registers them under the `integrations` app
(the app that contains this module; same label, same tables, same migrations)."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.ids import PublicIdField
from apps.core.links import absolute_url
from apps.organizations.models import OrgOwnedModel, OrgQuerySet
from apps.status.models import ComponentStatus

HOOK_TOKEN_PREFIX = "hk_"  # noqa: S105 (a public prefix, not a secret)
# Shown in lists so staff can tell tokens apart: "hk_" plus 6 characters (36 bits of 256).
HOOK_TOKEN_HINT_LENGTH = 9

DEFAULT_SEVERITY_MAP: dict[str, str] = {
    "critical": ComponentStatus.MAJOR_OUTAGE,
    "major": ComponentStatus.PARTIAL_OUTAGE,
    "warning": ComponentStatus.PARTIAL_OUTAGE,
}
DEFAULT_GRAFANA_SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
# Alert-driven updates of one incident: at most one public update per this many minutes (see
# services.py, "Coalescing"). 0 posts every visible change at once.
DEFAULT_UPDATE_WINDOW_MINUTES = 5
MAX_UPDATE_WINDOW_MINUTES = 60


def hash_token(token: str) -> str:
    # SECURITY: hook tokens and bearer tokens are 32 random bytes, so a fast hash suffices (there
    # is nothing to brute-force) and lets the hook look the integration up by hash in one indexed
    # query. Looking up by hash is also timing-safe: an attacker cannot steer the hash's prefix.
    return hashlib.sha256(token.encode()).hexdigest()


def generate_token() -> str:
    return HOOK_TOKEN_PREFIX + secrets.token_urlsafe(32)


class AlertIntegration(OrgOwnedModel):
    class Kind(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
        GRAFANA = "grafana", "Grafana alerting"
        GENERIC = "generic", "Generic JSON"

    class OnFiring(models.TextChoices):
        INCIDENT = "incident", "Open an incident at once"
        DRAFT = "draft", "Prepare a draft for staff to publish"

    class OnResolved(models.TextChoices):
        MONITORING = "monitoring", "Move the incident to monitoring"
        RESOLVE = "resolve", "Resolve the incident"

    public_id = PublicIdField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    # SECURITY: only the SHA-256 of the URL token is stored (see hash_token); the URL is shown
    # once, when the integration is created or its token rotated.
    token_hash = models.CharField(max_length=64, unique=True)
    token_hint = models.CharField(max_length=16)
    # Optional second factor: `Authorization: Bearer <token>`, also stored as a hash.
    bearer_token_hash = models.CharField(max_length=64, blank=True)
    # Grafana HMAC signing. SECURITY: the secret is stored as entered because verifying an HMAC
    # needs it; it is never rendered back (the form shows "set" / "not set").
    hmac_secret = models.CharField(max_length=200, blank=True)
    signature_header = models.CharField(max_length=100, default=DEFAULT_GRAFANA_SIGNATURE_HEADER)
    timestamp_header = models.CharField(max_length=100, blank=True)

    component_label = models.CharField(max_length=100, default="component")
    severity_label = models.CharField(max_length=100, default="severity")
    # {"critical": "major_outage", ...}; severities not listed get default_status.
    severity_map = models.JSONField(default=dict, blank=True)
    default_status = models.CharField(
        max_length=24,
        choices=[c for c in ComponentStatus.choices if c[0] != ComponentStatus.OPERATIONAL],
        default=ComponentStatus.DEGRADED_PERFORMANCE,
    )
    on_firing = models.CharField(max_length=10, choices=OnFiring.choices, default=OnFiring.INCIDENT)
    on_resolved = models.CharField(
        max_length=12, choices=OnResolved.choices, default=OnResolved.MONITORING
    )
    deliver_notifications = models.BooleanField(
        default=True, help_text="Notify subscribers of the incidents this integration opens."
    )
    # A storm of alerts must not become a storm of updates and mail: changes that arrive within
    # this many minutes of the last alert-driven update of an incident are folded into one
    # update at the window's end.
    update_window_minutes = models.PositiveSmallIntegerField(
        default=DEFAULT_UPDATE_WINDOW_MINUTES,
        help_text="At most one alert-driven update per incident per this many minutes "
        "(0: post every change at once).",
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_received_at = models.DateTimeField(null=True, blank=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def hook_path(self, token: str | None = None) -> str:
        return f"/hooks/{token or self.token_hint + '…'}/{self.kind}"

    def hook_url(self, token: str | None = None) -> str:
        """The full URL with the token, or with only its first characters when token is None."""
        return absolute_url(self.hook_path(token))

    def status_for_severity(self, severity: str | None) -> str:
        mapping = {**DEFAULT_SEVERITY_MAP, **{k.lower(): v for k, v in self.severity_map.items()}}
        return mapping.get((severity or "").strip().lower(), self.default_status)


class AlertGroupState(OrgOwnedModel):
    """Deduplication state of one alert group (Alertmanager's groupKey) of one integration.

    `alerts` maps each fingerprint to what was last applied for it, so a repeated notification
    (Alertmanager repeats, HA pairs send every notification twice) changes nothing.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Draft awaiting publication"
        OPEN = "open", "Incident open"
        CLOSED = "closed", "Closed"
        DISMISSED = "dismissed", "Draft dismissed"

    public_id = PublicIdField()
    integration = models.ForeignKey(
        AlertIntegration, on_delete=models.CASCADE, related_name="groups"
    )
    group_key = models.TextField()
    # Group keys can be long (Alertmanager's carry the route's matchers): unique on their hash.
    group_key_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    title = models.CharField(max_length=255, blank=True)
    # {fingerprint: {"status": "firing"|"resolved", "starts_at": iso|None, "components": {id: s},
    #  "name": alertname}}
    alerts = models.JSONField(default=dict, blank=True)
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What readers were last shown for this group: component public id → status, as of the last
    # alert-driven public post (the opening, an update). A call is a visible change only when the
    # group's firing alerts now want something else; everything else posts nothing.
    published = models.JSONField(default=dict, blank=True)
    # When this group's alerts last posted publicly; the coalescing window runs from here.
    last_posted_at = models.DateTimeField(null=True, blank=True)
    # Set while a visible change waits for the window to end; the beat sweep
    # (integrations.post_due_alert_updates) posts it then, whether or not another alert arrives.
    post_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "group_key_hash"], name="one_state_per_alert_group"
            )
        ]

    def __str__(self) -> str:
        return self.title or self.group_key[:80]

    @property
    def firing(self) -> dict[str, dict]:
        return {fp: a for fp, a in self.alerts.items() if a.get("status") == "firing"}

    def wanted_components(self) -> dict[str, str]:
        """Component public id → worst status asked for by the group's firing alerts."""
        from apps.status.models import SEVERITY

        wanted: dict[str, str] = {}
        for alert in self.firing.values():
            for component_id, status in alert.get("components", {}).items():
                if SEVERITY[status] > SEVERITY.get(wanted.get(component_id, ""), -1):
                    wanted[component_id] = status
        return wanted


class AlertEvent(OrgOwnedModel):
    """One inbound call of an integration: what it changed, or why it was ignored or refused."""

    class Outcome(models.TextChoices):
        CHANGED = "changed", "Changed"
        IGNORED = "ignored", "Ignored"
        REJECTED = "rejected", "Rejected"

    integration = models.ForeignKey(
        AlertIntegration, on_delete=models.CASCADE, related_name="events"
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField(default=200)
    group_key = models.TextField(blank=True)
    fingerprints = models.JSONField(default=list, blank=True)
    summary = models.TextField()
    payload_excerpt = models.TextField(blank=True)
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The public update this call posted, or the one its change was coalesced into.
    update = models.ForeignKey(
        "incidents.IncidentUpdate",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # True while this call's visible change waits for the coalescing window to end.
    held = models.BooleanField(default=False)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-received_at"]),
            # The calls held for a window, found at its end (a storm logs thousands of calls).
            models.Index(
                fields=["integration"], name="alert_event_held", condition=models.Q(held=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.summary[:80]}"
