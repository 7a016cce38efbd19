"""Status API v2: the public, Statuspage-compatible JSON under `<page>/api/v2/`.

The format is fixed by shared/reference/status-api-v2.md (§1, checklist §7): tools that read
Statuspage pages today must read ours unchanged. Plain Django views rather than DRF, so that
key order, null handling, timestamp format and escaping are exactly ours to decide.

Query budget: every endpoint runs a fixed number of queries whatever the history size
(components and groups: 2; an incident list: 3; page updated_at: 1; canonical URL: 1).

The loaders and `page_status` are shared with the HTML page (views_public.py) so both always
say the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from apps.incidents.models import (
    ACTIVE_MAINTENANCE,
    OPEN_MAINTENANCE,
    UNRESOLVED_INCIDENT,
    Impact,
    Incident,
    IncidentUpdate,
    Kind,
    MaintenanceStatus,
)
from apps.organizations.models import Organization
from apps.status.models import Component, ComponentGroup, ComponentStatus, worst_status

from .caching import public_response

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
# "the 50 most recent incidents" (reference §1.2); clients rely on the cap.
LIST_LIMIT = 50
# Zones that Statuspage (Rails TimeWithZone#utc?) prints with a `Z` suffix.
UTC_ZONES = frozenset(
    {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"}
)


# --- formatting ------------------------------------------------------------------------------


def page_time_zone(organization: Organization) -> str:
    """The IANA name the API reports; plain "UTC" is reported as "Etc/UTC" like Statuspage."""
    return "Etc/UTC" if organization.timezone in UTC_ZONES else organization.timezone


def format_timestamp(value: datetime | None, tz: ZoneInfo) -> str | None:
    """`YYYY-MM-DDTHH:MM:SS.mmm±HH:MM` in the page's zone, `...mmmZ` for UTC (reference §1.6).

    Always three fractional digits: strict clients parse with `%Y-%m-%dT%H:%M:%S.%f%z`.
    The only timestamp formatter of the API; every date-time goes through it.
    """
    if value is None:
        return None
    local = value.astimezone(tz)
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + f".{local.microsecond // 1000:03d}"
    if str(tz) in UTC_ZONES:
        return text + "Z"
    offset = local.strftime("%z")  # +HHMM
    return f"{text}{offset[:3]}:{offset[3:]}"


def encode(data: dict[str, Any]) -> str:
    """Compact JSON with `&`, `<`, `>` escaped as Rails' to_json does (`\\u0026` ...).

    Those characters can only occur inside JSON strings, so replacing them in the encoded text
    is exact. Escaping < and > also keeps a mis-sniffed response from being read as HTML.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


# --- loading ---------------------------------------------------------------------------------


@dataclass
class ComponentTree:
    """An organization's components and groups in display order, loaded in two queries.

    Each group gets `children` (display order) and `rollup_status` (worst child status); every
    item gets `display_position`, its 1-based position within its parent (reference §1.3).
    """

    top_level: list[ComponentGroup | Component]
    components: dict[int, Component]
    groups: dict[int, ComponentGroup]

    @cached_property
    def ordered(self) -> list[ComponentGroup | Component]:
        """Flat display order: top-level items, each group followed by its children."""
        items: list[ComponentGroup | Component] = []
        for item in self.top_level:
            items.append(item)
            if isinstance(item, ComponentGroup):
                items.extend(item.children)
        return items

    @cached_property
    def leaves(self) -> list[Component]:
        return [item for item in self.ordered if isinstance(item, Component)]

    @cached_property
    def display_names(self) -> dict[str, str]:
        """Public id -> "Group - Child" (or "Child"), as affected_components names them."""
        return {c.public_id: c.display_name for c in self.components.values()}

    def latest_change(self) -> datetime | None:
        stamps = [item.updated_at for item in self.ordered]
        return max(stamps, default=None)


