from __future__ import annotations

from django.db import models
from django.utils import timezone

from apps.core.ids import PublicIdField
from apps.organizations.models import OrgOwnedModel


class NotificationEvent(OrgOwnedModel):
    """Outbox row: written in the same transaction as the change it announces.

    The notification pipeline (fan-out, deliveries) reads unprocessed events; new features add
    kinds, never delivery code.
    """

    class Kind(models.TextChoices):
        INCIDENT_OPENED = "incident.opened", "Incident opened"
        INCIDENT_UPDATED = "incident.updated", "Incident updated"
        INCIDENT_RESOLVED = "incident.resolved", "Incident resolved"
        COMPONENT_STATUS_CHANGED = "component.status_changed", "Component status changed"
        MAINTENANCE_SCHEDULED = "maintenance.scheduled", "Maintenance scheduled"
        MAINTENANCE_REMINDER = "maintenance.reminder", "Maintenance reminder"
        MAINTENANCE_STARTED = "maintenance.started", "Maintenance started"
        MAINTENANCE_UPDATED = "maintenance.updated", "Maintenance updated"
        MAINTENANCE_COMPLETED = "maintenance.completed", "Maintenance completed"
        MAINTENANCE_CANCELLED = "maintenance.cancelled", "Maintenance cancelled"

    public_id = PublicIdField()
    kind = models.CharField(max_length=40, choices=Kind.choices)
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    update = models.ForeignKey(
        "incidents.IncidentUpdate",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    component = models.ForeignKey(
        "status.Component", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Public ids of the components the event touches; empty means page-wide.
    component_ids = models.JSONField(default=list, blank=True)
    # Extra facts for templates (old/new status and the like).
    data = models.JSONField(default=dict, blank=True)
    # False for updates posted with "don't notify": kept for the record, never delivered.
    deliver = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="event_unprocessed",
                condition=models.Q(processed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.public_id})"
