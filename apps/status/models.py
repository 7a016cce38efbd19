from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from apps.core.ids import PublicIdField
from apps.core.validators import reject_control_characters, reject_spoofing_characters
from apps.organizations.models import OrgOwnedModel


class ComponentStatus(models.TextChoices):
    OPERATIONAL = "operational", pgettext_lazy("component status", "Operational")
    DEGRADED_PERFORMANCE = (
        "degraded_performance",
        pgettext_lazy("component status", "Degraded performance"),
    )
    PARTIAL_OUTAGE = "partial_outage", pgettext_lazy("component status", "Partial outage")
    MAJOR_OUTAGE = "major_outage", pgettext_lazy("component status", "Major outage")
    UNDER_MAINTENANCE = "under_maintenance", pgettext_lazy("component status", "Under maintenance")


# Worse is larger. A group's status is the worst of its children's.
SEVERITY: dict[str, int] = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}


def worst_status(statuses) -> str:
    return max(statuses, key=lambda s: SEVERITY[s], default=ComponentStatus.OPERATIONAL)


# Word, icon and CSS class for each status: one vocabulary for the dashboard and the public page
# (templates/status/includes/status_badge.html). Colour is never the only signal.
STATUS_ICONS = {
    ComponentStatus.OPERATIONAL: "✓",
    ComponentStatus.DEGRADED_PERFORMANCE: "▲",
    ComponentStatus.PARTIAL_OUTAGE: "◐",
    ComponentStatus.MAJOR_OUTAGE: "✕",
    ComponentStatus.UNDER_MAINTENANCE: "◆",
}


class ComponentGroup(OrgOwnedModel):
    """A named group of components (one level only, as in the status API reference)."""

    public_id = PublicIdField()
    name = models.CharField(max_length=100, validators=[reject_spoofing_characters])
    description = models.CharField(
        max_length=500, blank=True, validators=[reject_control_characters]
    )
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def status(self) -> str:
        """The worst status of the group's components (operational when it has none).

        Reads `components.all()`, so prefetch `components` when listing groups.
        """
        return worst_status(c.status for c in self.components.all())


class Component(OrgOwnedModel):
    public_id = PublicIdField()
    group = models.ForeignKey(
        ComponentGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="components",
    )
    name = models.CharField(max_length=100, validators=[reject_spoofing_characters])
    description = models.CharField(
        max_length=500, blank=True, validators=[reject_control_characters]
    )
    # Position among its siblings (top level, or inside its group).
    position = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=24, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL
    )
    only_show_if_degraded = models.BooleanField(default=False)
    showcase = models.BooleanField(default=True, help_text="Show 90-day uptime bars")
    start_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # The UptimeDay rows account for this component's time up to this instant; the next status
    # change (or close_uptime_days at midnight) adds the seconds after it. Null for rows created
    # outside apps.status.services: accounting then starts at the start of the day.
    uptime_accounted_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["organization", "group", "position"])]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """`Group - Child` for children of a group, as affected_components names it."""
        return f"{self.group.name} - {self.name}" if self.group_id else self.name


class ComponentStatusChange(OrgOwnedModel):
    """History: one row per component status change (who, when, from, to, which incident)."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="changes")
    from_status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    to_status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="component_changes",
    )

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["component", "changed_at"])]


class UptimeDay(OrgOwnedModel):
    """Seconds a component spent in each status on one day (in the organization's timezone).

    Kept current incrementally by apps.status.services so no page view scans raw history.
    """

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="uptime_days")
    date = models.DateField()
    operational_seconds = models.PositiveIntegerField(default=0)
    degraded_seconds = models.PositiveIntegerField(default=0)
    partial_seconds = models.PositiveIntegerField(default=0)
    major_seconds = models.PositiveIntegerField(default=0)
    maintenance_seconds = models.PositiveIntegerField(default=0)
    # Worst status seen that day, for the bar's colour.
    worst_status = models.CharField(
        max_length=24, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL
    )
    closed = models.BooleanField(default=False)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["component", "date"], name="one_uptime_row_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.component_id} on {self.date}"

    @property
    def uptime_fraction(self) -> float | None:
        """Weighted uptime of this day, 0.0 to 1.0 (see UPTIME_WEIGHTS), None if nothing counted.

        A day spent entirely under maintenance has no denominator, hence None.
        """
        return uptime_fraction([self])

    @property
    def total_seconds(self) -> int:
        return sum(getattr(self, field) for field in SECONDS_FIELD.values())


# Share of a second in each status that counts as downtime (the Statuspage convention): a major
# outage is fully down, a partial outage 30 % down, degraded performance counts as up. Time under
# maintenance is left out of the denominator: planned work neither helps nor hurts uptime.
UPTIME_WEIGHTS: dict[str, float] = {
    ComponentStatus.OPERATIONAL: 0.0,
    ComponentStatus.DEGRADED_PERFORMANCE: 0.0,
    ComponentStatus.PARTIAL_OUTAGE: 0.3,
    ComponentStatus.MAJOR_OUTAGE: 1.0,
}

# UptimeDay column holding the seconds spent in each status.
SECONDS_FIELD: dict[str, str] = {
    ComponentStatus.OPERATIONAL: "operational_seconds",
    ComponentStatus.DEGRADED_PERFORMANCE: "degraded_seconds",
    ComponentStatus.PARTIAL_OUTAGE: "partial_seconds",
    ComponentStatus.MAJOR_OUTAGE: "major_seconds",
    ComponentStatus.UNDER_MAINTENANCE: "maintenance_seconds",
}


def uptime_fraction(days: Iterable[UptimeDay]) -> float | None:
    """Weighted uptime (0.0 to 1.0) over some UptimeDay rows, or None when nothing was measured.

    uptime = 1 - sum(seconds[s] * UPTIME_WEIGHTS[s]) / (all seconds - maintenance seconds)
    """
    counted = 0
    downtime = 0.0
    for day in days:
        for status, weight in UPTIME_WEIGHTS.items():
            seconds = getattr(day, SECONDS_FIELD[status])
            counted += seconds
            downtime += seconds * weight
    if counted == 0:
        return None
    return max(0.0, 1.0 - downtime / counted)