def load_components(organization: Organization) -> ComponentTree:
    groups = {group.pk: group for group in ComponentGroup.objects.for_org(organization)}
    components: dict[int, Component] = {}
    for group in groups.values():
        group.children = []
    top_level: list[ComponentGroup | Component] = [group for group in groups.values()]
    for component in Component.objects.for_org(organization).order_by("position", "id"):
        components[component.pk] = component
        group = groups.get(component.group_id) if component.group_id else None
        if group is None:
            top_level.append(component)
        else:
            # Set the cached relation so display_name needs no query.
            component.group = group
            group.children.append(component)
    for group in groups.values():
        for index, child in enumerate(group.children, start=1):
            child.display_position = index
        # Not `group.status`: the model property queries; this reuses the loaded children.
        group.rollup_status = worst_status(child.status for child in group.children)
        group.latest_update = max(
            [group.updated_at, *(child.updated_at for child in group.children)]
        )
    # Groups and ungrouped components share the top level; ties keep groups first.
    top_level.sort(key=lambda item: (item.position, isinstance(item, Component), item.pk))
    for index, item in enumerate(top_level, start=1):
        item.display_position = index
    return ComponentTree(top_level=top_level, components=components, groups=groups)


def load_incidents(
    organization: Organization, queryset: QuerySet[Incident], tree: ComponentTree
) -> list[Incident]:
    """Evaluate `queryset` and attach `public_updates` (newest first) and `public_components`
    (display order), in two more queries whatever the number of incidents."""
    incidents = list(queryset)
    by_id = {incident.pk: incident for incident in incidents}
    for incident in incidents:
        incident.public_updates = []
        incident.public_components = []
    if not incidents:
        return incidents
    updates = (
        IncidentUpdate.objects.for_org(organization)
        .filter(incident_id__in=by_id)
        .order_by("-display_at", "-id")
    )
    for update in updates:
        update.incident = by_id[update.incident_id]
        by_id[update.incident_id].public_updates.append(update)
    order = {item.pk: index for index, item in enumerate(tree.leaves)}
    links = Incident.components.through.objects.filter(incident_id__in=by_id).values_list(
        "incident_id", "component_id"
    )
    for incident_id, component_id in links:
        component = tree.components.get(component_id)
        if component is not None:
            by_id[incident_id].public_components.append(component)
    for incident in incidents:
        incident.public_components.sort(key=lambda c: order[c.pk])
    return incidents


def incidents_queryset(organization: Organization) -> QuerySet[Incident]:
    return Incident.objects.for_org(organization).order_by("-started_at", "-id")


def open_items_queryset(organization: Organization) -> QuerySet[Incident]:
    """Unresolved incidents and scheduled/in-progress/verifying maintenances, in one query."""
    return incidents_queryset(organization).filter(
        Q(kind=Kind.INCIDENT, status__in=UNRESOLVED_INCIDENT)
        | Q(kind=Kind.MAINTENANCE, status__in=OPEN_MAINTENANCE)
    )


def by_schedule(maintenances: Iterable[Incident]) -> list[Incident]:
    far_future = datetime.max.replace(tzinfo=ZoneInfo("UTC"))
    return sorted(maintenances, key=lambda m: (m.scheduled_for or far_future, m.pk))


# --- page status rollup ---------------------------------------------------------------------

# Order in which indicators win when several sources disagree.
INDICATOR_RANK = {"none": 0, "maintenance": 1, "minor": 2, "major": 3, "critical": 4}

SINGLE_COMPONENT = {
    ComponentStatus.OPERATIONAL: ("none", "All Systems Operational"),
    ComponentStatus.UNDER_MAINTENANCE: ("maintenance", "Service Under Maintenance"),
    ComponentStatus.DEGRADED_PERFORMANCE: ("minor", "Partially Degraded Service"),
    ComponentStatus.PARTIAL_OUTAGE: ("major", "Partial System Outage"),
    ComponentStatus.MAJOR_OUTAGE: ("critical", "Major System Outage"),
}
IMPACT_STATUS = {
    Impact.MINOR: ("minor", "Minor Service Outage"),
    Impact.MAJOR: ("major", "Partial System Outage"),
    Impact.CRITICAL: ("critical", "Major System Outage"),
}


