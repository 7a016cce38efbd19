"""The public page's 90-day uptime bars: apps.status.uptime's bars with the incidents of each day.

apps.status reads its UptimeDay rows; the names of the incidents touching each component and day
(shown in the bars' per-day tooltips) are read here, on the floor that sees both apps. Two
queries for the bars of every component: the uptime rows and the incidents of the window.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from apps.incidents.models import Incident, IncidentStatus, Kind
from apps.organizations.models import Organization
from apps.status import uptime
from apps.status.models import Component


def uptime_bars(
    organization: Organization,
    components: Sequence[Component],
    *,
    today: date | None = None,
    now: datetime | None = None,
    days: int = uptime.BAR_DAYS,
) -> dict[int, uptime.ComponentUptime]:
    """apps.status.uptime.uptime_bars, each day with the names of the incidents touching it."""
    now = now or timezone.now()
    today = today or now.astimezone(organization.tzinfo).date()
    start = uptime.window(today, days)[0]
    incidents = incidents_by_day(
        organization, [component.pk for component in components], start, today, now=now
    )
    return uptime.uptime_bars(
        organization, components, today=today, now=now, days=days, incidents=incidents
    )


def incidents_by_day(
    organization: Organization,
    components: Iterable[int],
    start: date,
    end: date,
    *,
    now: datetime,
) -> dict[tuple[int, date], list[str]]:
    """Names of the incidents touching each (component pk, local day) in [start, end]."""
    component_ids = list(components)
    if not component_ids:
        return {}
    tz = organization.tzinfo
    start_at = datetime(start.year, start.month, start.day, tzinfo=tz)
    links = (
        Incident.components.through.objects.filter(
            incident__organization=organization,
            incident__kind=Kind.INCIDENT,
            component_id__in=component_ids,
            incident__started_at__lt=datetime(end.year, end.month, end.day, tzinfo=tz)
            + timedelta(days=1),
        )
        .filter(Q(incident__resolved_at__isnull=True) | Q(incident__resolved_at__gte=start_at))
        .values_list(
            "component_id",
            "incident__name",
            "incident__status",
            "incident__started_at",
            "incident__resolved_at",
        )
        .order_by("incident__started_at", "incident_id")
    )
    found: dict[tuple[int, date], list[str]] = defaultdict(list)
    closed = {IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM}
    for component_id, name, status, started_at, resolved_at in links:
        finished = resolved_at or (started_at if status in closed else now)
        first = max(timezone.localdate(started_at, timezone=tz), start)
        last = min(timezone.localdate(finished, timezone=tz), end)
        day = first
        while day <= last:
            found[(component_id, day)].append(name)
            day += timedelta(days=1)
    return found
