"""Every write to components, groups, status history, uptime rollups and branding.

Callers from other apps (incidents, API, demo data) use:

- set_component_status(component, status, *, actor, incident=None, at=None, notify=True)
- set_component_statuses(organization, changes, *, actor, incident=None, at=None, notify=True)
- backfill_uptime(component, changes, *, until)

Uptime accounting (see UptimeDay): each component remembers up to when its time has been
accounted (`Component.uptime_accounted_until`). A status change adds the seconds from there to the
change to the UptimeDay row of every local day it touches, in the organization's timezone, then
moves the mark. close_uptime_days does the same at each local midnight. Pages only read the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from PIL import Image

from apps.core.ids import new_public_id
from apps.core.locking import Gone, lock_again
from apps.notifications import pipeline as notifications
from apps.organizations.models import AuditEntry, Organization, color_validator
from apps.organizations.services import bump_content_version

from .models import (
    SECONDS_FIELD,
    SEVERITY,
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
    UptimeDay,
)
from .notifications import EventKind
from .notifications import snapshot as component_snapshot

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from apps.organizations.principals import Principal as Actor

    class Incident(Protocol):
        """An incidents.Incident, described rather than imported: status sits below incidents
        (docs/architecture.md). ComponentStatusChange.incident names it as a string."""

        pk: int
        organization_id: int
        public_id: str


# --- time helpers ----------------------------------------------------------------------------


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The instant a local day starts (aware). fold=0 picks the first of an ambiguous pair."""
    return datetime.combine(day, time.min, tzinfo=tz)


def _split_by_local_day(start: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[date, int]]:
    """[(local date, seconds)] covering [start, end). Whole seconds, so the parts add up."""
    parts: list[tuple[date, int]] = []
    day = start.astimezone(tz).date()
    cursor = start
    while cursor < end:
        next_midnight = local_midnight(day + timedelta(days=1), tz)
        segment_end = min(end, next_midnight)
        # Truncating both ends (not each length) keeps the sum equal to the whole interval.
        seconds = int(segment_end.timestamp()) - int(cursor.timestamp())
        if seconds > 0:
            parts.append((day, seconds))
        cursor = segment_end
        day += timedelta(days=1)
    return parts


# --- uptime accounting -----------------------------------------------------------------------


def _default_accounted_until(component: Component, at: datetime, tz: ZoneInfo) -> datetime:
    """Where accounting starts for a component that has none yet: the start of the local day
    before `at` (i.e. of `at`'s day, or of yesterday when `at` is a midnight), or its creation
    if that is later and not after `at`."""
    day_start = local_midnight((at - timedelta(microseconds=1)).astimezone(tz).date(), tz)
    if day_start <= component.created_at <= at:
        return component.created_at
    return day_start


def _account(component: Component, until: datetime, tz: ZoneInfo) -> None:
    """Add the time from the component's mark to `until` (spent in its current status) to the
    UptimeDay rows, and move the mark. The caller holds the component's row lock and saves
    `uptime_accounted_until`."""
    since = component.uptime_accounted_until or _default_accounted_until(component, until, tz)
    field = SECONDS_FIELD[component.status]
    for day, seconds in _split_by_local_day(since, until, tz):
        row, created = UptimeDay.objects.get_or_create(
            component=component,
            date=day,
            defaults={
                "organization_id": component.organization_id,
                field: seconds,
                "worst_status": component.status,
            },
        )
        if not created:
            updates: dict[str, Any] = {field: F(field) + seconds}
            if SEVERITY[component.status] > SEVERITY[row.worst_status]:
                updates["worst_status"] = component.status
            UptimeDay.objects.filter(pk=row.pk).update(**updates)
    component.uptime_accounted_until = max(since, until)


def _note_worst_status(component: Component, status: str, day: date) -> None:
    """Make the day's bar at least as bad as `status` (the component is in it from now on)."""
    row, created = UptimeDay.objects.get_or_create(
        component=component,
        date=day,
        defaults={"organization_id": component.organization_id, "worst_status": status},
    )
    if not created and SEVERITY[status] > SEVERITY[row.worst_status]:
        UptimeDay.objects.filter(pk=row.pk).update(worst_status=status)


# --- status changes --------------------------------------------------------------------------