def component_blend(statuses: list[str]) -> tuple[str, str]:
    """Indicator and description from the leaf components' statuses (reference §1.5).

    0 components: operational. 1 component: Atlassian's documented mapping. Two or more
    ("best effort blend"; Atlassian's own rules are not public), our rule, which uses only
    Atlassian's strings:
      - every component in major outage         -> critical  "Major System Outage"
      - some component in major outage          -> major     "Partial System Outage"
      - every component in partial outage       -> major     "Partial System Outage"
      - some component in partial outage        -> minor     "Minor Service Outage"
      - every component degraded                -> minor     "Degraded System Service"
      - some component degraded                 -> minor     "Partially Degraded Service"
      - some component under maintenance        -> maintenance "Service Under Maintenance"
      - otherwise                               -> none      "All Systems Operational"
    One major outage among many components is a partial outage of the system, which is why the
    page only says "critical" when everything is down (matching the observed behaviour that
    status.json can show `major` while one component is in major outage).
    """
    if not statuses:
        return "none", "All Systems Operational"
    if len(statuses) == 1:
        return SINGLE_COMPONENT[statuses[0]]
    present = set(statuses)
    every = len(present) == 1
    if ComponentStatus.MAJOR_OUTAGE in present:
        if every:
            return "critical", "Major System Outage"
        return "major", "Partial System Outage"
    if ComponentStatus.PARTIAL_OUTAGE in present:
        if every:
            return "major", "Partial System Outage"
        return "minor", "Minor Service Outage"
    if ComponentStatus.DEGRADED_PERFORMANCE in present:
        if every:
            return "minor", "Degraded System Service"
        return "minor", "Partially Degraded Service"
    if ComponentStatus.UNDER_MAINTENANCE in present:
        return "maintenance", "Service Under Maintenance"
    return "none", "All Systems Operational"


def page_status(tree: ComponentTree, open_items: Iterable[Incident]) -> dict[str, str]:
    """`{"indicator", "description"}` for the whole page.

    The worst (INDICATOR_RANK) of three sources wins, the components' blend first on ties:
      1. the blend of the leaf components' statuses (`component_blend`);
      2. each unresolved incident's impact (minor/major/critical), since staff may open an
         incident before touching any component;
      3. `maintenance` while a maintenance is in progress or verifying.
    An outage therefore outranks maintenance: readers must learn of an unplanned problem even
    during planned work.
    """
    best = component_blend([component.status for component in tree.leaves])
    for item in open_items:
        if item.kind == Kind.INCIDENT and item.status in UNRESOLVED_INCIDENT:
            candidate = IMPACT_STATUS.get(item.impact)
        elif item.kind == Kind.MAINTENANCE and item.status in ACTIVE_MAINTENANCE:
            candidate = ("maintenance", "Service Under Maintenance")
        else:
            candidate = None
        if candidate and INDICATOR_RANK[candidate[0]] > INDICATOR_RANK[best[0]]:
            best = candidate
    return {"indicator": best[0], "description": best[1]}


# --- serialisation ---------------------------------------------------------------------------


@dataclass
class Context:
    organization: Organization
    tree: ComponentTree
    tz: ZoneInfo = field(init=False)
    page_url: str = field(init=False)

    def __post_init__(self) -> None:
        self.tz = self.organization.tzinfo
        self.page_url = self.organization.public_url  # one query (custom domain lookup)

    def ts(self, value: datetime | None) -> str | None:
        return format_timestamp(value, self.tz)

    def incident_url(self, incident: Incident) -> str:
        return f"{self.page_url}incidents/{incident.public_id}/"


def page_json(ctx: Context, updated_at: datetime | None) -> dict[str, Any]:
    org = ctx.organization
    return {
        "id": org.public_id,
        "name": org.name,
        "url": ctx.page_url,
        "time_zone": page_time_zone(org),
        "updated_at": ctx.ts(updated_at or org.updated_at),
    }


