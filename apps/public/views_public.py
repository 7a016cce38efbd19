"""The public status page as readers see it: page, history by month, incident timeline.

Every view answers through apps.public.caching.public_response (rendered once per content
change, ETag/304, last good copy on database failure); the data comes from the same loaders as
the status API v2, so the page and the JSON never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy
from django.views.decorators.http import require_safe

from apps.core.text import staff_text_html
from apps.forum.counts import NONE, discussion_counts
from apps.forum.discussion import FormState, discussion, parse_show, signed_in_user
from apps.incidents.models import (
    ACTIVE_MAINTENANCE,
    ActionItem,
    Impact,
    Incident,
    IncidentStatus,
    Kind,
    MaintenanceStatus,
    Postmortem,
)
from apps.incidents.postmortem_facts import duration_words
from apps.organizations.models import Organization
from apps.status.models import Component, ComponentGroup
from apps.status.uptime import (
    ComponentUptime,
    DayCell,
    format_percent,
    overall_fraction,
    overall_since,
)

from . import api_v2
from .bars import uptime_bars
from .caching import STALE_MARKER, live_response, public_response
from .dates import local_format, time_html

HTML = "text/html; charset=utf-8"
RECENT_DAYS = 14
HISTORY_MONTHS_PER_PAGE = 3
# Upper bound on what one page of the page/history lists loads, whatever the history size.
RECENT_LIMIT = 200
HISTORY_LIMIT = 500

# Impact of an incident -> CSS tone and word, for the cards and history.
IMPACT_TONE = {
    Impact.NONE: "none",
    Impact.MINOR: "minor",
    Impact.MAJOR: "major",
    Impact.CRITICAL: "critical",
    Impact.MAINTENANCE: "maintenance",
}
IMPACT_LABEL = {
    Impact.NONE: gettext_lazy("No impact"),
    Impact.MINOR: gettext_lazy("Minor impact"),
    Impact.MAJOR: gettext_lazy("Major impact"),
    Impact.CRITICAL: gettext_lazy("Critical impact"),
    Impact.MAINTENANCE: pgettext_lazy("impact", "Maintenance"),
}
# The overall status as the page's banner says it. The status API's `description` keeps these
# English words (machines read them; apps/public/api_v2.py); the page says them in the reader's
# language.
PAGE_DESCRIPTION = {
    "All Systems Operational": pgettext_lazy("page status", "All Systems Operational"),
    "Service Under Maintenance": pgettext_lazy("page status", "Service Under Maintenance"),
    "Partially Degraded Service": pgettext_lazy("page status", "Partially Degraded Service"),
    "Degraded System Service": pgettext_lazy("page status", "Degraded System Service"),
    "Minor Service Outage": pgettext_lazy("page status", "Minor Service Outage"),
    "Partial System Outage": pgettext_lazy("page status", "Partial System Outage"),
    "Major System Outage": pgettext_lazy("page status", "Major System Outage"),
}
# Plain symbols found in common text fonts (an emoji may render as an empty box); the text
# presentation selector keeps the gear from turning into an emoji.
INDICATOR_ICON = {
    "none": "✓",
    "minor": "▲",
    "major": "◐",
    "critical": "✕",
    "maintenance": "⚙\ufe0e",
}


# --- helpers ---------------------------------------------------------------------------------


def day_label(day: DayCell) -> str:
    """A bar's day in words: "Dec 7, 2026: 99.95 % uptime. 1 incident: API errors". The same
    messages as static/js/uptime.js uses for the days it writes itself."""
    date = local_format(day.date, "date")
    if day.percent:
        text = _("%(date)s: %(percent)s %% uptime") % {"date": date, "percent": day.percent}
    else:
        text = _("%(date)s: no data") % {"date": date}
    if day.incidents:
        count = len(day.incidents)
        # Translators: after a day's uptime; %(names)s: the incidents' names, separated by "; ".
        text += ngettext(
            ". %(count)s incident: %(names)s", ". %(count)s incidents: %(names)s", count
        ) % {"count": count, "names": "; ".join(day.incidents)}
    return text


# A bar's day as markup: one <li> with its end tag left out (HTML allows it; the next <li> or
# the </ol> closes it), its colour from a one-letter class (static/css/app.css, `.sp-bars li`).
# An operational day, by far the most common, has no class at all. 50 components x 90 days
# made the page 560 KB when each day carried its own tooltip text; that text is now put
# together by static/js/uptime.js (see bars_html).
DAY_CODE = {
    "operational": "",
    "degraded_performance": "d",
    "partial_outage": "p",
    "major_outage": "m",
    "under_maintenance": "u",
}
NO_DATA = "n"
CELL = {code: f'<li class="{code}">' if code else "<li>" for code in [*DAY_CODE.values(), NO_DATA]}


def day_code(day: DayCell) -> str:
    return DAY_CODE.get(day.status or "", NO_DATA)


def _cell(day: DayCell) -> str:
    """One day of a bar. Its tooltip text is written out only when static/js/uptime.js cannot
    tell it: a day with issues has it in the bar's <details> list (`data-day`), a day without
    data says "no data", an operational day "100.00 % uptime"; anything else (an operational
    day with nothing measured, say) carries its text in `data-t`."""
    code = day_code(day)
    if day.status is None or (code == "" and day.percent == "100.00") or day.has_issue:
        return CELL[code]
    return format_html('<li class="{}" data-t="{}">', code, day_label(day))


def bar_summary(bar: ComponentUptime, name: str, issues: int) -> str:
    """What a screen reader hears for a whole bar (once, rather than 90 cells one by one); the
    days with issues follow in the bar's <details> list."""
    if bar.percent:
        if bar.since:
            text = _("%(percent)s %% uptime since %(date)s, when it was added") % {
                "percent": bar.percent,
                "date": local_format(bar.since, "month_day"),
            }
        else:
            text = ngettext(
                "%(percent)s %% uptime over the past %(count)s day",
                "%(percent)s %% uptime over the past %(count)s days",
                len(bar.days),
            ) % {"percent": bar.percent, "count": len(bar.days)}
    else:
        text = _("no uptime data yet")
    if issues:
        days = ngettext("%(count)s day with issues", "%(count)s days with issues", issues) % {
            "count": issues
        }
    else:
        days = _("no days with issues")
    # Translators: a screen reader's summary of a component's uptime bar; %(name)s: the
    # component, %(uptime)s e.g. "99.95 % uptime over the past 90 days", %(days)s e.g. "2 days
    # with issues".
    return _("Uptime of %(name)s: %(uptime)s, %(days)s") % {
        "name": name,
        "uptime": text,
        "days": days,
    }