def _validate_status(status: str) -> None:
    if status not in ComponentStatus.values:
        raise ValidationError(f"Unknown component status {status!r}.", code="invalid_status")


@transaction.atomic
def set_component_status(
    component: Component,
    status: str,
    *,
    actor: Actor,
    incident: Incident | None = None,
    at: datetime | None = None,
    notify: bool = True,
) -> ComponentStatusChange | None:
    """Change a component's status; None (nothing written) when it already has that status.

    Writes the history row, keeps the UptimeDay rollups current, records an audit entry,
    bumps the public page's content version and writes a COMPONENT_STATUS_CHANGED
    NotificationEvent in the same transaction (delivered only with notify).

    `at` defaults to now. It cannot go back before the component's previous change: an earlier
    `at` is moved up to it, so history stays ordered and no second is counted twice.
    """
    actor.require("components.edit", component.organization)
    _validate_status(status)
    if incident is not None and incident.organization_id != component.organization_id:
        raise ValidationError("The incident belongs to another organization.", code="wrong_org")
    # Lock and re-read: two editors (or an editor and an alert webhook) changing the same
    # component at once must not both account the same seconds.
    locked = lock_again(Component.objects.select_related("organization"), pk=component.pk)
    if locked.status == status:
        component.status = locked.status
        return None
    organization = locked.organization
    tz = organization.tzinfo
    at = at or timezone.now()
    if locked.uptime_accounted_until and at < locked.uptime_accounted_until:
        at = locked.uptime_accounted_until

    old_status = locked.status
    _account(locked, at, tz)
    locked.status = status
    _note_worst_status(locked, status, at.astimezone(tz).date())
    locked.save(update_fields=["status", "uptime_accounted_until", "updated_at"])
    # Keep the caller's instance truthful for whatever it renders next.
    component.status = locked.status
    component.uptime_accounted_until = locked.uptime_accounted_until
    component.updated_at = locked.updated_at

    change = ComponentStatusChange.objects.create(
        organization=organization,
        component=locked,
        from_status=old_status,
        to_status=status,
        changed_at=at,
        actor=actor.audit_user,
        actor_label=actor.audit_label,
        # By id: `incident` is the Protocol above, not the model the FK names (same SQL).
        incident_id=incident.pk if incident is not None else None,
    )
    AuditEntry.record(
        organization,
        actor=actor,
        action="component.status_change",
        target=locked,
        data={
            "old_status": old_status,
            "new_status": status,
            "incident": incident.public_id if incident is not None else None,
        },
    )
    # Without notify the event is still written, for the record, and never delivered
    # (deliver=False), like every other "don't notify" change. Its renderer is in
    # apps/status/notifications.py (or apps/incidents' when an incident made the change).
    notifications.emit(
        EventKind.COMPONENT_STATUS_CHANGED,
        organization,
        locked,
        component_snapshot(locked, old_status, status, within=incident),
        component_ids=[locked.public_id],
        deliver=notify,
    )
    bump_content_version(organization)
    return change


@transaction.atomic
def set_component_statuses(
    organization: Organization,
    changes: Mapping[Component, str],
    *,
    actor: Actor,
    incident: Incident | None = None,
    at: datetime | None = None,
    notify: bool = True,
) -> list[ComponentStatusChange]:
    """Set several components' statuses at once (what an incident update does).

    Every component must belong to `organization` and every status must be valid; otherwise
    ValidationError is raised before anything is written. Returns the history rows written
    (components already in the requested status are skipped).
    """
    actor.require("components.edit", organization)
    for component, status in changes.items():
        _validate_status(status)
        # SECURITY: the components may come from a form or an API body; never let one
        # organization change another's components.
        if component.organization_id != organization.pk:
            raise ValidationError("No such component.", code="wrong_org")
    if incident is not None and incident.organization_id != organization.pk:
        raise ValidationError("The incident belongs to another organization.", code="wrong_org")
    at = at or timezone.now()
    written = []
    # Fixed order (by pk) so concurrent callers lock rows in the same order: no deadlock.
    for component in sorted(changes, key=lambda c: c.pk):
        change = set_component_status(
            component, changes[component], actor=actor, incident=incident, at=at, notify=notify
        )
        if change is not None:
            written.append(change)
    return written


