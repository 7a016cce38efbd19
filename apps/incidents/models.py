from __future__ import annotations

from typing import Self

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from apps.core.dates import ReadableDateTimeField
from apps.core.ids import PublicIdField
from apps.core.validators import reject_control_characters, reject_spoofing_characters
from apps.organizations.models import OrgOwnedModel, OrgQuerySet
from apps.status.models import ComponentStatus


class Kind(models.TextChoices):
    INCIDENT = "incident", pgettext_lazy("kind", "Incident")
    MAINTENANCE = "maintenance", pgettext_lazy("kind", "Scheduled maintenance")


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", pgettext_lazy("incident status", "Investigating")
    IDENTIFIED = "identified", pgettext_lazy("incident status", "Identified")
    MONITORING = "monitoring", pgettext_lazy("incident status", "Monitoring")
    RESOLVED = "resolved", pgettext_lazy("incident status", "Resolved")
    POSTMORTEM = "postmortem", pgettext_lazy("incident status", "Postmortem")


class MaintenanceStatus(models.TextChoices):
    SCHEDULED = "scheduled", pgettext_lazy("maintenance status", "Scheduled")
    IN_PROGRESS = "in_progress", pgettext_lazy("maintenance status", "In progress")
    VERIFYING = "verifying", pgettext_lazy("maintenance status", "Verifying")
    COMPLETED = "completed", pgettext_lazy("maintenance status", "Completed")


ALL_STATUSES = IncidentStatus.choices + MaintenanceStatus.choices
UNRESOLVED_INCIDENT = (
    IncidentStatus.INVESTIGATING,
    IncidentStatus.IDENTIFIED,
    IncidentStatus.MONITORING,
)
ACTIVE_MAINTENANCE = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)
OPEN_MAINTENANCE = (MaintenanceStatus.SCHEDULED, *ACTIVE_MAINTENANCE)


class Impact(models.TextChoices):
    NONE = "none", pgettext_lazy("impact", "None")
    MINOR = "minor", pgettext_lazy("impact", "Minor")
    MAJOR = "major", pgettext_lazy("impact", "Major")
    CRITICAL = "critical", pgettext_lazy("impact", "Critical")
    MAINTENANCE = "maintenance", pgettext_lazy("impact", "Maintenance")


class IncidentQuerySet(OrgQuerySet):
    def incidents(self) -> Self:
        return self.filter(kind=Kind.INCIDENT)

    def maintenances(self) -> Self:
        return self.filter(kind=Kind.MAINTENANCE)

    def unresolved(self) -> Self:
        return self.filter(kind=Kind.INCIDENT, status__in=UNRESOLVED_INCIDENT)


