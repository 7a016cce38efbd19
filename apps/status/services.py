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

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.organizations.models import AuditEntry, Organization
from apps.organizations.services import bump_content_version

from .models import (
    SECONDS_FIELD,
    SEVERITY,
    Component,
    ComponentStatus,
    ComponentStatusChange,
    UptimeDay,
)

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from apps.accounts.models import User
    from apps.incidents.models import Incident

    Actor = User | str | None


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


def _actor_label(actor: Actor) -> tuple[User | None, str]:
    if actor is None or isinstance(actor, str):
        return None, actor or "system"
    return actor, actor.email


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
    bumps the public page's content version and, with notify, writes a
    COMPONENT_STATUS_CHANGED NotificationEvent in the same transaction.

    `at` defaults to now. It cannot go back before the component's previous change: an earlier
    `at` is moved up to it, so history stays ordered and no second is counted twice.
    """
    _validate_status(status)
    if incident is not None and incident.organization_id != component.organization_id:
        raise ValidationError("The incident belongs to another organization.", code="wrong_org")
    # Lock and re-read: two editors (or an editor and an alert webhook) changing the same
    # component at once must not both account the same seconds.
    locked = (
        Component.objects.select_for_update().select_related("organization").get(pk=component.pk)
    )
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

    user, label = _actor_label(actor)
    change = ComponentStatusChange.objects.create(
        organization=organization,
        component=locked,
        from_status=old_status,
        to_status=status,
        changed_at=at,
        actor=user,
        actor_label=label,
        incident=incident,
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
    if notify and apps.is_installed("apps.notifications"):
        from apps.notifications.models import NotificationEvent

        NotificationEvent.objects.create(
            organization=organization,
            kind=NotificationEvent.Kind.COMPONENT_STATUS_CHANGED,
            component=locked,
            incident=incident,
            component_ids=[locked.public_id],
            data={"old_status": old_status, "new_status": status},
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