# --- daily close -----------------------------------------------------------------------------


def close_uptime_days_for(organization: Organization, *, now: datetime | None = None) -> int:
    """Close the organization's UptimeDay rows of days that have ended in its timezone.

    Accounts each component's time up to the last local midnight (in its current status), marks
    earlier rows closed and opens today's row. Idempotent: a second run finds nothing to add.
    Returns the number of components whose time was accounted.
    """
    tz = organization.tzinfo
    now = now or timezone.now()
    today = now.astimezone(tz).date()
    midnight = local_midnight(today, tz)
    accounted = 0
    pending = (
        Component.objects.for_org(organization)
        .filter(Q(uptime_accounted_until__isnull=True) | Q(uptime_accounted_until__lt=midnight))
        .values_list("pk", flat=True)
    )
    for pk in pending:
        # One short transaction per component: the row lock is held only briefly, and a
        # crash halfway leaves every component either fully closed or untouched.
        with transaction.atomic():
            try:
                component = lock_again(Component.objects.select_related("organization"), pk=pk)
            except Gone:
                continue  # deleted since the list was read: nothing left to account
            if component.uptime_accounted_until and component.uptime_accounted_until >= midnight:
                continue  # a status change got there first
            _account(component, midnight, tz)
            component.save(update_fields=["uptime_accounted_until"])
            accounted += 1
    UptimeDay.objects.for_org(organization).filter(date__lt=today, closed=False).update(closed=True)
    # Open today's rows so the bar exists (and shows the current status) before any change.
    statuses = Component.objects.for_org(organization).values_list("pk", "status")
    UptimeDay.objects.bulk_create(
        [
            UptimeDay(organization=organization, component_id=pk, date=today, worst_status=status)
            for pk, status in statuses
        ],
        ignore_conflicts=True,
    )
    return accounted


# --- demo data and imports -------------------------------------------------------------------


def backfill_uptime(
    component: Component, changes: list[tuple[datetime, str]], *, until: datetime
) -> int:
    """Write a component's past status history and its UptimeDay rows in a few bulk inserts.

    For the demo data generator and importers, on a component that has no history yet
    (ValueError otherwise). No audit entries, no notifications.

    - `changes`: [(when, new status)] in any order, aware datetimes. The first one is where
      history starts: the component is in that status from that moment (a history row is
      written for it only if it is not `operational`). Later items with the same status as
      the previous one are skipped.
    - `until`: accounting runs up to this instant (usually now); rows of local days that ended
      before it are marked closed. The component's status becomes the last status, and later
      set_component_status calls continue from `until`.

    Two years of history for one component is ~730 UptimeDay rows and a few hundred changes:
    two bulk_create calls, no per-row queries. Returns the number of history rows written.
    """
    if not changes:
        raise ValueError("backfill_uptime needs at least one (datetime, status) pair")
    for _when, status in changes:
        _validate_status(status)
    if ComponentStatusChange.objects.filter(component=component).exists() or (
        UptimeDay.objects.filter(component=component).exists()
    ):
        raise ValueError(f"{component} already has history; backfill_uptime only fills new ones")
    organization = component.organization
    tz = organization.tzinfo
    ordered = sorted(changes, key=lambda change: change[0])
    start, status = ordered[0]

    days: dict[date, dict[str, Any]] = {}

    def add(begin: datetime, end: datetime, in_status: str) -> None:
        for day, seconds in _split_by_local_day(begin, end, tz):
            row = days.setdefault(day, {"worst_status": in_status})
            field = SECONDS_FIELD[in_status]
            row[field] = row.get(field, 0) + seconds
            if SEVERITY[in_status] > SEVERITY[row["worst_status"]]:
                row["worst_status"] = in_status

    history: list[ComponentStatusChange] = []
    if status != ComponentStatus.OPERATIONAL:
        history.append(
            ComponentStatusChange(
                organization=organization,
                component=component,
                from_status=ComponentStatus.OPERATIONAL,
                to_status=status,
                changed_at=start,
                actor_label="import",
            )
        )
    previous_at = start
    for when, new_status in ordered[1:]:
        if when > until:
            break
        if new_status == status:
            continue
        add(previous_at, when, status)
        history.append(
            ComponentStatusChange(
                organization=organization,
                component=component,
                from_status=status,
                to_status=new_status,
                changed_at=when,
                actor_label="import",
            )
        )
        previous_at, status = when, new_status
    add(previous_at, until, status)
    # The day `until` falls in shows the status the component is in from then on.
    until_day = until.astimezone(tz).date()
    today_row = days.setdefault(until_day, {"worst_status": status})
    if SEVERITY[status] > SEVERITY[today_row["worst_status"]]:
        today_row["worst_status"] = status

    with transaction.atomic():
        ComponentStatusChange.objects.bulk_create(history, batch_size=500)
        UptimeDay.objects.bulk_create(
            [
                UptimeDay(
                    organization=organization,
                    component=component,
                    date=day,
                    closed=day < until_day,
                    **row,
                )
                for day, row in sorted(days.items())
            ],
            batch_size=500,
        )
        component.status = status
        component.uptime_accounted_until = until
        component.save(update_fields=["status", "uptime_accounted_until", "updated_at"])
        bump_content_version(organization)
    return len(history)