def bars_html(bar: ComponentUptime, name: str, issues: int | None = None) -> SafeString:
    """One uptime bar: an image for screen readers (bar_summary), 90 cells for the eye. Built
    here rather than in the template: 90 cells for each of 50 components through the template
    engine took seconds per rendering.

    The per-day tooltip (date, uptime, incidents; on hover, tap or arrow keys) is built by
    static/js/uptime.js from the cell's index and `data-start`, the first day shown. Readers
    without JavaScript get the days with issues in the <details> list below the bar, which is
    also where the script reads those days' text, so it is written once. `issues`: how many
    days have issues, when the caller has counted them already."""
    cells = "".join(_cell(day) for day in bar.days)
    return format_html(
        '<div class="sp-bars" role="img" aria-label="{}" data-start="{}"><ol>{}</ol></div>',
        bar_summary(bar, name, len(bar.issue_days) if issues is None else issues),
        bar.days[0].date.isoformat() if bar.days else "",
        mark_safe(cells),  # noqa: S308 - constants and format_html output only
    )


def _channel(hex_colour: str) -> float:
    value = int(hex_colour, 16) / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    code = hex_colour.lstrip("#")
    red, green, blue = (_channel(code[i : i + 2]) for i in (0, 2, 4))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _mix(hex_colour: str, target: str, amount: float) -> str:
    a, b = hex_colour.lstrip("#"), target.lstrip("#")
    parts = [
        round(int(a[i : i + 2], 16) * (1 - amount) + int(b[i : i + 2], 16) * amount)
        for i in (0, 2, 4)
    ]
    return "#" + "".join(f"{part:02x}" for part in parts)


def readable_on(hex_colour: str, background: str, minimum: float = 4.5) -> str:
    """`hex_colour`, darkened or lightened toward black/white until it reaches WCAG AA
    contrast on `background` (a brand colour chosen for a logo is often too light for text)."""
    target = "#000000" if luminance(background) > 0.5 else "#ffffff"
    colour = hex_colour
    step = 0.0
    while contrast(colour, background) < minimum and step < 1:
        step += 0.05
        colour = _mix(hex_colour, target, step)
    return colour


