from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.ids import PublicIdField
from apps.organizations.models import OrgOwnedModel, OrgQuerySet
from apps.status.models import ComponentStatus


class Kind(models.TextChoices):
    INCIDENT = "incident", "Incident"
    MAINTENANCE = "maintenance", "Scheduled maintenance"


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"
    POSTMORTEM = "postmortem", "Postmortem"


class MaintenanceStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    VERIFYING = "verifying", "Verifying"
    COMPLETED = "completed", "Completed"


ALL_STATUSES = IncidentStatus.choices + MaintenanceStatus.choices
UNRESOLVED_INCIDENT = (
    IncidentStatus.INVESTIGATING,
    IncidentStatus.IDENTIFIED,
    IncidentStatus.MONITORING,
)
ACTIVE_MAINTENANCE = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)
OPEN_MAINTENANCE = (MaintenanceStatus.SCHEDULED, *ACTIVE_MAINTENANCE)


class Impact(models.TextChoices):
    NONE = "none", "None"
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"
    CRITICAL = "critical", "Critical"
    MAINTENANCE = "maintenance", "Maintenance"


class IncidentQuerySet(OrgQuerySet):
    def incidents(self):
        return self.filter(kind=Kind.INCIDENT)

    def maintenances(self):
        return self.filter(kind=Kind.MAINTENANCE)

    def unresolved(self):
        return self.filter(kind=Kind.INCIDENT, status__in=UNRESOLVED_INCIDENT)


class Incident(OrgOwnedModel):
    """An incident or a scheduled maintenance (one model, as the status API has it)."""

    public_id = PublicIdField()
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INCIDENT)
    name = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=ALL_STATUSES)
    impact = models.CharField(max_length=12, choices=Impact.choices, default=Impact.NONE)
    # When set, impact was chosen by staff rather than computed from the affected components.
    impact_override = models.BooleanField(default=False)
    components = models.ManyToManyField("status.Component", related_name="incidents", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(default=timezone.now)
    monitoring_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # When staff promised the next update; the outage-response workflow reminds them.
    next_update_due = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    # Scheduled maintenance only.
    scheduled_for = models.DateTimeField(null=True, blank=True)
    scheduled_until = models.DateTimeField(null=True, blank=True)
    auto_start = models.BooleanField(default=True)
    auto_complete = models.BooleanField(default=True)
    reminder_hours = models.PositiveIntegerField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "kind", "status"]),
            models.Index(fields=["organization", "kind", "-started_at"]),
            models.Index(fields=["organization", "kind", "scheduled_for"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_maintenance(self) -> bool:
        return self.kind == Kind.MAINTENANCE

    @property
    def is_open(self) -> bool:
        if self.is_maintenance:
            return self.status in OPEN_MAINTENANCE
        return self.status in UNRESOLVED_INCIDENT


class IncidentUpdate(OrgOwnedModel):
    """One official update on an incident's timeline."""

    public_id = PublicIdField()
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=16, choices=ALL_STATUSES)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Shown to readers; differs from created_at when an update is backfilled.
    display_at = models.DateTimeField(default=timezone.now)
    deliver_notifications = models.BooleanField(default=True)
    next_update_due = models.DateTimeField(null=True, blank=True)
    # [{"code": component public id, "name": "Group - Child", "old_status", "new_status"}]
    affected_components = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-display_at", "-id"]
        indexes = [models.Index(fields=["incident", "-display_at"])]

    def __str__(self) -> str:
        return f"{self.get_status_display()}: {self.body[:60]}"


class IncidentUpdateRevision(OrgOwnedModel):
    """The text an update had before an edit (visible to staff)."""

    update = models.ForeignKey(IncidentUpdate, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    edited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-edited_at", "-id"]


class IncidentTemplate(OrgOwnedModel):
    public_id = PublicIdField()
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INCIDENT)
    name = models.CharField(max_length=100)
    title = models.CharField(max_length=255)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=ALL_STATUSES, default="investigating")
    impact = models.CharField(max_length=12, choices=Impact.choices, default=Impact.MINOR)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


__all__ = [
    "ComponentStatus",
    "Impact",
    "Incident",
    "IncidentStatus",
    "IncidentTemplate",
    "IncidentUpdate",
    "IncidentUpdateRevision",
    "Kind",
    "MaintenanceStatus",
]