# --- components and groups -------------------------------------------------------------------

COMPONENT_FIELDS = frozenset(
    {"name", "description", "group", "only_show_if_degraded", "showcase", "start_date"}
)


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Please give it a name."}, code="required")
    return name


def _check_group(organization: Organization, group: ComponentGroup | None) -> None:
    # SECURITY: a component may only join a group of its own organization.
    if group is not None and group.organization_id != organization.pk:
        raise ValidationError({"group": "No such group."}, code="wrong_org")


def top_level_items(organization: Organization) -> list[ComponentGroup | Component]:
    """Groups and ungrouped components in display order: they share one position sequence."""
    groups = list(ComponentGroup.objects.for_org(organization))
    loose = list(Component.objects.for_org(organization).filter(group__isnull=True))
    # Ties (older data) put groups first, then creation order, so the order is stable.
    return sorted(
        [*groups, *loose], key=lambda o: (o.position, isinstance(o, Component), o.created_at, o.pk)
    )


def _next_position(organization: Organization, group: ComponentGroup | None) -> int:
    if group is not None:
        top = Component.objects.filter(group=group).aggregate(top=Max("position"))["top"]
        return (top or 0) + 1
    group_top = ComponentGroup.objects.for_org(organization).aggregate(top=Max("position"))["top"]
    component_top = (
        Component.objects.for_org(organization)
        .filter(group__isnull=True)
        .aggregate(top=Max("position"))["top"]
    )
    return max(group_top or 0, component_top or 0) + 1


def _renumber(items: Sequence[ComponentGroup | Component]) -> None:
    """Positions 1..n in the given order (the status API's positions are 1-based per parent)."""
    changed_groups: list[ComponentGroup] = []
    changed_components: list[Component] = []
    for position, item in enumerate(items, start=1):
        if item.position != position:
            item.position = position
            if isinstance(item, Component):
                changed_components.append(item)
            else:
                changed_groups.append(item)
    if changed_groups:
        ComponentGroup.objects.bulk_update(changed_groups, ["position"])
    if changed_components:
        Component.objects.bulk_update(changed_components, ["position"])


@transaction.atomic
def create_component_group(
    organization: Organization, *, actor: Actor, name: str, description: str = ""
) -> ComponentGroup:
    actor.require("components.edit", organization)
    group = ComponentGroup.objects.create(
        organization=organization,
        name=_clean_name(name),
        description=description.strip(),
        position=_next_position(organization, None),
    )
    AuditEntry.record(organization, actor=actor, action="component_group.create", target=group)
    bump_content_version(organization)
    return group


@transaction.atomic
def update_component_group(
    group: ComponentGroup, *, actor: Actor, name: str, description: str = ""
) -> ComponentGroup:
    actor.require("components.edit", group.organization)
    group.name = _clean_name(name)
    group.description = description.strip()
    group.save(update_fields=["name", "description", "updated_at"])
    AuditEntry.record(
        group.organization, actor=actor, action="component_group.update", target=group
    )
    bump_content_version(group.organization)
    return group


