"""Scheduled maintenance: schedule, start, verify, complete, cancel, extend, messages, reminders.

Cancelled maintenance: there is no "cancelled" status in the status API, so a cancelled
maintenance is `completed`, with a last update saying it was cancelled, `resolved_at` set to the
cancel time, and a MAINTENANCE_CANCELLED event (not MAINTENANCE_COMPLETED). `was_cancelled()`
tells the two apart (a cancelled maintenance never reached in_progress/verifying).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.locking import lock_again
from apps.organizations.models import AuditEntry, Organization
from apps.organizations.principals import System
from apps.status.models import Component, ComponentStatus

from .. import texts
from ..models import (
    ACTIVE_MAINTENANCE,
    Impact,
    Incident,
    IncidentUpdate,
    Kind,
    MaintenanceStatus,
)
from ._common import (
    EventKind,
    _check_components,
    _claim_status,
    _require_text,
    emit,
)
from ._steps import record_step

if TYPE_CHECKING:
    from ._common import Actor


# The status moves post_maintenance_update makes for a posted status (besides staying put).
MAINTENANCE_MOVES: dict[str, tuple[str, ...]] = {
    MaintenanceStatus.SCHEDULED: (MaintenanceStatus.IN_PROGRESS,),
    MaintenanceStatus.IN_PROGRESS: (MaintenanceStatus.VERIFYING, MaintenanceStatus.COMPLETED),
    MaintenanceStatus.VERIFYING: (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.COMPLETED),
}
# Reminders go out at most a week ahead; the beat task looks this far ahead for them.
MAX_REMINDER_HOURS = 168


@dataclass(frozen=True)
class _Move:
    """One maintenance move: where it may start from, where it goes, how it is recorded, and
    what a refusal says (the API answers it as the 400's detail)."""

    from_statuses: tuple[str, ...]
    to_status: str
    event_kind: str
    audit_action: str
    problem: str


_START = _Move(
    (MaintenanceStatus.SCHEDULED,),
    MaintenanceStatus.IN_PROGRESS,
    EventKind.MAINTENANCE_STARTED,
    "maintenance.start",
    "Only a scheduled maintenance can be started.",
)
_VERIFY = _Move(
    (MaintenanceStatus.IN_PROGRESS,),
    MaintenanceStatus.VERIFYING,
    EventKind.MAINTENANCE_UPDATED,
    "maintenance.verify",
    "Only a maintenance in progress can move to verifying.",
)
_COMPLETE = _Move(
    ACTIVE_MAINTENANCE,
    MaintenanceStatus.COMPLETED,
    EventKind.MAINTENANCE_COMPLETED,
    "maintenance.complete",
    "Only a maintenance in progress or verifying can be completed; "
    "cancel a maintenance that has not started.",
)
_CANCEL = _Move(
    (MaintenanceStatus.SCHEDULED,),
    MaintenanceStatus.COMPLETED,
    EventKind.MAINTENANCE_CANCELLED,
    "maintenance.cancel",
    "Only a maintenance that has not started can be cancelled; complete it instead.",
)
# Verification found a problem: the work continues, an update rather than a second start.
_BACK_TO_IN_PROGRESS = _Move(
    (MaintenanceStatus.VERIFYING,),
    MaintenanceStatus.IN_PROGRESS,
    EventKind.MAINTENANCE_UPDATED,
    "maintenance.update",
    "Only a maintenance being verified can go back to in progress.",
)


def _notify_default(incident: Incident) -> bool:
    """Automatic and follow-up events notify only if the maintenance was announced with
    notifications (the first update records the staff's choice)."""
    first = incident.updates.order_by("created_at", "id").first()
    return first.deliver_notifications if first else True


def was_cancelled(incident: Incident) -> bool:
    """A completed maintenance that never started was cancelled (see the module docstring)."""
    return (
        incident.is_maintenance
        and incident.status == MaintenanceStatus.COMPLETED
        and not incident.updates.filter(status__in=ACTIVE_MAINTENANCE).exists()
    )


def _maintenance_for_update(incident: Incident) -> Incident:
    """The maintenance, locked, so steps on one maintenance run one at a time; an incident
    is refused."""
    incident = lock_again(Incident.objects, pk=incident.pk)
    if not incident.is_maintenance:
        raise ValidationError(
            _("This is an incident, not a scheduled maintenance."), code="wrong_kind"
        )
    return incident


def _maintenance_step(
    incident: Incident,
    move: _Move,
    *,
    actor: Actor,
    body: str | None,
    deliver_notifications: bool | None,
    components: Mapping[Component, str] | None = None,
    at: datetime | None = None,
) -> IncidentUpdate:
    """Make `move` (from one of its from_statuses to its to_status) and record it.

    The move is a conditional UPDATE (_claim_status), so a beat run and a person never both
    make it; `deliver_notifications=None` follows the choice made when it was announced."""
    incident = _maintenance_for_update(incident)
    if incident.status not in move.from_statuses:
        raise ValidationError(move.problem, code="invalid_transition")
    body = _require_text(body or texts.default_update_text(move.to_status), "message")
    now = at or timezone.now()
    deliver = _notify_default(incident) if deliver_notifications is None else deliver_notifications
    _claim_status(incident, move.to_status, now)
    if move.to_status == MaintenanceStatus.COMPLETED:
        incident.resolved_at = now
    incident.next_update_due = None
    return record_step(
        incident,
        actor=actor,
        status=move.to_status,
        body=body,
        at=now,
        deliver=deliver,
        audit_action=move.audit_action,
        event_kind=move.event_kind,
        components=components,
        # status and updated_at were written by the conditional UPDATE of _claim_status.
        save_fields=("resolved_at", "next_update_due"),
    )


@transaction.atomic
def schedule_maintenance(
    organization: Organization,
    *,
    actor: Actor,
    name: str,
    body: str,
    scheduled_for: datetime,
    scheduled_until: datetime,
    components: Iterable[Component],
    auto_start: bool = True,
    auto_complete: bool = True,
    reminder_hours: int | None = None,
    deliver_notifications: bool = True,
) -> Incident:
    """Announce a maintenance window. Its components are linked but keep their status until
    it starts (by hand, or at scheduled_for with auto_start)."""
    actor.require("incidents.edit", organization)
    components = list(components)
    name = _require_text(name, "maintenance name")
    body = _require_text(body or texts.default_update_text(MaintenanceStatus.SCHEDULED), "message")
    if timezone.is_naive(scheduled_for) or timezone.is_naive(scheduled_until):
        raise ValidationError(_("Maintenance times need a timezone."), code="naive")
    if scheduled_until <= scheduled_for:
        raise ValidationError(
            _("The maintenance must end after it starts."), code="end_before_start"
        )
    now = timezone.now()
    if scheduled_until <= now:
        raise ValidationError(_("This maintenance window has already ended."), code="past")
    if reminder_hours is not None and not 1 <= reminder_hours <= MAX_REMINDER_HOURS:
        raise ValidationError(
            _("Send the reminder between 1 and %(max)s hours before the start.")
            % {"max": MAX_REMINDER_HOURS},
            code="reminder_hours",
        )
    _check_components(organization, {c: ComponentStatus.UNDER_MAINTENANCE for c in components})

    incident = Incident.objects.create(
        organization=organization,
        kind=Kind.MAINTENANCE,
        name=name,
        status=MaintenanceStatus.SCHEDULED,
        impact=Impact.MAINTENANCE,
        created_at=now,
        updated_at=now,
        started_at=now,
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        auto_start=auto_start,
        auto_complete=auto_complete,
        reminder_hours=reminder_hours,
        created_by=actor.audit_user,
    )
    # Linked, not yet set: the components go under maintenance when it starts.
    incident.components.add(*components)
    record_step(
        incident,
        actor=actor,
        status=MaintenanceStatus.SCHEDULED,
        body=body,
        at=now,
        deliver=deliver_notifications,
        audit_action="maintenance.schedule",
        event_kind=EventKind.MAINTENANCE_SCHEDULED,
    )
    return incident


@transaction.atomic
def start_maintenance(
    incident: Incident,
    *,
    actor: Actor,
    body: str | None = None,
    deliver_notifications: bool | None = None,
    at: datetime | None = None,
) -> IncidentUpdate:
    """Start now (or at `at`, for the beat task): components go under maintenance."""
    actor.require("incidents.edit", incident.organization)
    components = {c: ComponentStatus.UNDER_MAINTENANCE for c in incident.components.all()}
    return _maintenance_step(
        incident,
        _START,
        actor=actor,
        body=body,
        deliver_notifications=deliver_notifications,
        components=components,
        at=at,
    )


@transaction.atomic
def mark_verifying(
    incident: Incident,
    *,
    actor: Actor,
    body: str | None = None,
    deliver_notifications: bool | None = None,
) -> IncidentUpdate:
    """The work is done and being checked; components stay under maintenance until it
    completes."""
    actor.require("incidents.edit", incident.organization)
    return _maintenance_step(
        incident, _VERIFY, actor=actor, body=body, deliver_notifications=deliver_notifications
    )


@transaction.atomic
def complete_maintenance(
    incident: Incident,
    *,
    actor: Actor,
    body: str | None = None,
    deliver_notifications: bool | None = None,
    at: datetime | None = None,
) -> IncidentUpdate:
    """Complete; components still under maintenance go back to operational.

    Components that something else has since marked degraded or down are left alone.
    """
    actor.require("incidents.edit", incident.organization)
    components = {
        c: ComponentStatus.OPERATIONAL
        for c in incident.components.filter(status=ComponentStatus.UNDER_MAINTENANCE)
    }
    return _maintenance_step(
        incident,
        _COMPLETE,
        actor=actor,
        body=body,
        deliver_notifications=deliver_notifications,
        components=components,
        at=at,
    )


@transaction.atomic
def cancel_maintenance(
    incident: Incident,
    *,
    actor: Actor,
    body: str | None = None,
    deliver_notifications: bool | None = None,
) -> IncidentUpdate:
    """Cancel a maintenance that has not started (see the module docstring for the shape)."""
    actor.require("incidents.edit", incident.organization)
    return _maintenance_step(
        incident,
        _CANCEL,
        actor=actor,
        body=body or texts.CANCELLED_TEXT,
        deliver_notifications=deliver_notifications,
    )


@transaction.atomic
def extend_maintenance(
    incident: Incident,
    *,
    actor: Actor,
    new_until: datetime,
    body: str | None = None,
    deliver_notifications: bool | None = None,
) -> IncidentUpdate:
    """Move the end later and say so in an update. The status is kept, so a started
    maintenance keeps its components under maintenance."""
    actor.require("incidents.edit", incident.organization)
    incident = _maintenance_for_update(incident)
    if incident.status not in (MaintenanceStatus.SCHEDULED, *ACTIVE_MAINTENANCE):
        raise ValidationError(_("A completed maintenance cannot be extended."), code="completed")
    if timezone.is_naive(new_until):
        raise ValidationError(_("Maintenance times need a timezone."), code="naive")
    old_until = incident.scheduled_until
    if old_until is None:  # schedule_maintenance always sets the end: a missing one is a bug
        raise TypeError(f"Maintenance {incident.public_id} has no scheduled end.")
    if new_until <= old_until:
        raise ValidationError(
            _("The new end must be later than the current end."), code="not_later"
        )
    now = timezone.now()
    org = incident.organization
    body = _require_text(
        body or texts.extended_text(timezone.localtime(new_until, org.tzinfo), org.timezone),
        "message",
    )
    deliver = _notify_default(incident) if deliver_notifications is None else deliver_notifications
    incident.scheduled_until = new_until
    incident.updated_at = now
    return record_step(
        incident,
        actor=actor,
        status=incident.status,
        body=body,
        at=now,
        deliver=deliver,
        audit_action="maintenance.extend",
        audit_data={"from": old_until.isoformat(), "to": new_until.isoformat()},
        event_kind=EventKind.MAINTENANCE_UPDATED,
        save_fields=("scheduled_until", "updated_at"),
    )


@transaction.atomic
def post_maintenance_update(
    incident: Incident,
    *,
    actor: Actor,
    body: str,
    status: str | None = None,
    deliver_notifications: bool = True,
) -> IncidentUpdate:
    """A message on an open maintenance, or a status move with the message as its text.

    The one place that decides what a posted maintenance status means (the dashboard, the
    API's updates route and post_update all come here): no status, or the current one, posts a
    message and keeps the status; another status runs the matching action, so components and
    events follow the same rules as the action routes. The decision reads the locked row, so a
    move made by someone else a moment ago is seen.
    """
    actor.require("incidents.edit", incident.organization)
    incident = _maintenance_for_update(incident)
    if status is not None and status not in MaintenanceStatus.values:
        raise ValidationError(
            _(
                "“%(status)s” is an incident status; maintenances use scheduled, in progress, "
                "verifying or completed."
            )
            % {"status": status},
            code="wrong_kind_status",
        )
    if incident.status == MaintenanceStatus.COMPLETED:
        raise ValidationError(
            _("This maintenance is over; it cannot take more updates."), code="completed"
        )
    if status is None or status == incident.status:
        return _post_maintenance_message(
            incident, actor=actor, body=body, deliver_notifications=deliver_notifications
        )
    return _move_maintenance(
        incident,
        actor=actor,
        status=status,
        body=body,
        deliver_notifications=deliver_notifications,
    )


def _post_maintenance_message(
    incident: Incident, *, actor: Actor, body: str, deliver_notifications: bool
) -> IncidentUpdate:
    """A message that keeps the (locked, open) maintenance's status."""
    body = _require_text(body, "message")
    incident.updated_at = timezone.now()
    return record_step(
        incident,
        actor=actor,
        status=incident.status,
        body=body,
        at=incident.updated_at,
        deliver=deliver_notifications,
        audit_action="maintenance.update",
        event_kind=EventKind.MAINTENANCE_UPDATED,
        save_fields=("updated_at",),
    )


def _move_maintenance(
    incident: Incident, *, actor: Actor, status: str, body: str, deliver_notifications: bool
) -> IncidentUpdate:
    """Run the action that moves the (locked, open) maintenance to `status`, or refuse a move
    that MAINTENANCE_MOVES does not allow."""
    if status not in MAINTENANCE_MOVES.get(incident.status, ()):
        raise ValidationError(
            # Translators: both are maintenance statuses in lower case ("scheduled").
            _("A maintenance cannot go from %(old)s to %(new)s.")
            % {
                "old": incident.get_status_display().lower(),
                "new": MaintenanceStatus(status).label.lower(),
            },
            code="invalid_transition",
        )
    if status == MaintenanceStatus.IN_PROGRESS and incident.status == MaintenanceStatus.VERIFYING:
        return _maintenance_step(
            incident,
            _BACK_TO_IN_PROGRESS,
            actor=actor,
            body=body,
            deliver_notifications=deliver_notifications,
        )
    action = {
        MaintenanceStatus.IN_PROGRESS: start_maintenance,
        MaintenanceStatus.VERIFYING: mark_verifying,
        MaintenanceStatus.COMPLETED: complete_maintenance,
    }[MaintenanceStatus(status)]  # a member: MAINTENANCE_MOVES allowed it above
    return action(incident, actor=actor, body=body, deliver_notifications=deliver_notifications)


@transaction.atomic
def send_maintenance_reminder(incident: Incident, *, at: datetime) -> bool:
    """Write the reminder event once; False when another run already sent it."""
    claimed = Incident.objects.filter(
        pk=incident.pk,
        kind=Kind.MAINTENANCE,
        status=MaintenanceStatus.SCHEDULED,
        reminder_sent_at__isnull=True,
    ).update(reminder_sent_at=at)
    if claimed != 1:
        return False
    incident.reminder_sent_at = at
    emit(
        EventKind.MAINTENANCE_REMINDER,
        incident,
        deliver=_notify_default(incident),
        data={"body": texts.reminder_text(incident.reminder_hours or 1)},
    )
    AuditEntry.record(
        incident.organization,
        actor=System("system"),
        action="maintenance.reminder",
        target=incident,
    )
    return True