class Incident(OrgOwnedModel):
    """An incident or a scheduled maintenance (one model, as the status API has it)."""

    public_id = PublicIdField()
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INCIDENT)
    name = models.CharField(max_length=255, validators=[reject_spoofing_characters])
    status = models.CharField(max_length=16, choices=ALL_STATUSES)
    impact = models.CharField(max_length=12, choices=Impact.choices, default=Impact.NONE)
    # When set, impact was chosen by staff rather than computed from the affected components.
    impact_override = models.BooleanField(default=False)
    components = models.ManyToManyField("status.Component", related_name="incidents", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    started_at = ReadableDateTimeField(default=timezone.now)
    monitoring_at = models.DateTimeField(null=True, blank=True)
    resolved_at = ReadableDateTimeField(null=True, blank=True)
    # When staff promised the next update; beat reminds the responders before and after it
    # (services/cadence.py). Empty once resolved, or while monitoring with no_further_updates.
    next_update_due = ReadableDateTimeField(null=True, blank=True)
    # "No further updates until resolved": staff said so on the latest update (monitoring only).
    # db_default: rows written by code that predates the column (a rolling deploy) get False.
    no_further_updates = models.BooleanField(default=False, db_default=False)
    # The due time each staff reminder was last sent for: a reminder is sent once per due time,
    # claimed by a conditional UPDATE on these (tasks.run_update_reminders_at).
    due_soon_reminded_for = models.DateTimeField(null=True, blank=True)
    overdue_reminded_for = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    # Scheduled maintenance only.
    scheduled_for = ReadableDateTimeField(null=True, blank=True)
    scheduled_until = ReadableDateTimeField(null=True, blank=True)
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
    body = models.TextField(validators=[reject_control_characters])
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Shown to readers; differs from created_at when an update is backfilled.
    display_at = ReadableDateTimeField(default=timezone.now)
    deliver_notifications = models.BooleanField(default=True)
    # What this update promised: the next update's time, or no further updates until resolved.
    next_update_due = ReadableDateTimeField(null=True, blank=True)
    no_further_updates = models.BooleanField(default=False, db_default=False)
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
    name = models.CharField(max_length=100, validators=[reject_spoofing_characters])
    title = models.CharField(max_length=255, validators=[reject_spoofing_characters])
    body = models.TextField(validators=[reject_control_characters])
    status = models.CharField(max_length=16, choices=ALL_STATUSES, default="investigating")
    impact = models.CharField(max_length=12, choices=Impact.choices, default=Impact.MINOR)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Postmortem(OrgOwnedModel):
    """What happened, told to customers after an incident (one per incident, kind incident).

    A draft until published; publishing moves the incident to status `postmortem` and
    unpublishing back to `resolved`, so `incident.status == "postmortem"` always means "has a
    published postmortem" (lists show the badge without loading this row). Drafts are never
    shown publicly. The sections are plain text (rendered escaped, with line breaks kept).
    """

    public_id = PublicIdField()
    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="postmortem")
    summary = models.TextField(
        blank=True,
        help_text="What happened, in plain words: what customers saw, from when to when. "
        "Write for someone who does not work here; no internal names or jargon.",
    )
    customer_impact = models.TextField(
        blank=True,
        help_text="Who was affected, how, and for how long. Acknowledge the inconvenience "
        "honestly; do not minimise it.",
    )
    # Staff's own words to the people affected, kept apart from the measured facts above it.
    # Never written by Candor: publishing without it is allowed (the editor reminds).
    acknowledgement = models.TextField(
        blank=True,
        help_text="In your own words: that you understand the trouble this caused, and that "
        "you are sorry.",
    )
    cause = models.TextField(
        blank=True, help_text="Why it happened, explained without blame or internal jargon."
    )
    resolution = models.TextField(
        blank=True, help_text="How service was restored, and what was done during the incident."
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Last change to the text or action items (drafts and published alike).
    updated_at = models.DateTimeField(default=timezone.now)
    # Set while published; cleared by unpublishing (the text stays, as a draft).
    published_at = models.DateTimeField(null=True, blank=True)
    # Whether the last publish notified subscribers (staff choose each time they publish).
    notified_subscribers = models.BooleanField(default=False)
    # When the last action item of the published postmortem was done and "we did what we
    # promised" was emitted: set in that transaction, never cleared, so it is sent once.
    promise_kept_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    # Headings readers see on the incident page (translated there).
    SECTIONS = (
        ("summary", pgettext_lazy("postmortem section", "What happened")),
        ("customer_impact", pgettext_lazy("postmortem section", "How this affected you")),
        ("acknowledgement", pgettext_lazy("postmortem section", "In our own words")),
        ("cause", pgettext_lazy("postmortem section", "Why it happened")),
        ("resolution", pgettext_lazy("postmortem section", "How we fixed it")),
    )

    def __str__(self) -> str:
        return f"Postmortem: {self.incident.name}" if self.incident_id else "Postmortem"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def sections(self) -> list[tuple[str, str, str]]:
        """(field name, heading, text) of the sections that have text, in reading order."""
        return [
            (name, label, getattr(self, name))
            for name, label in self.SECTIONS
            if getattr(self, name)
        ]

    def as_text(self, action_items: list[ActionItem] | None = None) -> str:
        """The whole postmortem as plain text (webhook `postmortem_body`, mail, feeds)."""
        parts = [f"{label}\n\n{text}" for _name, label, text in self.sections()]
        items = list(self.action_items.all()) if action_items is None else action_items
        if items:
            lines = [f"- {item.title} ({item.get_status_display().lower()})" for item in items]
            parts.append("What we are doing so it does not happen again\n\n" + "\n".join(lines))
        return "\n\n".join(parts)


class ActionItem(OrgOwnedModel):
    """One thing being done so the incident does not happen again, shown with its progress."""

    class Status(models.TextChoices):
        PLANNED = "planned", pgettext_lazy("action item status", "Planned")
        IN_PROGRESS = "in_progress", pgettext_lazy("action item status", "In progress")
        DONE = "done", pgettext_lazy("action item status", "Done")

    public_id = PublicIdField()
    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.CASCADE, related_name="action_items"
    )
    title = models.CharField(max_length=255, help_text="What will change, in plain words.")
    description = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLANNED)
    due_date = models.DateField(null=True, blank=True)
    # Display order within the postmortem, from 1.
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    # When the status last changed (or the item was added): "In progress since 3 Dec".
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def status_since(self):
        """When the item reached its current status, when known (shown beside it)."""
        if self.status == self.Status.DONE:
            return self.completed_at
        return self.status_changed_at


class FollowUpSettings(OrgOwnedModel):
    """The organization's follow-up rules: after how many days a resolved incident without a
    published postmortem is listed on the incidents page. One row per organization, created
    when first changed (absent means the defaults)."""

    DEFAULT_POSTMORTEM_DUE_DAYS = 5
    MAX_POSTMORTEM_DUE_DAYS = 60

    organization = models.OneToOneField(
        "organizations.Organization", on_delete=models.CASCADE, related_name="follow_up_settings"
    )
    postmortem_due_days = models.PositiveSmallIntegerField(default=DEFAULT_POSTMORTEM_DUE_DAYS)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Follow-ups of {self.organization_id}"


__all__ = [
    "ActionItem",
    "ComponentStatus",
    "FollowUpSettings",
    "Impact",
    "Incident",
    "IncidentStatus",
    "IncidentTemplate",
    "IncidentUpdate",
    "IncidentUpdateRevision",
    "Kind",
    "MaintenanceStatus",
    "Postmortem",
]

# The plain-language checker's word lists live in their sub-package (apps/incidents/plain);
# importing them here registers them with Django under this app (app label `incidents`).
from .plain.models import PlainLanguageSettings  # noqa: E402, F401