@transaction.atomic
def delete_component_group(group: ComponentGroup, *, actor: Actor) -> None:
    """Delete a group; its components stay, moved to the end of the top level."""
    actor.require("components.edit", group.organization)
    organization = group.organization
    children = list(group.components.all())
    base = _next_position(organization, None)
    for offset, component in enumerate(children):
        component.group = None
        component.position = base + offset
    Component.objects.bulk_update(children, ["group", "position"])
    AuditEntry.record(
        organization,
        actor=actor,
        action="component_group.delete",
        target=group,
        data={"components_moved_to_top_level": [c.public_id for c in children]},
    )
    group.delete()
    _renumber(top_level_items(organization))
    bump_content_version(organization)


@transaction.atomic
def create_component(
    organization: Organization,
    *,
    actor: Actor,
    name: str,
    description: str = "",
    group: ComponentGroup | None = None,
    only_show_if_degraded: bool = False,
    showcase: bool = True,
    start_date: date | None = None,
) -> Component:
    """A new operational component, last among its siblings."""
    actor.require("components.edit", organization)
    _check_group(organization, group)
    now = timezone.now()
    component = Component.objects.create(
        organization=organization,
        name=_clean_name(name),
        description=description.strip(),
        group=group,
        position=_next_position(organization, group),
        only_show_if_degraded=only_show_if_degraded,
        showcase=showcase,
        start_date=start_date,
        created_at=now,
        # Uptime counts from creation, not from the start of the day.
        uptime_accounted_until=now,
    )
    AuditEntry.record(organization, actor=actor, action="component.create", target=component)
    bump_content_version(organization)
    return component


@transaction.atomic
def update_component(component: Component, *, actor: Actor, **fields: Any) -> Component:
    """Change any of COMPONENT_FIELDS. A new group puts the component last in that group."""
    actor.require("components.edit", component.organization)
    unknown = set(fields) - COMPONENT_FIELDS
    if unknown:
        raise TypeError(f"update_component() got unexpected fields {sorted(unknown)}")
    organization = component.organization
    if "name" in fields:
        fields["name"] = _clean_name(fields["name"])
    if "description" in fields:
        fields["description"] = (fields["description"] or "").strip()
    old_group_id = component.group_id
    if "group" in fields:
        _check_group(organization, fields["group"])
    changed = {k: v for k, v in fields.items() if getattr(component, k) != v}
    for key, value in changed.items():
        setattr(component, key, value)
    update_fields = [*changed, "updated_at"]
    moved = "group" in changed and component.group_id != old_group_id
    if moved:
        component.position = _next_position(organization, component.group)
        update_fields.append("position")
    component.save(update_fields=update_fields)
    if moved:
        # Close the gap it left behind.
        if old_group_id:
            _renumber(list(Component.objects.filter(group_id=old_group_id)))
        else:
            _renumber(top_level_items(organization))
    AuditEntry.record(
        organization,
        actor=actor,
        action="component.update",
        target=component,
        data={"changed": sorted(changed)},
    )
    bump_content_version(organization)
    return component


@transaction.atomic
def delete_component(component: Component, *, actor: Actor) -> None:
    """Delete a component with its history and uptime rows."""
    actor.require("components.edit", component.organization)
    organization = component.organization
    group = component.group
    AuditEntry.record(organization, actor=actor, action="component.delete", target=component)
    component.delete()
    _renumber(list(group.components.all()) if group else top_level_items(organization))
    bump_content_version(organization)


