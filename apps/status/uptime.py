"""Read side of uptime for the public page: 90-day bars and uptime percentages.

The rows are kept current by apps.status.services (UptimeDay, one per component and local day);
this module only reads them: one query for the bars of every component. The incidents shown in
the bars' per-day tooltips are the caller's to pass in (apps.public.bars reads them), since
status sits below incidents.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from apps.organizations.models import Organization
from apps.status.models import SECONDS_FIELD, Component, UptimeDay, uptime_fraction

BAR_DAYS = 90


@dataclass(slots=True)
class DayRow:
    """The columns of an UptimeDay row the bars need: plain objects, not model instances,
    since a page reads thousands (50 components x 90 days) and builds nothing else."""

    component_id: int
    date: date
    worst_status: str
    operational_seconds: int
    degraded_seconds: int
    partial_seconds: int
    major_seconds: int
    maintenance_seconds: int


ROW_FIELDS = ("component_id", "date", "worst_status", *(f.name for f in fields(DayRow)[3:]))


@dataclass
class DayCell:
    date: date
    # Worst status of the day, None when there is no data (before the component existed, or a
    # day the rollup never recorded).
    status: str | None
    fraction: float | None
    incidents: list[str] = field(default_factory=list)
    percent: str | None = field(init=False)

    def __post_init__(self) -> None:
        self.percent = format_percent(self.fraction)

    @property
    def has_issue(self) -> bool:
        return bool(self.incidents) or (self.status not in (None, "operational"))


@dataclass
class ComponentUptime:
    component: Component
    days: list[DayCell]
    # Over the component's days in the window only: days before it existed are "no data".
    fraction: float | None
    # Its first day when that falls inside the window (the percentage covers only the days
    # since, and the page says so), None when it covers the whole window.
    since: date | None = None

    @property
    def percent(self) -> str | None:
        return format_percent(self.fraction)

    @property
    def issue_days(self) -> list[DayCell]:
        """Days worth listing for readers who cannot hover (phones, keyboards): newest first."""
        return [day for day in reversed(self.days) if day.has_issue]


def format_percent(fraction: float | None) -> str | None:
    if fraction is None:
        return None
    # Round down: 99.996 % must not read as 100 % on a day that had an outage.
    hundredths = int(fraction * 10000)
    return f"{hundredths / 100:.2f}"


def window(today: date, days: int = BAR_DAYS) -> list[date]:
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def first_day(component: Component, organization: Organization) -> date:
    """The first day the component has data for: its start date, else its creation day."""
    created = timezone.localdate(component.created_at, timezone=organization.tzinfo)
    return min(component.start_date, created) if component.start_date else created


def uptime_bars(
    organization: Organization,
    components: Sequence[Component],
    *,
    today: date | None = None,
    now: datetime | None = None,
    days: int = BAR_DAYS,
    incidents: Mapping[tuple[int, date], list[str]] | None = None,
) -> dict[int, ComponentUptime]:
    """Bar data for `components` over the last `days` local days, keyed by component pk.

    One query for every component's UptimeDay rows. `incidents` gives the names of the
    incidents touching each (component pk, local day), shown with that day; none by default.
    Today's row only counts time up to the component's last accounted instant, so the time
    since then (in its current status) is added here, without writing anything.
    """
    tz = organization.tzinfo
    now = now or timezone.now()
    today = today or now.astimezone(tz).date()
    dates = window(today, days)
    by_pk = {component.pk: component for component in components}
    rows: dict[tuple[int, date], DayRow] = {}
    if by_pk:
        queryset = (
            UptimeDay.objects.for_org(organization)
            .filter(component_id__in=by_pk, date__gte=dates[0], date__lte=today)
            .values_list(*ROW_FIELDS)
        )
        for values in queryset:
            row = DayRow(*values)
            rows[(row.component_id, row.date)] = row
    incidents = incidents or {}

    result: dict[int, ComponentUptime] = {}
    for component in components:
        begins = first_day(component, organization)
        cells: list[DayCell] = []
        counted: list[DayRow] = []
        for day in dates:
            row = rows.get((component.pk, day))
            if day == today:
                row = _with_time_since_accounted(component, row, today, now, tz)
            if day < begins:
                # Before the component existed: no data, whatever row an import may have left,
                # and not counted (a day-old component must not report "90 days" of uptime).
                cells.append(DayCell(day, None, None))
                continue
            names = incidents.get((component.pk, day), [])
            if row is None:
                # A day the rollup never recorded.
                cells.append(DayCell(day, None, None, names))
                continue
            counted.append(row)
            cells.append(DayCell(day, row.worst_status, uptime_fraction([row]), names))
        since = begins if begins > dates[0] else None
        result[component.pk] = ComponentUptime(component, cells, uptime_fraction(counted), since)
    return result


def overall_fraction(bars: Iterable[ComponentUptime]) -> float | None:
    """Mean of the showcased components' uptimes (each over its own days in the window)."""
    fractions = [bar.fraction for bar in bars if bar.fraction is not None]
    if not fractions:
        return None
    return sum(fractions) / len(fractions)


def overall_since(bars: Iterable[ComponentUptime]) -> date | None:
    """The first day `overall_fraction` covers when it is inside the window (every measured
    component is younger than the window), else None: "over the past 90 days"."""
    measured = [bar for bar in bars if bar.fraction is not None]
    if not measured or any(bar.since is None for bar in measured):
        return None
    return min(bar.since for bar in measured if bar.since is not None)


def _with_time_since_accounted(
    component: Component, row: DayRow | None, today: date, now: datetime, tz: ZoneInfo
) -> DayRow | None:
    since = component.uptime_accounted_until
    if since is None or since >= now:
        return row
    midnight = datetime(today.year, today.month, today.day, tzinfo=tz)
    extra = int((now - max(since, midnight)).total_seconds())
    if extra <= 0:
        return row
    if row is None:
        row = DayRow(component.pk, today, component.status, 0, 0, 0, 0, 0)
    column = SECONDS_FIELD[component.status]
    return replace(row, **{column: getattr(row, column) + extra})
