"""The measured impact of a resolved incident, in plain sentences, for its postmortem.

Starting a postmortem pre-fills "How this affected you" with what Candor recorded, for staff to
edit: how long the incident lasted, each affected component's worst status and how long it
was out (from the component status history, apps.status), how many subscribers were sent a
notification about it (the notifications ledger: deliveries sent for its events), and how many
readers told us they were affected (the forum's marks, read through their reverse relation).
Staff then add the acknowledgement in their own words: Candor never writes that part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from apps.notifications.models import Delivery
from apps.status.models import SEVERITY, Component, ComponentStatus, ComponentStatusChange

from .models import Incident
from .notifications import SUBJECT_TYPE

OUTAGE = (ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.MAJOR_OUTAGE)
STATUS_WORDS = {
    ComponentStatus.PARTIAL_OUTAGE: "a partial outage",
    ComponentStatus.MAJOR_OUTAGE: "a major outage",
}


def duration_words(seconds: float) -> str:
    """Whole minutes rounded up (a real outage never reads "0 minutes"), at most two units, in
    the active language (the public incident page shows it; the dashboard runs in English)."""
    if seconds <= 0:
        return _("less than a minute")
    minutes = math.ceil(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(count)s day", "%(count)s days", days) % {"count": days})
    if hours:
        parts.append(ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": hours})
    if minutes:
        parts.append(
            ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": minutes}
        )
    if len(parts) < 2:
        return parts[0]
    # Translators: a duration of two units, e.g. "2 hours 5 minutes".
    return pgettext("duration", "%(larger)s %(smaller)s") % {
        "larger": parts[0],
        "smaller": parts[1],
    }


def _when(value: datetime, tz: ZoneInfo, *, day: bool = True) -> str:
    local = value.astimezone(tz)
    return f"{local:%b} {local.day}, {local:%H:%M}" if day else f"{local:%H:%M}"


@dataclass
class ComponentImpact:
    name: str
    worst: str
    outage_seconds: float
    degraded_seconds: float

    def sentence(self) -> str:
        if self.outage_seconds > 0:
            return (
                f"{self.name} had {STATUS_WORDS[self.worst]} at its worst, with "
                f"{duration_words(self.outage_seconds)} of outage in all."
            )
        if self.degraded_seconds > 0:
            return (
                f"{self.name} was slower than usual (degraded performance) for "
                f"{duration_words(self.degraded_seconds)}."
            )
        return f"{self.name} was affected, with no change of its status recorded."


def component_impacts(incident: Incident, start: datetime, end: datetime) -> list[ComponentImpact]:
    """Each affected component's worst status and time out of service between `start` and
    `end`, from its status history: the status it had at `start`, then every change until
    `end`. Components named by the incident or changed by its updates; three queries."""
    organization = incident.organization
    changed_by_incident = ComponentStatusChange.objects.for_org(organization).filter(
        incident=incident
    )
    before_start = (
        ComponentStatusChange.objects.filter(component=OuterRef("pk"), changed_at__lt=start)
        .order_by("-changed_at", "-id")
        .values("to_status")[:1]
    )
    components = list(
        Component.objects.for_org(organization)
        .filter(
            Q(pk__in=incident.components.values("pk"))
            | Q(pk__in=changed_by_incident.values("component_id"))
        )
        .select_related("group")
        .annotate(status_before=Subquery(before_start))
        .order_by("position", "id")
    )
    changes: dict[int, list[ComponentStatusChange]] = {c.pk: [] for c in components}
    for change in (
        ComponentStatusChange.objects.for_org(organization)
        .filter(component_id__in=changes, changed_at__gte=start, changed_at__lt=end)
        .order_by("changed_at", "id")
    ):
        changes[change.component_id].append(change)
    impacts = []
    for component in components:
        own = changes[component.pk]
        # The status at `start`: what the first change in the window changed from, else
        # what the last change before it set, else (never changed) the current one.
        status = own[0].from_status if own else component.status_before or component.status
        seconds: dict[str, float] = {}
        moment = start
        for change in own:
            seconds[status] = seconds.get(status, 0) + (change.changed_at - moment).total_seconds()
            status, moment = change.to_status, change.changed_at
        seconds[status] = seconds.get(status, 0) + (end - moment).total_seconds()
        seen = [s for s, n in seconds.items() if n > 0]
        worst = max(seen, key=lambda s: SEVERITY.get(s, 0), default=ComponentStatus.OPERATIONAL)
        impacts.append(
            ComponentImpact(
                name=component.display_name,
                worst=worst,
                outage_seconds=sum(seconds.get(s, 0) for s in OUTAGE),
                degraded_seconds=seconds.get(ComponentStatus.DEGRADED_PERFORMANCE, 0),
            )
        )
    return impacts


def subscribers_notified(incident: Incident) -> int:
    """Subscribers sent at least one notification about the incident: deliveries sent for its
    own events and for the component changes its updates made ("within" it)."""
    return (
        Delivery.objects.for_org(incident.organization)
        .filter(
            Q(event__subject_type=SUBJECT_TYPE, event__subject_id=incident.public_id)
            | Q(event__snapshot__within__id=incident.public_id),
            status=Delivery.Status.SENT,
        )
        .aggregate(n=Count("subscriber", distinct=True))["n"]
    )


def affected_sentence(incident: Incident) -> str:
    """What customers told us on the incident's discussion ("I'm affected too"), e.g. "312
    people told us they were affected (API: 120, Dashboard: 80)."; "" when nobody did. Read
    through the marks' reverse relation (`affected_marks`): the forum is on a floor above."""
    rows = list(
        incident.affected_marks.order_by()
        .values("component__name")
        .annotate(n=Count("id"))
        .values_list("component__name", "n")
    )
    total = sum(n for _name, n in rows)
    if not total:
        return ""
    people = "person" if total == 1 else "people"
    named = sorted(((name, n) for name, n in rows if name), key=lambda row: (-row[1], row[0]))
    detail = f" ({', '.join(f'{name}: {n:,}' for name, n in named)})" if named else ""
    return f"{total:,} {people} told us they were affected{detail}."


def measured_impact(incident: Incident) -> str:
    """The measured facts as short paragraphs of plain sentences; "" for an unresolved
    incident (there is no duration to tell yet)."""
    start, end = incident.started_at, incident.resolved_at
    if start is None or end is None or end < start:
        return ""
    tz = incident.organization.tzinfo
    same_day = start.astimezone(tz).date() == end.astimezone(tz).date()
    paragraphs = [
        f"The incident lasted {duration_words((end - start).total_seconds())}, from "
        f"{_when(start, tz)} to {_when(end, tz, day=not same_day)} "
        f"({end.astimezone(tz).tzname()})."
    ]
    components = " ".join(impact.sentence() for impact in component_impacts(incident, start, end))
    if components:
        paragraphs.append(components)
    notified = subscribers_notified(incident)
    reach = (
        f"We sent notifications about it to {notified:,} "
        f"subscriber{'s' if notified != 1 else ''} by email, webhook or Slack."
        if notified
        else "No subscriber was sent a notification about it."
    )
    marks = affected_sentence(incident)
    paragraphs.append(f"{reach} {marks}" if marks else reach)
    return "\n\n".join(paragraphs)