@transaction.atomic
def reorder(
    organization: Organization, *, actor: Actor, items: Sequence[Mapping[str, str | None]]
) -> None:
    """Set display order, and move components between groups, in one step.

    `items` lists groups and components in the wanted display order, each as
    `{"type": "group", "id": <public id>}` or
    `{"type": "component", "id": <public id>, "group": <group public id or None>}`.
    Positions are given per parent (top level, where groups and ungrouped components share one
    sequence, or inside a group), 1-based. Items left out keep their parent and follow the listed
    ones in their current order, so a caller may send just one parent's children.
    ValidationError (nothing written) for unknown ids, a group inside a group, or duplicates.
    """
    actor.require("components.edit", organization)
    groups = {g.public_id: g for g in ComponentGroup.objects.for_org(organization)}
    components = {c.public_id: c for c in Component.objects.for_org(organization)}
    seen: set[str] = set()
    listed: dict[str | None, list[ComponentGroup | Component]] = {}
    new_parent: dict[int, ComponentGroup | None] = {}
    for item in items:
        kind, public_id = item.get("type"), item.get("id") or ""
        if public_id in seen:
            raise ValidationError(f"{public_id} is listed twice.", code="duplicate")
        seen.add(public_id)
        if kind == "group":
            if item.get("group"):
                raise ValidationError("A group cannot be inside another group.", code="depth")
            if public_id not in groups:
                raise ValidationError("No such group.", code="not_found")
            listed.setdefault(None, []).append(groups[public_id])
        elif kind == "component":
            if public_id not in components:
                raise ValidationError("No such component.", code="not_found")
            parent_id = item.get("group") or None
            if parent_id is not None and parent_id not in groups:
                raise ValidationError("No such group.", code="not_found")
            component = components[public_id]
            new_parent[component.pk] = groups[parent_id] if parent_id else None
            listed.setdefault(parent_id, []).append(component)
        else:
            raise ValidationError(f"Unknown item type {kind!r}.", code="invalid")

    def current_children(parent_id: str | None) -> list[ComponentGroup | Component]:
        if parent_id is None:
            return top_level_items(organization)
        return sorted(
            (c for c in components.values() if c.group_id == groups[parent_id].pk),
            key=lambda c: (c.position, c.created_at, c.pk),
        )

    moved: list[Component] = []
    for component in components.values():
        if component.pk in new_parent and new_parent[component.pk] != component.group:
            component.group = new_parent[component.pk]
            moved.append(component)
    for parent_id in {*listed, *(g.public_id for g in groups.values())} | {None}:
        order = list(listed.get(parent_id, []))
        parent = groups[parent_id] if parent_id else None
        for child in current_children(parent_id):
            stays = not isinstance(child, Component) or new_parent.get(child.pk, parent) == parent
            if child not in order and stays:
                order.append(child)
        _renumber(order)
    if moved:
        Component.objects.bulk_update(moved, ["group"])
    AuditEntry.record(
        organization, actor=actor, action="components.reorder", data={"items": len(items)}
    )
    bump_content_version(organization)


def move(
    organization: Organization,
    *,
    actor: Actor,
    item: ComponentGroup | Component,
    direction: str,
) -> bool:
    """Swap an item with its previous ("up") or next ("down") sibling. False at either end."""
    actor.require("components.edit", organization)
    if item.organization_id != organization.pk:
        raise ValidationError("No such item.", code="wrong_org")
    if isinstance(item, Component) and item.group_id:
        siblings: list[ComponentGroup | Component] = list(
            Component.objects.filter(group_id=item.group_id).order_by("position", "created_at")
        )
    else:
        siblings = top_level_items(organization)
    index = next(i for i, s in enumerate(siblings) if type(s) is type(item) and s.pk == item.pk)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(siblings):
        return False
    siblings[index], siblings[other] = siblings[other], siblings[index]
    reorder(
        organization,
        actor=actor,
        items=[
            {
                "type": "group" if isinstance(s, ComponentGroup) else "component",
                "id": s.public_id,
                "group": s.group.public_id if isinstance(s, Component) and s.group else None,
            }
            for s in siblings
        ],
    )
    return True


# --- branding --------------------------------------------------------------------------------

# Pillow format -> file extension. No SVG, ever: an SVG is a document that can carry script.
LOGO_FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}
FAVICON_FORMATS = {**LOGO_FORMATS, "ICO": "ico"}


@dataclass(frozen=True)
class ImageRules:
    label: str
    formats: Mapping[str, str]
    max_bytes: int
    max_side: int
    min_side: int = 16


LOGO_RULES = ImageRules("Logo", LOGO_FORMATS, max_bytes=1024 * 1024, max_side=4000)
FAVICON_RULES = ImageRules("Favicon", FAVICON_FORMATS, max_bytes=256 * 1024, max_side=512)