def component_json(ctx: Context, component: Component) -> dict[str, Any]:
    group = ctx.tree.groups.get(component.group_id) if component.group_id else None
    return {
        "id": component.public_id,
        "name": component.name,
        "status": component.status,
        "created_at": ctx.ts(component.created_at),
        "updated_at": ctx.ts(component.updated_at),
        "position": getattr(component, "display_position", component.position),
        "description": component.description or None,
        "showcase": component.showcase,
        "start_date": component.start_date.isoformat() if component.start_date else None,
        "group_id": group.public_id if group else None,
        "page_id": ctx.organization.public_id,
        "group": False,
        "only_show_if_degraded": component.only_show_if_degraded,
    }


def group_json(ctx: Context, group: ComponentGroup) -> dict[str, Any]:
    return {
        "id": group.public_id,
        "name": group.name,
        "status": group.rollup_status,
        "created_at": ctx.ts(group.created_at),
        "updated_at": ctx.ts(group.latest_update),
        "position": group.display_position,
        "description": group.description or None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": ctx.organization.public_id,
        "group": True,
        "only_show_if_degraded": False,
        "components": [child.public_id for child in group.children],
    }


def components_json(ctx: Context) -> list[dict[str, Any]]:
    return [
        group_json(ctx, item) if isinstance(item, ComponentGroup) else component_json(ctx, item)
        for item in ctx.tree.ordered
    ]


VALID_COMPONENT_STATUSES = frozenset(ComponentStatus.values)


def affected_components_json(ctx: Context, update: IncidentUpdate) -> list[dict[str, Any]] | None:
    """The stored list, with names refreshed from the current components ("Group - Child")."""
    if update.affected_components is None:
        return None
    names = ctx.tree.display_names
    entries = []
    for entry in update.affected_components:
        code = entry.get("code")
        old, new = entry.get("old_status"), entry.get("new_status")
        # Strict clients raise on unknown enum values: drop an entry rather than emit one.
        if not code or old not in VALID_COMPONENT_STATUSES or new not in VALID_COMPONENT_STATUSES:
            continue
        entries.append(
            {"code": code, "name": names.get(code, entry.get("name", "")), "old_status": old,
             "new_status": new}
        )  # fmt: skip
    return entries


def update_json(ctx: Context, update: IncidentUpdate, incident: Incident) -> dict[str, Any]:
    return {
        "id": update.public_id,
        "status": update.status,
        "body": update.body,
        "incident_id": incident.public_id,
        "created_at": ctx.ts(update.created_at),
        "updated_at": ctx.ts(update.updated_at),
        "display_at": ctx.ts(update.display_at),
        "affected_components": affected_components_json(ctx, update),
        "deliver_notifications": update.deliver_notifications,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident_json(ctx: Context, incident: Incident) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": incident.public_id,
        "name": incident.name,
        "status": incident.status,
        "created_at": ctx.ts(incident.created_at),
        "updated_at": ctx.ts(incident.updated_at),
        "monitoring_at": ctx.ts(incident.monitoring_at),
        "resolved_at": ctx.ts(incident.resolved_at),
        "impact": incident.impact,
        "shortlink": ctx.incident_url(incident),
        "started_at": ctx.ts(incident.started_at),
        "page_id": ctx.organization.public_id,
        "incident_updates": [update_json(ctx, u, incident) for u in incident.public_updates],
        "components": [component_json(ctx, c) for c in incident.public_components],
        "reminder_intervals": None,
    }
    if incident.kind == Kind.MAINTENANCE:
        # Last two keys, as in real payloads (reference §1.3).
        data["scheduled_for"] = ctx.ts(incident.scheduled_for)
        data["scheduled_until"] = ctx.ts(incident.scheduled_until)
    return data


# --- endpoints -------------------------------------------------------------------------------


def page_updated_at(organization: Organization, tree: ComponentTree) -> datetime:
    """Last time anything on the page changed: organization, components, incidents."""
    latest_incident = Incident.objects.for_org(organization).aggregate(latest=Max("updated_at"))
    stamps = [organization.updated_at, tree.latest_change(), latest_incident["latest"]]
    return max(stamp for stamp in stamps if stamp is not None)


