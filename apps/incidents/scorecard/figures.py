"""Every figure of the response scorecard, computed in one place.

Per incident (`incident_score`, two queries): time to the first public update from the
incident's start, updates on time versus promised, the longest silence while active, time to
resolution, time to the published postmortem, and action items done. Per organization over a
window (`organization_scorecard`, two queries whatever the number of incidents): the same
figures for the whole window and for each week in it, so a team sees whether it is getting
better at talking to its customers.

Definitions (the labels below say them in plain words):
- An update's time is the time readers see (`display_at`).
- The incident is active from `started_at` until an update resolves it (and again after a
  reopening update, until the next resolution).
- A promise is an update's `next_update_due`. It is kept when the next update comes at or before
  it, broken when the next update comes later, or when the incident is still active, has no
  later update and the time has passed. A promise whose time has not come yet is not counted.
- The longest silence is the longest stretch while active with no update: from the start to the
  first update, between updates, and from the last update to now while still active.
- Time to postmortem runs from resolution to publication.
- An incident recorded after the fact (backfilled or imported: every update entered at or after
  its resolution) had no public update while it happened; the organization's figures leave it
  out and say how many were left out.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.organizations.models import Organization

from ..models import (
    UNRESOLVED_INCIDENT,
    ActionItem,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    Kind,
    Postmortem,
)

DEFAULT_DAYS = 90
MIN_DAYS = 7
MAX_DAYS = 365
# A postmortem counts as prompt when published within this many days of resolution.
POSTMORTEM_TARGET_DAYS = 7
POSTMORTEM_TARGET = timedelta(days=POSTMORTEM_TARGET_DAYS)
RESOLVED = (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM)


def duration_text(value: timedelta) -> str:
    """A duration as people say it: "under a minute", "12 min", "2 h 5 min", "3 days 4 h"."""
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return _("under a minute")
    if minutes < 60:
        return _("%(minutes)s min") % {"minutes": minutes}
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        if rest:
            return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": rest}
        return _("%(hours)s h") % {"hours": hours}
    days, hours = divmod(hours, 24)
    if hours:
        return ngettext("%(days)s day %(hours)s h", "%(days)s days %(hours)s h", days) % {
            "days": days,
            "hours": hours,
        }
    return ngettext("%(days)s day", "%(days)s days", days) % {"days": days}


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


@dataclass(frozen=True)
class Step:
    """One public update, as the scorecard needs it."""

    at: datetime
    status: str
    next_update_due: datetime | None
    # When it was entered: later than `at` for a backfilled or imported update.
    posted_at: datetime


@dataclass(frozen=True)
class PostmortemFacts:
    published_at: datetime | None = None
    action_items_total: int = 0
    action_items_done: int = 0


@dataclass(frozen=True)
class IncidentScore:
    """One incident's figures; `None` where the figure does not exist (yet)."""

    public_id: str
    name: str
    started_at: datetime
    resolved_at: datetime | None
    now: datetime
    updates: int
    first_update_after: timedelta | None
    updates_promised: int
    updates_on_time: int
    longest_silence: timedelta | None
    time_to_resolution: timedelta | None
    postmortem_after: timedelta | None
    action_items_total: int
    action_items_done: int
    recorded_later: bool = False

    @property
    def is_resolved(self) -> bool:
        return self.time_to_resolution is not None

    @property
    def postmortem_due(self) -> bool:
        """Whether the postmortem target applies: published, or resolved long enough ago."""
        if self.resolved_at is None:
            return False
        return self.postmortem_after is not None or self.now - self.resolved_at >= (
            POSTMORTEM_TARGET
        )

    @property
    def postmortem_on_time(self) -> bool:
        return self.postmortem_after is not None and self.postmortem_after <= POSTMORTEM_TARGET

    # Plain labels ------------------------------------------------------------------------------

    @property
    def first_update_label(self) -> str:
        if self.first_update_after is None:
            return _("No public update yet")
        if self.first_update_after < timedelta(minutes=1):
            return _("First public update within a minute of the start")
        return _("First public update after %(duration)s") % {
            "duration": duration_text(self.first_update_after)
        }

    @property
    def on_time_label(self) -> str:
        if not self.updates_promised:
            return _("No promised update time has come yet")
        return ngettext(
            "%(on_time)s of %(promised)s update on time",
            "%(on_time)s of %(promised)s updates on time",
            self.updates_promised,
        ) % {"on_time": self.updates_on_time, "promised": self.updates_promised}

    @property
    def silence_label(self) -> str:
        if self.longest_silence is None:
            return _("No silence measured yet")
        return _("Longest silence while active: %(duration)s") % {
            "duration": duration_text(self.longest_silence)
        }

    @property
    def resolution_label(self) -> str:
        if self.time_to_resolution is None:
            return _("Not resolved yet: active for %(duration)s") % {
                "duration": duration_text(self.now - self.started_at)
            }
        return _("Resolved after %(duration)s") % {
            "duration": duration_text(self.time_to_resolution)
        }

    @property
    def postmortem_label(self) -> str:
        if self.postmortem_after is not None:
            return _("Postmortem published %(duration)s after resolution") % {
                "duration": duration_text(self.postmortem_after)
            }
        if self.resolved_at is None:
            return _("No postmortem yet: it comes after resolution")
        return _("No postmortem published yet, %(duration)s after resolution") % {
            "duration": duration_text(self.now - self.resolved_at)
        }

    @property
    def action_items_label(self) -> str:
        if not self.action_items_total:
            return _("No action items yet")
        return ngettext(
            "%(done)s of %(total)s action item done",
            "%(done)s of %(total)s action items done",
            self.action_items_total,
        ) % {"done": self.action_items_done, "total": self.action_items_total}

    def as_dict(self) -> dict:
        """The API's representation: durations in seconds, with the labels."""
        return {
            "id": self.public_id,
            "name": self.name,
            "started_at": self.started_at,
            "resolved_at": self.resolved_at,
            "updates": self.updates,
            "first_update_seconds": _seconds(self.first_update_after),
            "updates_promised": self.updates_promised,
            "updates_on_time": self.updates_on_time,
            "longest_silence_seconds": _seconds(self.longest_silence),
            "resolution_seconds": _seconds(self.time_to_resolution),
            "postmortem_seconds": _seconds(self.postmortem_after),
            "action_items_total": self.action_items_total,
            "action_items_done": self.action_items_done,
            "recorded_later": self.recorded_later,
            "labels": {
                "first_update": self.first_update_label,
                "updates_on_time": self.on_time_label,
                "longest_silence": self.silence_label,
                "resolution": self.resolution_label,
                "postmortem": self.postmortem_label,
                "action_items": self.action_items_label,
            },
        }