def accent_palette(accent: str) -> dict[str, str]:
    """CSS colours derived from the organization's accent: the fill, the text on the fill
    (black or white, whichever reads better), and link colours readable on light/dark."""
    try:
        luminance(accent)
    except ValueError:
        accent = "#2563eb"
    ink = "#ffffff" if contrast(accent, "#ffffff") >= contrast(accent, "#000000") else "#000000"
    return {
        "accent": accent,
        "accent_ink": ink,
        "accent_text": readable_on(accent, "#ffffff"),
        # Above the AA minimum: thin link text on a dark page reads dim at exactly 4.5.
        "accent_text_dark": readable_on(accent, "#171a21", minimum=6.0),
    }


def local_day_start(day: date, organization: Organization) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=organization.tzinfo)


def month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + (day.month - 1) - back
    return date(index // 12, index % 12 + 1, 1)


def when(incident: Incident) -> datetime:
    """When an item happened for readers: a maintenance's window start, an incident's start."""
    if incident.kind == Kind.MAINTENANCE and incident.scheduled_for:
        return incident.scheduled_for
    return incident.started_at


def in_window(start: datetime, end: datetime) -> Q:
    return Q(kind=Kind.INCIDENT, started_at__gte=start, started_at__lt=end) | Q(
        kind=Kind.MAINTENANCE, scheduled_for__gte=start, scheduled_for__lt=end
    )


def decorate(incident: Incident, tz: ZoneInfo) -> Incident:
    """Attach what templates show: tone, latest update, safe bodies, rendered times."""
    incident.tone = IMPACT_TONE.get(incident.impact, "none")
    incident.impact_label = IMPACT_LABEL.get(incident.impact, "")
    incident.latest_update = incident.public_updates[0] if incident.public_updates else None
    for name in ("started_at", "resolved_at", "scheduled_for", "scheduled_until"):
        setattr(incident, f"{name}_html", time_html(getattr(incident, name), tz))
    for update in incident.public_updates:
        update.body_html = staff_text_html(update.body)
        update.display_at_html = time_html(update.display_at, tz)
    return incident


def with_discussion(organization: Organization, items: list[Incident]) -> None:
    """Attach each item's comment and affected counts (`item.discussion`), one query for the
    whole list."""
    counts = discussion_counts(organization, (item.pk for item in items))
    for item in items:
        item.discussion = counts.get(item.pk, NONE)


def duration_text(start: datetime | None, end: datetime | None) -> str | None:
    """How long an incident lasted, for readers: whole minutes rounded *up*, so a real outage
    never reads "0 minutes" and is never understated (07:31:10 to 07:32:05 is "1 minute", as
    the two times shown beside it suggest). Only an empty span says "less than a minute"."""
    if start is None or end is None or end < start:
        return None
    return duration_words((end - start).total_seconds())


@dataclass
class Banner:
    tone: str
    icon: str
    heading: str
    # The heading holds an incident's name (written by staff): shown with dir="auto".
    user_text: bool = False


def banner(status: dict[str, str], active_incidents: list[Incident]) -> Banner:
    """The overall banner: the status API's indicator and description (the page and the JSON
    never disagree), except that an active incident is never "All Systems Operational" in
    green. An incident declared with no impact leaves the indicator `none`, as Statuspage's
    does (its page then shows the incident instead of the green bar): here the banner names the
    incident in a neutral tone."""
    indicator = status["indicator"]
    if indicator != "none" or not active_incidents:
        description = status["description"]
        return Banner(
            indicator,
            INDICATOR_ICON[indicator],
            str(PAGE_DESCRIPTION.get(description, description)),
        )
    if len(active_incidents) == 1:
        heading = _("Active incident: %(name)s") % {"name": active_incidents[0].name}
        return Banner("incident", "!", heading, user_text=True)
    count = len(active_incidents)
    heading = ngettext("%(count)s active incident", "%(count)s active incidents", count) % {
        "count": count
    }
    return Banner("incident", "!", heading)


@dataclass
class Visible:
    """A top-level row of the page: a component, or a group with its visible children."""

    item: ComponentGroup | Component
    children: list[Component]

    @property
    def is_group(self) -> bool:
        return isinstance(self.item, ComponentGroup)

    @property
    def status(self) -> str:
        return self.item.rollup_status if self.is_group else self.item.status

    @property
    def open(self) -> bool:
        return any(child.status != "operational" for child in self.children)


def visible_rows(tree: api_v2.ComponentTree) -> list[Visible]:
    """What the page lists: `only_show_if_degraded` components only while not operational,
    groups only when something in them is shown."""

    def shown(component: Component) -> bool:
        return not component.only_show_if_degraded or component.status != "operational"

    rows = []
    for item in tree.top_level:
        if isinstance(item, ComponentGroup):
            children = [child for child in item.children if shown(child)]
            if children:
                rows.append(Visible(item, children))
        elif shown(item):
            rows.append(Visible(item, []))
    return rows


def base_context(request: HttpRequest, organization: Organization) -> dict[str, Any]:
    return {
        "organization": organization,
        "palette": accent_palette(organization.accent_color),
        "stale_marker": mark_safe(STALE_MARKER),  # noqa: S308 - a constant HTML comment
        "page_tz": organization.timezone,
    }


def cached_html(
    request: HttpRequest, name: str, build: Callable[[], tuple[str, dict[str, Any]]], **kwargs
) -> HttpResponse:
    def render() -> tuple[str, str]:
        template, context = build()
        return render_to_string(template, context, request=request), HTML

    return public_response(request, name, render, **kwargs)


# --- views -----------------------------------------------------------------------------------


@require_safe
def page(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    now = timezone.now()
    today = now.astimezone(organization.tzinfo).date()

    def build() -> tuple[str, dict[str, Any]]:
        tree = api_v2.load_components(organization)
        open_items = [
            decorate(item, organization.tzinfo)
            for item in api_v2.load_incidents(
                organization, api_v2.open_items_queryset(organization), tree
            )
        ]
        maintenances = api_v2.by_schedule(m for m in open_items if m.kind == Kind.MAINTENANCE)
        rows = visible_rows(tree)
        showcased = [
            component
            for row in rows
            for component in ([row.item] if not row.is_group else row.children)
            if component.showcase
        ]
        bars = uptime_bars(organization, showcased, today=today, now=now)
        for component in showcased:
            component.uptime = bars[component.pk]
            component.uptime_issues = component.uptime.issue_days
            component.uptime_bar = bars_html(
                component.uptime, component.name, len(component.uptime_issues)
            )
            start = component.uptime.days[0].date if component.uptime.days else today
            for day in component.uptime_issues:
                day.label = day_label(day)
                day.code = day_code(day)
                # The cell's index in the bar: static/js/uptime.js shows this text on it.
                day.index = (day.date - start).days
        recent = recent_days(organization, tree, today)
        with_discussion(organization, open_items + [i for _day, items in recent for i in items])
        context = base_context(request, organization)
        status = api_v2.page_status(tree, open_items)
        active_incidents = [i for i in open_items if i.kind == Kind.INCIDENT]
        context.update(
            status=status,
            banner=banner(status, active_incidents),
            rows=rows,
            active_incidents=active_incidents,
            active_maintenances=[m for m in maintenances if m.status in ACTIVE_MAINTENANCE],
            upcoming_maintenances=[
                m for m in maintenances if m.status == MaintenanceStatus.SCHEDULED
            ],
            overall_uptime=format_percent(overall_fraction(bars.values())),
            overall_since=overall_since(bars.values()),
            has_bars=bool(showcased),
            recent_days=recent,
            bar_start=today - timedelta(days=89),
        )
        return "status/public/page.html", context

    return cached_html(request, "page", build, vary_on=today.isoformat())


def recent_days(
    organization: Organization, tree: api_v2.ComponentTree, today: date
) -> list[tuple[date, list[Incident]]]:
    """Incidents and finished maintenances of the last RECENT_DAYS days, day by day (newest
    first), each under the local day it started."""
    start = local_day_start(today - timedelta(days=RECENT_DAYS - 1), organization)
    end = local_day_start(today + timedelta(days=1), organization)
    queryset = (
        api_v2.incidents_queryset(organization)
        .filter(in_window(start, end))
        .exclude(kind=Kind.MAINTENANCE, status=MaintenanceStatus.SCHEDULED)[:RECENT_LIMIT]
    )
    by_day: dict[date, list[Incident]] = {}
    items = api_v2.load_incidents(organization, queryset, tree)
    for incident in sorted(items, key=when, reverse=True):
        day = timezone.localdate(when(incident), timezone=organization.tzinfo)
        by_day.setdefault(day, []).append(decorate(incident, organization.tzinfo))
    return [
        (today - timedelta(days=offset), by_day.get(today - timedelta(days=offset), []))
        for offset in range(RECENT_DAYS)
    ]


def _page_number(request: HttpRequest) -> int:
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        raise Http404(_("No such page of history.")) from None
    if number < 1:
        raise Http404(_("No such page of history."))
    return number


@require_safe
def history(request: HttpRequest) -> HttpResponse:
    """Incident history by month, HISTORY_MONTHS_PER_PAGE months a page, newest first."""
    organization = request.organization
    today = timezone.localdate(timezone=organization.tzinfo)
    number = _page_number(request)

    def build() -> tuple[str, dict[str, Any]]:
        tz = organization.tzinfo
        back = (number - 1) * HISTORY_MONTHS_PER_PAGE
        months = [month_start(today, back + k) for k in range(HISTORY_MONTHS_PER_PAGE)]
        oldest, newest = months[-1], months[0]
        window_start = local_day_start(oldest, organization)
        window_end = local_day_start(month_start(newest, -1), organization)
        earliest = (
            Incident.objects.for_org(organization)
            .exclude(kind=Kind.MAINTENANCE, status=MaintenanceStatus.SCHEDULED)
            .aggregate(first=Min("started_at"))["first"]
        )
        first_month = month_start(timezone.localdate(earliest, timezone=tz)) if earliest else None
        if number > 1 and (first_month is None or first_month > newest):
            raise Http404(_("No such page of history."))
        tree = api_v2.load_components(organization)
        queryset = (
            api_v2.incidents_queryset(organization)
            .filter(in_window(window_start, window_end))
            .exclude(kind=Kind.MAINTENANCE, status=MaintenanceStatus.SCHEDULED)[:HISTORY_LIMIT]
        )
        by_month: dict[date, list[Incident]] = {month: [] for month in months}
        items = api_v2.load_incidents(organization, queryset, tree)
        for incident in sorted(items, key=when, reverse=True):
            started = timezone.localdate(when(incident), timezone=tz)
            incident.duration = duration_text(incident.started_at, incident.resolved_at)
            by_month[month_start(started)].append(decorate(incident, organization.tzinfo))
        with_discussion(organization, items)
        context = base_context(request, organization)
        context.update(
            months=list(by_month.items()),
            page_number=number,
            newer_page=number - 1 if number > 1 else None,
            older_page=number + 1 if first_month and first_month < oldest else None,
            range_start=oldest,
            range_end=newest,
        )
        return "status/public/history.html", context

    return cached_html(request, f"history:{number}", build, vary_on=today.isoformat())


ACTION_ITEM_ICON = {
    ActionItem.Status.PLANNED: "○",
    ActionItem.Status.IN_PROGRESS: "◐",
    ActionItem.Status.DONE: "✓",
}


def published_postmortem(organization: Organization, incident: Incident) -> Postmortem | None:
    """The incident's published postmortem with its action items (two queries), or None.

    Only an incident in status `postmortem` has one (publishing sets the status, unpublishing
    and reopening clear it), so other incidents cost no query. SECURITY: a draft is never
    returned, whatever the incident's status.
    """
    if incident.kind != Kind.INCIDENT or incident.status != IncidentStatus.POSTMORTEM:
        return None
    postmortem = (
        Postmortem.objects.for_org(organization)
        .filter(incident_id=incident.pk, published_at__isnull=False)
        .prefetch_related("action_items")
        .first()
    )
    if postmortem is None:
        return None
    tz = organization.tzinfo
    postmortem.published_at_html = time_html(postmortem.published_at, tz)
    # An edit made well after publishing is worth saying (a minute covers the publish itself).
    edited = (postmortem.updated_at - postmortem.published_at).total_seconds() > 60
    postmortem.updated_at_html = time_html(postmortem.updated_at, tz) if edited else None
    postmortem.items = list(postmortem.action_items.all())
    for item in postmortem.items:
        item.icon = ACTION_ITEM_ICON.get(item.status, "")
    return postmortem


def discussion_params(request: HttpRequest) -> tuple[str, int]:
    """The discussion's filter (`?show=`; anything unknown is "Everything") and page."""
    show = parse_show(request.GET.get("show"))
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        raise Http404(_("No such page of this discussion.")) from None
    if number < 1:
        raise Http404(_("No such page of this discussion."))
    return show, number


def incident_context(
    request: HttpRequest,
    public_id: str,
    *,
    show: str = "all",
    number: int = 1,
    viewer: Any = None,
    form: FormState | None = None,
) -> dict[str, Any]:
    """Everything the incident page shows; viewer-specific parts only when `viewer` is given
    (never for the shared cache)."""
    organization = request.organization
    tree = api_v2.load_components(organization)
    queryset = api_v2.incidents_queryset(organization).filter(public_id=public_id)
    found = api_v2.load_incidents(organization, queryset, tree)
    if not found:
        raise Http404(_("There is no such incident on this status page."))
    item = decorate(found[0], organization.tzinfo)
    item.organization = organization  # the forum reads it: no second query
    closed = item.status in (
        IncidentStatus.RESOLVED,
        IncidentStatus.POSTMORTEM,
        MaintenanceStatus.COMPLETED,
    )
    forum = discussion(item, show=show, page=number, viewer=viewer, request=request, form=form)
    if number > 1 and not forum.entries and not forum.pinned:
        raise Http404(_("No such page of this discussion."))
    for entry in forum.entries:
        for comment in entry.node.all_comments() if entry.node else ():
            comment.created_at_html = time_html(comment.created_at, organization.tzinfo)
    for node in forum.pinned:
        for comment in node.all_comments():
            comment.created_at_html = time_html(comment.created_at, organization.tzinfo)
    context = base_context(request, organization)
    context.update(
        incident=item,
        is_open=item.is_open,
        # A closed incident's discussion refreshes itself (thread version) while it is open.
        discussion_live=not item.is_open and not forum.locked,
        duration=duration_text(item.started_at, item.resolved_at) if closed else None,
        affected=[(c, c.display_name) for c in item.public_components],
        page_title=escape(item.name),
        postmortem=published_postmortem(organization, item),
        discussion=forum,
    )
    return context


INCIDENT_TEMPLATE = "status/public/incident.html"
# A signed-in reader's rendering holds their name, controls and CSRF token: never stored by a
# shared cache, a browser cache or a CDN.
PRIVATE_CACHE_CONTROL = "private, no-store"


def render_incident(
    request: HttpRequest,
    public_id: str,
    *,
    viewer: Any,
    form: FormState | None = None,
    status: int = 200,
    template: str = INCIDENT_TEMPLATE,
) -> HttpResponse:
    """The incident page (or its discussion fragment) rendered for one signed-in reader."""
    show, number = discussion_params(request)
    context = incident_context(
        request, public_id, show=show, number=number, viewer=viewer, form=form
    )
    response = HttpResponse(
        render_to_string(template, context, request=request), content_type=HTML, status=status
    )
    response["Cache-Control"] = PRIVATE_CACHE_CONTROL
    return response


@require_safe
def incident(request: HttpRequest, public_id: str) -> HttpResponse:
    show, number = discussion_params(request)
    # SECURITY: a signed-in reader gets a rendering of their own, never the shared cache's and
    # never stored in it. Reading request.user makes the session middleware add Vary: Cookie,
    # so a CDN keeps the anonymous copy for cookie-less readers only.
    viewer = signed_in_user(request)
    if viewer is not None:
        return render_incident(request, public_id, viewer=viewer)

    def build() -> tuple[str, dict[str, Any]]:
        return INCIDENT_TEMPLATE, incident_context(request, public_id, show=show, number=number)

    return cached_html(request, f"incident:{public_id}:{show}:{number}", build)


# --- polling (static/js/live.js) -------------------------------------------------------------


@require_safe
def page_live(request: HttpRequest) -> HttpResponse:
    """The page's poll: 304 while the reader's content version is current, else the page."""
    return live_response(request, lambda: page(request))


@require_safe
def incident_live(request: HttpRequest, public_id: str) -> HttpResponse:
    """The incident page's poll (the page polls only while the incident is open).

    Every reader-visible change of the thread bumps the organization's content version in the
    same transaction (apps.forum.services._touch), so while the incident is open this poll
    brings new comments too; a closed incident's discussion polls its thread's version
    (apps.forum.views_public.discussion_live)."""
    response = live_response(request, lambda: incident(request, public_id))
    if signed_in_user(request) is not None:
        response["Cache-Control"] = PRIVATE_CACHE_CONTROL
    return response