def validate_branding_image(upload: File, rules: ImageRules) -> str:
    """Prove an upload is an acceptable image by decoding it; returns the file extension to use.

    Raises ValidationError with a message for the person uploading. Checks, cheapest first:
    size, then the format Pillow detects from the bytes (never the name or the browser's
    content type), then dimensions from the header (before decoding, so a decompression bomb
    is refused unread), then a full decode.
    """
    allowed = ", ".join(name if name != "WEBP" else "WebP" for name in rules.formats)
    if upload.size is not None and upload.size > rules.max_bytes:
        raise ValidationError(
            f"{rules.label} is too large ({upload.size // 1024} KB); "
            f"the limit is {rules.max_bytes // 1024} KB.",
            code="too_large",
        )
    upload.seek(0)
    head = upload.read(512).lstrip()
    upload.seek(0)
    name = (getattr(upload, "name", "") or "").lower()
    if name.endswith((".svg", ".svgz")) or head.startswith((b"<?xml", b"<svg", b"<!DOCTYPE")):
        raise ValidationError(
            f"SVG images are not accepted because they can contain scripts. Use {allowed}.",
            code="svg",
        )
    not_an_image = ValidationError(
        f"{rules.label} is not an image we can read. Use {allowed}.", code="invalid_image"
    )
    try:
        with Image.open(upload) as image:
            image_format = image.format
            width, height = image.size
            if image_format is None or image_format not in rules.formats:
                raise ValidationError(
                    f"{rules.label} must be {allowed} (this file is {image_format}).",
                    code="format",
                )
            if not (rules.min_side <= width <= rules.max_side) or not (
                rules.min_side <= height <= rules.max_side
            ):
                raise ValidationError(
                    f"{rules.label} is {width} by {height} pixels; use between "
                    f"{rules.min_side} and {rules.max_side} pixels on each side.",
                    code="dimensions",
                )
            image.verify()
        # verify() leaves the image unusable; decode a fresh copy to catch truncated data.
        upload.seek(0)
        with Image.open(upload) as image:
            image.load()
    except ValidationError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise not_an_image from exc
    finally:
        upload.seek(0)
    return rules.formats[image_format]


def _store_image(organization: Organization, field_name: str, upload: File, ext: str) -> None:
    field = getattr(organization, field_name)
    old_name = field.name
    # A fresh random name: the uploader's file name is not kept, and caches see a new URL.
    field.save(f"{organization.public_id}-{new_public_id()}.{ext}", upload, save=False)
    if old_name:
        storage = field.storage
        transaction.on_commit(lambda: storage.delete(old_name))


def _drop_image(organization: Organization, field_name: str) -> None:
    field = getattr(organization, field_name)
    if field.name:
        old_name, storage = field.name, field.storage
        setattr(organization, field_name, "")
        transaction.on_commit(lambda: storage.delete(old_name))


@transaction.atomic
def update_branding(
    organization: Organization,
    *,
    actor: Actor,
    accent_color: str,
    website_url: str = "",
    support_url: str = "",
    footer_text: str = "",
    logo: File | None = None,
    favicon: File | None = None,
    remove_logo: bool = False,
    remove_favicon: bool = False,
) -> Organization:
    """Update the public page's branding. Images are validated again here (callers other than
    the dashboard form may exist); ValidationError before anything is stored."""
    actor.require("branding.edit", organization)
    color_validator(accent_color)
    for url in (website_url, support_url):
        if url:
            URLValidator(schemes=["http", "https"])(url)
    logo_ext = validate_branding_image(logo, LOGO_RULES) if logo else None
    favicon_ext = validate_branding_image(favicon, FAVICON_RULES) if favicon else None

    organization.accent_color = accent_color
    organization.website_url = website_url
    organization.support_url = support_url
    organization.footer_text = footer_text.strip()
    if logo is not None and logo_ext:
        _store_image(organization, "logo", logo, logo_ext)
    elif remove_logo:
        _drop_image(organization, "logo")
    if favicon is not None and favicon_ext:
        _store_image(organization, "favicon", favicon, favicon_ext)
    elif remove_favicon:
        _drop_image(organization, "favicon")
    organization.save(
        update_fields=[
            "accent_color",
            "website_url",
            "support_url",
            "footer_text",
            "logo",
            "favicon",
            "updated_at",
        ]
    )
    AuditEntry.record(
        organization,
        actor=actor,
        action="branding.update",
        target=organization,
        data={
            "logo_changed": bool(logo or remove_logo),
            "favicon_changed": bool(favicon or remove_favicon),
        },
    )
    bump_content_version(organization)
    return organization