def _base(organization: Organization) -> tuple[Context, dict[str, Any]]:
    tree = load_components(organization)
    ctx = Context(organization, tree)
    return ctx, {"page": page_json(ctx, page_updated_at(organization, tree))}


def build_summary(organization: Organization) -> dict[str, Any]:
    ctx, data = _base(organization)
    open_items = load_incidents(organization, open_items_queryset(organization), ctx.tree)
    incidents = [item for item in open_items if item.kind == Kind.INCIDENT]
    maintenances = by_schedule(item for item in open_items if item.kind == Kind.MAINTENANCE)
    data["components"] = components_json(ctx)
    data["incidents"] = [incident_json(ctx, incident) for incident in incidents]
    data["scheduled_maintenances"] = [incident_json(ctx, m) for m in maintenances]
    data["status"] = page_status(ctx.tree, open_items)
    return data


def build_status(organization: Organization) -> dict[str, Any]:
    ctx, data = _base(organization)
    # The rollup needs only the open items themselves, not their updates.
    open_items = list(open_items_queryset(organization))
    data["status"] = page_status(ctx.tree, open_items)
    return data


def build_components(organization: Organization) -> dict[str, Any]:
    ctx, data = _base(organization)
    data["components"] = components_json(ctx)
    return data


def _incident_list(
    key: str, filter_queryset: Callable[[QuerySet[Incident]], QuerySet[Incident]], *,
    schedule_order: bool = False,
) -> Callable[[Organization], dict[str, Any]]:  # fmt: skip
    def build(organization: Organization) -> dict[str, Any]:
        ctx, data = _base(organization)
        queryset = filter_queryset(incidents_queryset(organization))
        items = load_incidents(organization, queryset, ctx.tree)
        if schedule_order:
            items = by_schedule(items)
        data[key] = [incident_json(ctx, item) for item in items]
        return data

    return build


build_incidents = _incident_list("incidents", lambda qs: qs.filter(kind=Kind.INCIDENT)[:LIST_LIMIT])
build_unresolved = _incident_list(
    "incidents", lambda qs: qs.filter(kind=Kind.INCIDENT, status__in=UNRESOLVED_INCIDENT)
)
# "The 50 most recent": the latest windows first.
build_maintenances = _incident_list(
    "scheduled_maintenances",
    lambda qs: qs.filter(kind=Kind.MAINTENANCE).order_by("-scheduled_for", "-started_at", "-id")[
        :LIST_LIMIT
    ],
)
build_upcoming = _incident_list(
    "scheduled_maintenances",
    lambda qs: qs.filter(kind=Kind.MAINTENANCE, status=MaintenanceStatus.SCHEDULED),
    schedule_order=True,
)
build_active = _incident_list(
    "scheduled_maintenances",
    lambda qs: qs.filter(kind=Kind.MAINTENANCE, status__in=ACTIVE_MAINTENANCE),
    schedule_order=True,
)


def endpoint(name: str, build: Callable[[Organization], dict[str, Any]]) -> Callable:
    """A GET/HEAD view serving `build(org)` as JSON through the public cache."""

    @require_safe
    def view(request: HttpRequest) -> HttpResponse:
        organization = request.organization
        return public_response(
            request,
            f"api-v2:{name}",
            lambda: (encode(build(organization)), JSON_CONTENT_TYPE),
            cors=True,
        )

    view.__name__ = view.__qualname__ = f"api_v2_{name.replace('-', '_').replace('/', '_')}"
    return view


summary = endpoint("summary", build_summary)
status = endpoint("status", build_status)
components = endpoint("components", build_components)
incidents = endpoint("incidents", build_incidents)
incidents_unresolved = endpoint("incidents-unresolved", build_unresolved)
scheduled_maintenances = endpoint("scheduled-maintenances", build_maintenances)
scheduled_maintenances_upcoming = endpoint("scheduled-maintenances-upcoming", build_upcoming)
scheduled_maintenances_active = endpoint("scheduled-maintenances-active", build_active)