def score(
    incident: Incident, steps: Sequence[Step], postmortem: PostmortemFacts, *, now: datetime
) -> IncidentScore:
    """The figures of one incident from its updates in reading order (no queries)."""
    started = incident.started_at
    zero = timedelta(0)
    first = max(steps[0].at - started, zero) if steps else None

    promised = on_time = 0
    for index, step in enumerate(steps):
        if step.next_update_due is None:
            continue
        following = steps[index + 1] if index + 1 < len(steps) else None
        if following is not None:
            promised += 1
            on_time += following.at <= step.next_update_due
        elif step.status in UNRESOLVED_INCIDENT and now > step.next_update_due:
            promised += 1  # overdue: the promise is already broken

    longest: timedelta | None = None
    active, since = True, started
    for step in steps:
        if active:
            gap = max(step.at - since, zero)
            longest = gap if longest is None else max(longest, gap)
        active, since = step.status in UNRESOLVED_INCIDENT, step.at
    if active:
        gap = max(now - since, zero)
        longest = gap if longest is None else max(longest, gap)

    resolved_at = incident.resolved_at if incident.status in RESOLVED else None
    resolution = max(resolved_at - started, zero) if resolved_at else None
    published = postmortem.published_at
    postmortem_after = max(published - resolved_at, zero) if published and resolved_at else None
    # Recorded after the fact ("Record a past incident", the Statuspage importer): no update
    # was entered before the resolution, so none was public while it happened.
    recorded_later = resolved_at is not None and all(s.posted_at >= resolved_at for s in steps)
    return IncidentScore(
        recorded_later=recorded_later,
        public_id=incident.public_id,
        name=incident.name,
        started_at=started,
        resolved_at=resolved_at,
        now=now,
        updates=len(steps),
        first_update_after=first,
        updates_promised=promised,
        updates_on_time=on_time,
        longest_silence=longest,
        time_to_resolution=resolution,
        postmortem_after=postmortem_after,
        action_items_total=postmortem.action_items_total,
        action_items_done=postmortem.action_items_done,
    )


_STEP_FIELDS = ("display_at", "status", "next_update_due", "created_at")
_DONE = ActionItem.Status.DONE


def incident_score(incident: Incident, *, now: datetime | None = None) -> IncidentScore:
    """One incident's figures: two queries (its updates; its postmortem with the counts)."""
    now = now or timezone.now()
    steps = [
        Step(at, status, due, posted)
        for at, status, due, posted in incident.updates.order_by("display_at", "id").values_list(
            *_STEP_FIELDS
        )
    ]
    row = (
        Postmortem.objects.filter(incident=incident)
        .annotate(
            total=Count("action_items"),
            done=Count("action_items", filter=Q(action_items__status=_DONE)),
        )
        .values("published_at", "total", "done")
        .first()
    )
    facts = PostmortemFacts()
    if row:
        facts = PostmortemFacts(row["published_at"], row["total"], row["done"])
    return score(incident, steps, facts, now=now)


# --- an organization over a window -----------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """The figures of a group of incidents (a week, or the whole window)."""

    start: datetime
    end: datetime
    label: str
    incidents: int = 0
    median_first_update: timedelta | None = None
    updates_promised: int = 0
    updates_on_time: int = 0
    median_resolution: timedelta | None = None
    longest_silence: timedelta | None = None
    postmortems_due: int = 0
    postmortems_on_time: int = 0
    action_items_total: int = 0
    action_items_done: int = 0

    @property
    def on_time_percent(self) -> int | None:
        if not self.updates_promised:
            return None
        return round(100 * self.updates_on_time / self.updates_promised)

    @property
    def first_update_minutes(self) -> float | None:
        if self.median_first_update is None:
            return None
        return round(self.median_first_update.total_seconds() / 60, 1)

    @property
    def incidents_label(self) -> str:
        return ngettext("%(count)s incident", "%(count)s incidents", self.incidents) % {
            "count": self.incidents
        }

    @property
    def first_update_label(self) -> str:
        if self.median_first_update is None:
            return _("No incidents")
        return _("Median first public update after %(duration)s") % {
            "duration": duration_text(self.median_first_update)
        }

    @property
    def on_time_label(self) -> str:
        if not self.updates_promised:
            return _("No promised update times came due")
        return ngettext(
            "%(on_time)s of %(promised)s update on time (%(percent)s%%)",
            "%(on_time)s of %(promised)s updates on time (%(percent)s%%)",
            self.updates_promised,
        ) % {
            "on_time": self.updates_on_time,
            "promised": self.updates_promised,
            "percent": self.on_time_percent,
        }

    @property
    def resolution_label(self) -> str:
        if self.median_resolution is None:
            return _("No incidents resolved")
        return _("Median time to resolution %(duration)s") % {
            "duration": duration_text(self.median_resolution)
        }

    @property
    def silence_label(self) -> str:
        if self.longest_silence is None:
            return _("No incidents")
        return _("Longest silence while active %(duration)s") % {
            "duration": duration_text(self.longest_silence)
        }

    @property
    def postmortem_label(self) -> str:
        if not self.postmortems_due:
            return _("No postmortem due yet (one is due %(days)s days after resolution)") % {
                "days": POSTMORTEM_TARGET_DAYS
            }
        return ngettext(
            "%(on_time)s of %(due)s postmortem published within %(days)s days",
            "%(on_time)s of %(due)s postmortems published within %(days)s days",
            self.postmortems_due,
        ) % {
            "on_time": self.postmortems_on_time,
            "due": self.postmortems_due,
            "days": POSTMORTEM_TARGET_DAYS,
        }

    @property
    def action_items_label(self) -> str:
        if not self.action_items_total:
            return _("No action items")
        return ngettext(
            "%(done)s of %(total)s action item done",
            "%(done)s of %(total)s action items done",
            self.action_items_total,
        ) % {"done": self.action_items_done, "total": self.action_items_total}

    def as_dict(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "incidents": self.incidents,
            "median_first_update_seconds": _seconds(self.median_first_update),
            "updates_promised": self.updates_promised,
            "updates_on_time": self.updates_on_time,
            "updates_on_time_percent": self.on_time_percent,
            "median_resolution_seconds": _seconds(self.median_resolution),
            "longest_silence_seconds": _seconds(self.longest_silence),
            "postmortems_due": self.postmortems_due,
            "postmortems_on_time": self.postmortems_on_time,
            "action_items_total": self.action_items_total,
            "action_items_done": self.action_items_done,
        }


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def aggregate(
    scores: Iterable[IncidentScore], *, start: datetime, end: datetime, label: str
) -> Figures:
    scores = list(scores)
    firsts = [s.first_update_after for s in scores if s.first_update_after is not None]
    resolutions = [s.time_to_resolution for s in scores if s.time_to_resolution is not None]
    silences = [s.longest_silence for s in scores if s.longest_silence is not None]
    return Figures(
        start=start,
        end=end,
        label=label,
        incidents=len(scores),
        median_first_update=_median(firsts),
        updates_promised=sum(s.updates_promised for s in scores),
        updates_on_time=sum(s.updates_on_time for s in scores),
        median_resolution=_median(resolutions),
        longest_silence=max(silences) if silences else None,
        postmortems_due=sum(s.postmortem_due for s in scores),
        postmortems_on_time=sum(s.postmortem_due and s.postmortem_on_time for s in scores),
        action_items_total=sum(s.action_items_total for s in scores),
        action_items_done=sum(s.action_items_done for s in scores),
    )


def _day(moment: datetime) -> str:
    return f"{moment:%b} {moment.day}"


def week_starts(start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    """The start of each period from `start` to `end`: `start` itself, then every Monday
    00:00 in the organization's timezone after it (so weeks read as the team's weeks)."""
    local_start = start.astimezone(tz)
    monday: date = local_start.date() - timedelta(days=local_start.weekday()) + timedelta(days=7)
    starts = [start]
    while True:
        boundary = datetime.combine(monday, time.min, tzinfo=tz)
        if boundary >= end:
            return starts
        starts.append(boundary)
        monday += timedelta(days=7)


@dataclass(frozen=True)
class Scorecard:
    """An organization's scorecard over `days` days up to `end`."""

    days: int
    start: datetime
    end: datetime
    overall: Figures
    periods: list[Figures]
    incidents: list[IncidentScore] = field(default_factory=list)
    # Incidents in the window left out: recorded after the fact (see IncidentScore).
    recorded_later: int = 0

    def as_dict(self) -> dict:
        return {
            "days": self.days,
            "start": self.start,
            "end": self.end,
            "postmortem_target_days": POSTMORTEM_TARGET_DAYS,
            "overall": self.overall.as_dict(),
            "periods": [period.as_dict() for period in self.periods],
            "incidents": [incident.as_dict() for incident in self.incidents],
            "recorded_later": self.recorded_later,
        }


def organization_scorecard(
    organization: Organization, *, days: int = DEFAULT_DAYS, now: datetime | None = None
) -> Scorecard:
    """The incidents that started in the last `days` days, scored, overall and per week:
    two queries (the incidents with their postmortem facts; all their updates)."""
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ValueError(f"days must be between {MIN_DAYS} and {MAX_DAYS}")
    end = now or timezone.now()
    start = end - timedelta(days=days)
    in_window = {"started_at__gte": start, "started_at__lte": end}
    incidents = list(
        Incident.objects.for_org(organization)
        .incidents()
        .filter(**in_window)
        .annotate(
            scorecard_published_at=F("postmortem__published_at"),
            scorecard_items=Count("postmortem__action_items"),
            scorecard_done=Count(
                "postmortem__action_items", filter=Q(postmortem__action_items__status=_DONE)
            ),
        )
        .order_by("started_at", "id")
    )
    steps: dict[int, list[Step]] = defaultdict(list)
    rows = (
        IncidentUpdate.objects.for_org(organization)
        .filter(incident__kind=Kind.INCIDENT)
        .filter(**{f"incident__{name}": value for name, value in in_window.items()})
        .order_by("incident_id", "display_at", "id")
        .values_list("incident_id", *_STEP_FIELDS)
    )
    for incident_id, at, status, due, posted in rows:
        steps[incident_id].append(Step(at, status, due, posted))
    scored = [
        score(
            incident,
            steps[incident.pk],
            PostmortemFacts(
                incident.scorecard_published_at,  # annotated above
                incident.scorecard_items,
                incident.scorecard_done,
            ),
            now=end,
        )
        for incident in incidents
    ]
    scores = [item for item in scored if not item.recorded_later]
    tz = organization.tzinfo
    starts = week_starts(start, end, tz)
    bounds = list(zip(starts, [*starts[1:], end], strict=True))
    grouped: dict[int, list[IncidentScore]] = defaultdict(list)
    for item in scores:
        grouped[bisect.bisect_right(starts, item.started_at) - 1].append(item)
    periods = [
        aggregate(grouped[i], start=lo, end=hi, label=_day(lo.astimezone(tz)))
        for i, (lo, hi) in enumerate(bounds)
    ]
    overall = aggregate(
        scores,
        start=start,
        end=end,
        label=ngettext("Last %(days)s day", "Last %(days)s days", days) % {"days": days},
    )
    return Scorecard(
        days=days,
        start=start,
        end=end,
        overall=overall,
        periods=periods,
        incidents=scores,
        recorded_later=len(scored) - len(scores),
    )
