"""Every write to incidents, maintenances, their updates and templates goes through here.

Each staff action runs in one transaction and writes, together: the change, an AuditEntry, an
outbox NotificationEvent when subscribers may care (the delivery pipeline reads those rows), and
a content-version bump on commit so the cached public page is rendered again. Invalid requests
raise django.core.exceptions.ValidationError before anything is written.

Impact rule: unless staff chose one (impact_override), an incident's impact is the *peak* of
the component statuses set during the incident (major_outage → critical, partial_outage → major,
degraded_performance → minor). It is never lowered automatically: resolving an outage puts the
components back to operational, and the history must still say how bad it was. Staff can
override it when a status was set by mistake.

Cancelled maintenance: there is no "cancelled" status in the status API, so a cancelled
maintenance is `completed`, with a last update saying it was cancelled, `resolved_at` set to the
cancel time, and a MAINTENANCE_CANCELLED event (not MAINTENANCE_COMPLETED). `was_cancelled()`
tells the two apart (a cancelled maintenance never reached in_progress/verifying).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.notifications.models import NotificationEvent
from apps.organizations.models import AuditEntry, Membership, Organization
from apps.organizations.services import bump_content_version
from apps.status.models import Component, ComponentStatus
from apps.status.services import set_component_statuses

from . import texts
from .models import (
    ACTIVE_MAINTENANCE,
    UNRESOLVED_INCIDENT,
    ActionItem,
    Impact,
    Incident,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    IncidentUpdateRevision,
    Kind,
    MaintenanceStatus,
    Postmortem,
)

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.integrations.models import ApiKey

    Actor = User | str | None

EventKind = NotificationEvent.Kind

IMPACT_FOR_COMPONENT_STATUS: dict[str, str] = {
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
}
IMPACT_RANK = {Impact.NONE: 0, Impact.MINOR: 1, Impact.MAJOR: 2, Impact.CRITICAL: 3}
INCIDENT_IMPACTS = (Impact.NONE, Impact.MINOR, Impact.MAJOR, Impact.CRITICAL)
# Maintenance status moves staff may make with post_update (besides staying put).
MAINTENANCE_MOVES: dict[str, tuple[str, ...]] = {
    MaintenanceStatus.SCHEDULED: (MaintenanceStatus.IN_PROGRESS,),
    MaintenanceStatus.IN_PROGRESS: (MaintenanceStatus.VERIFYING, MaintenanceStatus.COMPLETED),
    MaintenanceStatus.VERIFYING: (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.COMPLETED),
}
MAX_REMINDER_HOURS = 168


# --- helpers -------------------------------------------------------------------------------


def impact_for_statuses(statuses: Iterable[str]) -> str:
    """Impact implied by component statuses (the status API reference §1.5 mapping)."""
    impacts = [IMPACT_FOR_COMPONENT_STATUS.get(s, Impact.NONE) for s in statuses]
    return max(impacts, key=IMPACT_RANK.__getitem__, default=Impact.NONE)


def emit(
    kind: str,
    incident: Incident,
    update: IncidentUpdate | None = None,
    *,
    deliver: bool = True,
    data: dict | None = None,
) -> NotificationEvent:
    """Write the outbox row for a notifiable change (call inside the change's transaction).

    component_ids lists the incident's affected components so subscribers to only some
    components are matched; the delivery pipeline reads the row after commit.
    """
    component_ids = list(
        incident.components.order_by("position", "id").values_list("public_id", flat=True)
    )
    return NotificationEvent.objects.create(
        organization=incident.organization,
        kind=kind,
        incident=incident,
        update=update,
        component_ids=component_ids,
        data=data or {},
        deliver=deliver,
    )


def _require_text(value: str | None, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(f"The {what} cannot be empty.", code="required")
    return value


def _check_components(organization: Organization, components: Mapping[Component, str]) -> None:
    """SECURITY: a component of another organization is refused before anything is written."""
    for component, status in components.items():
        if component.organization_id != organization.pk:
            # Same words for "missing" and "not yours".
            raise ValidationError("Unknown component.", code="unknown_component")
        if status not in ComponentStatus.values:
            raise ValidationError(
                f"“{status}” is not a component status for {component.name}.",
                code="invalid_component_status",
            )


def _check_incident_status(status: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if status in MaintenanceStatus.values:
        raise ValidationError(
            f"“{status}” is a maintenance status; incidents use investigating, identified, "
            "monitoring or resolved.",
            code="wrong_kind_status",
        )
    if status not in allowed:
        raise ValidationError(
            f"“{status}” is not allowed here; use one of: {', '.join(allowed)}.",
            code="invalid_status",
        )


def _apply_components(
    incident: Incident,
    components: Mapping[Component, str],
    *,
    actor: Actor,
    at: datetime,
    notify: bool,
) -> list[dict] | None:
    """Set component statuses for this incident; return the update's affected_components.

    With notify, the status engine also writes its COMPONENT_STATUS_CHANGED events (component
    subscribers and webhooks expect them, as Statuspage sends them); "don't notify" silences
    both those and the incident's own event.
    """
    if not components:
        return None

    # Read the current statuses from the database: the objects passed in may be stale.
    current = dict(
        Component.objects.filter(pk__in=[c.pk for c in components]).values_list("pk", "status")
    )
    affected = [
        {
            "code": component.public_id,
            "name": component.display_name,
            "old_status": current[component.pk],
            "new_status": new_status,
        }
        for component, new_status in components.items()
    ]
    changes = {c: s for c, s in components.items() if current[c.pk] != s}
    if changes:
        set_component_statuses(
            incident.organization, changes, actor=actor, incident=incident, at=at, notify=notify
        )
    incident.components.add(*components.keys())
    return affected


def _add_update(
    incident: Incident,
    *,
    actor: Actor,
    status: str,
    body: str,
    at: datetime,
    display_at: datetime | None = None,
    deliver_notifications: bool = True,
    next_update_due: datetime | None = None,
    affected_components: list[dict] | None = None,
) -> IncidentUpdate:
    return IncidentUpdate.objects.create(
        organization=incident.organization,
        incident=incident,
        status=status,
        body=body,
        created_at=at,
        updated_at=at,
        display_at=display_at or at,
        deliver_notifications=deliver_notifications,
        next_update_due=next_update_due,
        affected_components=affected_components,
        created_by=actor if _is_user(actor) else None,
    )


def _is_user(actor: Actor) -> bool:
    return actor is not None and not isinstance(actor, str)


def _raise_impact(incident: Incident, components: Mapping[Component, str]) -> None:
    if incident.impact_override or not components:
        return
    peak = impact_for_statuses(components.values())
    if IMPACT_RANK.get(peak, 0) > IMPACT_RANK.get(incident.impact, 0):
        incident.impact = peak


def _claim_status(incident: Incident, new_status: str, at: datetime) -> None:
    """Move the row from the status we read to new_status, or fail if someone else moved it.

    A conditional UPDATE, so two beat runs (or a beat run and a person) never both transition
    the same maintenance.
    """
    claimed = Incident.objects.filter(pk=incident.pk, status=incident.status).update(
        status=new_status, updated_at=at
    )
    if claimed != 1:
        raise ValidationError(
            "This was changed by someone else a moment ago. Reload the page and try again.",
            code="conflict",
        )
    incident.status = new_status
    incident.updated_at = at


# --- incidents -----------------------------------------------------------------------------


@transaction.atomic
def open_incident(
    organization: Organization,
    *,
    actor: Actor,
    name: str,
    status: str,
    body: str,
    impact: str | None = None,
    components: Mapping[Component, str] | None = None,
    deliver_notifications: bool = True,
    next_update_due: datetime | None = None,
    template: IncidentTemplate | None = None,
    started_at: datetime | None = None,
) -> Incident:
    components = dict(components or {})
    name = _require_text(name, "incident name")
    body = _require_text(body, "message")
    _check_incident_status(status, UNRESOLVED_INCIDENT)
    if impact is not None and impact not in INCIDENT_IMPACTS:
        raise ValidationError(f"“{impact}” is not an incident impact.", code="invalid_impact")
    _check_components(organization, components)
    if template is not None and template.organization_id != organization.pk:
        raise ValidationError("Unknown template.", code="unknown_template")
    now = timezone.now()
    if started_at is not None and started_at > now:
        raise ValidationError("An incident cannot start in the future.", code="future")
    incident = Incident.objects.create(
        organization=organization,
        kind=Kind.INCIDENT,
        name=name,
        status=status,
        impact=impact if impact is not None else impact_for_statuses(components.values()),
        impact_override=impact is not None,
        created_at=now,
        updated_at=now,
        started_at=started_at or now,
        monitoring_at=now if status == IncidentStatus.MONITORING else None,
        next_update_due=next_update_due,
        created_by=actor if _is_user(actor) else None,
    )
    affected = _apply_components(
        incident, components, actor=actor, at=now, notify=deliver_notifications
    )
    update = _add_update(
        incident,
        actor=actor,
        status=status,
        body=body,
        at=now,
        deliver_notifications=deliver_notifications,
        next_update_due=next_update_due,
        affected_components=affected,
    )
    AuditEntry.record(
        organization,
        actor=actor,
        action="incident.open",
        target=incident,
        data={"template": template.public_id} if template else None,
    )
    emit(EventKind.INCIDENT_OPENED, incident, update, deliver=deliver_notifications)
    bump_content_version(organization)
    return incident


@transaction.atomic
def post_update(
    incident: Incident,
    *,
    actor: Actor,
    status: str,
    body: str,
    components: Mapping[Component, str] | None = None,
    deliver_notifications: bool = True,
    next_update_due: datetime | None = None,
    display_at: datetime | None = None,
) -> IncidentUpdate:
    """Post an update. On a maintenance, a status move runs the matching maintenance action."""
    components = dict(components or {})
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.is_maintenance:
        return _post_maintenance_status(
            incident,
            actor=actor,
            status=status,
            body=body,
            deliver_notifications=deliver_notifications,
        )
    if incident.status not in UNRESOLVED_INCIDENT:
        raise ValidationError(
            "This incident is resolved. Reopen it to post another update.", code="resolved"
        )
    _check_incident_status(status, (*UNRESOLVED_INCIDENT, IncidentStatus.RESOLVED))
    body = _require_text(body, "message")
    _check_components(incident.organization, components)

    now = timezone.now()
    affected = _apply_components(
        incident, components, actor=actor, at=now, notify=deliver_notifications
    )
    _raise_impact(incident, components)
    incident.status = status
    incident.updated_at = now
    incident.next_update_due = None if status == IncidentStatus.RESOLVED else next_update_due
    if status == IncidentStatus.MONITORING and incident.monitoring_at is None:
        incident.monitoring_at = now
    if status == IncidentStatus.RESOLVED:
        incident.resolved_at = now
    incident.save(
        update_fields=[
            "status",
            "impact",
            "updated_at",
            "next_update_due",
            "monitoring_at",
            "resolved_at",
        ]
    )
    update = _add_update(
        incident,
        actor=actor,
        status=status,
        body=body,
        at=now,
        display_at=display_at,
        deliver_notifications=deliver_notifications,
        next_update_due=incident.next_update_due,
        affected_components=affected,
    )
    resolved = status == IncidentStatus.RESOLVED
    AuditEntry.record(
        incident.organization,
        actor=actor,
        action="incident.resolve" if resolved else "incident.update",
        target=incident,
        data={"status": status},
    )
    kind = EventKind.INCIDENT_RESOLVED if resolved else EventKind.INCIDENT_UPDATED
    emit(kind, incident, update, deliver=deliver_notifications)
    bump_content_version(incident.organization)
    return update


@transaction.atomic
def resolve_incident(
    incident: Incident,
    *,
    actor: Actor,
    body: str | None = None,
    components: Mapping[Component, str] | None = None,
    deliver_notifications: bool = True,
) -> IncidentUpdate:
    """Resolve; affected components go back to operational unless `components` says otherwise."""
    if incident.is_maintenance:
        raise ValidationError(
            "A scheduled maintenance is completed, not resolved.", code="wrong_kind"
        )
    if components is None:
        # A component that an active maintenance put under maintenance stays there: ending
        # this incident does not end that maintenance.
        in_maintenance = set(
            Incident.objects.for_org(incident.organization)
            .maintenances()
            .filter(status__in=ACTIVE_MAINTENANCE)
            .values_list("components", flat=True)
        )
        components = {
            c: ComponentStatus.OPERATIONAL
            for c in incident.components.all()
            if c.status != ComponentStatus.OPERATIONAL
            and not (c.status == ComponentStatus.UNDER_MAINTENANCE and c.pk in in_maintenance)
        }
    return post_update(
        incident,
        actor=actor,
        status=IncidentStatus.RESOLVED,
        body=body or texts.default_update_text(IncidentStatus.RESOLVED),
        components=components,
        deliver_notifications=deliver_notifications,
    )


@transaction.atomic
def reopen_incident(
    incident: Incident,
    *,
    actor: Actor,
    body: str | None = None,
    status: str = IncidentStatus.INVESTIGATING,
    components: Mapping[Component, str] | None = None,
    deliver_notifications: bool = True,
) -> IncidentUpdate:
    components = dict(components or {})
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.is_maintenance:
        raise ValidationError("A scheduled maintenance cannot be reopened.", code="wrong_kind")
    if incident.status in UNRESOLVED_INCIDENT:
        raise ValidationError("This incident is not resolved, so it cannot be reopened.")
    _check_incident_status(status, UNRESOLVED_INCIDENT)
    body = _require_text(body or texts.REOPENED_TEXT, "message")
    _check_components(incident.organization, components)

    now = timezone.now()
    affected = _apply_components(
        incident, components, actor=actor, at=now, notify=deliver_notifications
    )
    _raise_impact(incident, components)
    incident.status = status
    incident.resolved_at = None
    incident.updated_at = now
    if status == IncidentStatus.MONITORING and incident.monitoring_at is None:
        incident.monitoring_at = now
    incident.save(update_fields=["status", "impact", "resolved_at", "updated_at", "monitoring_at"])
    # A postmortem tells a finished story: when the problem comes back, a published one goes
    # back to draft (its text is kept) and can be published again once the incident is resolved.
    unpublished = Postmortem.objects.filter(incident=incident, published_at__isnull=False).update(
        published_at=None, updated_at=now
    )
    update = _add_update(
        incident,
        actor=actor,
        status=status,
        body=body,
        at=now,
        deliver_notifications=deliver_notifications,
        affected_components=affected,
    )
    AuditEntry.record(
        incident.organization,
        actor=actor,
        action="incident.reopen",
        target=incident,
        data={"postmortem_unpublished": True} if unpublished else None,
    )
    emit(
        EventKind.INCIDENT_UPDATED,
        incident,
        update,
        deliver=deliver_notifications,
        data={"reopened": True},
    )
    bump_content_version(incident.organization)
    return update


@transaction.atomic
def edit_update(update: IncidentUpdate, *, actor: Actor, body: str) -> IncidentUpdate:
    """Correct an update's text; the old text is kept as a revision. Nobody is re-notified."""
    body = _require_text(body, "message")
    update = IncidentUpdate.objects.select_for_update().get(pk=update.pk)
    if body == update.body:
        return update
    now = timezone.now()
    IncidentUpdateRevision.objects.create(
        organization=update.organization,
        update=update,
        body=update.body,
        edited_by=actor if _is_user(actor) else None,
        edited_at=now,
    )
    update.body = body
    update.updated_at = now
    update.save(update_fields=["body", "updated_at"])
    AuditEntry.record(
        update.organization,
        actor=actor,
        action="incident.edit_update",
        target=update.incident,
        data={"update": update.public_id},
    )
    bump_content_version(update.organization)
    return update


@transaction.atomic
def backfill_incident(
    organization: Organization,
    *,
    actor: Actor,
    name: str,
    impact: str,
    components: Iterable[Component],
    updates: list[tuple[str, str, datetime]],
) -> Incident:
    """Record a past incident with its own times. Nobody is notified and component statuses
    (and their history) are left alone: they describe the present, not the past."""
    name = _require_text(name, "incident name")
    components = list(components)
    _check_components(organization, {c: ComponentStatus.OPERATIONAL for c in components})
    if impact not in INCIDENT_IMPACTS:
        raise ValidationError(f"“{impact}” is not an incident impact.", code="invalid_impact")
    if not updates:
        raise ValidationError("A backfilled incident needs at least one update.")
    now = timezone.now()
    ordered = sorted(updates, key=lambda u: u[2])
    for status, body, display_at in ordered:
        _check_incident_status(status, (*UNRESOLVED_INCIDENT, IncidentStatus.RESOLVED))
        _require_text(body, "message")
        if display_at > now:
            raise ValidationError("Backfilled updates must be in the past.", code="future")
    if ordered[-1][0] != IncidentStatus.RESOLVED:
        raise ValidationError(
            "The last update of a backfilled incident must be “resolved”.", code="unresolved"
        )
    if any(status == IncidentStatus.RESOLVED for status, _b, _d in ordered[:-1]):
        raise ValidationError("Only the last backfilled update can be “resolved”.")

    first_at, last_at = ordered[0][2], ordered[-1][2]
    monitoring = [d for s, _b, d in ordered if s == IncidentStatus.MONITORING]
    # created_at is the incident's own start, so history pages place it in the right month;
    # the audit entry keeps when it was actually entered.
    incident = Incident.objects.create(
        organization=organization,
        kind=Kind.INCIDENT,
        name=name,
        status=IncidentStatus.RESOLVED,
        impact=impact,
        impact_override=True,
        created_at=first_at,
        started_at=first_at,
        updated_at=now,
        monitoring_at=monitoring[0] if monitoring else None,
        resolved_at=last_at,
        created_by=actor if _is_user(actor) else None,
    )
    incident.components.add(*components)
    for status, body, display_at in ordered:
        _add_update(
            incident,
            actor=actor,
            status=status,
            body=body.strip(),
            at=now,
            display_at=display_at,
            deliver_notifications=False,
        )
    AuditEntry.record(organization, actor=actor, action="incident.backfill", target=incident)
    bump_content_version(organization)
    return incident


@transaction.atomic
def delete_incident(incident: Incident, *, actor: User) -> None:
    """Delete an incident or maintenance and its timeline (admins and owners only).

    Component statuses are left as they are: deleting the record of an outage does not end it.
    """
    membership = Membership.objects.filter(organization=incident.organization, user=actor).first()
    if membership is None or not membership.can("incidents.delete"):
        raise PermissionDenied("Only admins and owners can delete incidents.")
    organization = incident.organization
    AuditEntry.record(
        organization,
        actor=actor,
        action="maintenance.delete" if incident.is_maintenance else "incident.delete",
        target=incident,
        data={"name": incident.name},
    )
    incident.delete()
    bump_content_version(organization)


# --- scheduled maintenance -----------------------------------------------------------------


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
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if not incident.is_maintenance:
        raise ValidationError(
            "This is an incident, not a scheduled maintenance.", code="wrong_kind"
        )
    return incident


def _maintenance_step(
    incident: Incident,
    *,
    actor: Actor,
    from_statuses: Iterable[str],
    to_status: str,
    body: str | None,
    deliver_notifications: bool | None,
    event_kind: str,
    audit_action: str,
    components: Mapping[Component, str] | None = None,
    at: datetime | None = None,
    problem: str,
) -> IncidentUpdate:
    incident = _maintenance_for_update(incident)
    if incident.status not in tuple(from_statuses):
        raise ValidationError(problem, code="invalid_transition")
    body = _require_text(body or texts.default_update_text(to_status), "message")
    now = at or timezone.now()
    deliver = _notify_default(incident) if deliver_notifications is None else deliver_notifications
    _claim_status(incident, to_status, now)
    affected = _apply_components(incident, components or {}, actor=actor, at=now, notify=deliver)
    if to_status == MaintenanceStatus.COMPLETED:
        incident.resolved_at = now
    incident.next_update_due = None
    incident.save(update_fields=["resolved_at", "next_update_due"])
    update = _add_update(
        incident,
        actor=actor,
        status=to_status,
        body=body,
        at=now,
        deliver_notifications=deliver,
        affected_components=affected,
    )
    AuditEntry.record(incident.organization, actor=actor, action=audit_action, target=incident)
    emit(event_kind, incident, update, deliver=deliver)
    bump_content_version(incident.organization)
    return update


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
    components = list(components)
    name = _require_text(name, "maintenance name")
    body = _require_text(body or texts.default_update_text(MaintenanceStatus.SCHEDULED), "message")
    if timezone.is_naive(scheduled_for) or timezone.is_naive(scheduled_until):
        raise ValidationError("Maintenance times need a timezone.", code="naive")
    if scheduled_until <= scheduled_for:
        raise ValidationError("The maintenance must end after it starts.", code="end_before_start")
    now = timezone.now()
    if scheduled_until <= now:
        raise ValidationError("This maintenance window has already ended.", code="past")
    if reminder_hours is not None and not 1 <= reminder_hours <= MAX_REMINDER_HOURS:
        raise ValidationError(
            f"Send the reminder between 1 and {MAX_REMINDER_HOURS} hours before the start.",
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
        created_by=actor if _is_user(actor) else None,
    )
    incident.components.add(*components)
    update = _add_update(
        incident,
        actor=actor,
        status=MaintenanceStatus.SCHEDULED,
        body=body,
        at=now,
        deliver_notifications=deliver_notifications,
    )
    AuditEntry.record(organization, actor=actor, action="maintenance.schedule", target=incident)
    emit(EventKind.MAINTENANCE_SCHEDULED, incident, update, deliver=deliver_notifications)
    bump_content_version(organization)
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
    components = {c: ComponentStatus.UNDER_MAINTENANCE for c in incident.components.all()}
    return _maintenance_step(
        incident,
        actor=actor,
        from_statuses=(MaintenanceStatus.SCHEDULED,),
        to_status=MaintenanceStatus.IN_PROGRESS,
        body=body,
        deliver_notifications=deliver_notifications,
        event_kind=EventKind.MAINTENANCE_STARTED,
        audit_action="maintenance.start",
        components=components,
        at=at,
        problem="Only a scheduled maintenance can be started.",
    )


@transaction.atomic
def mark_verifying(
    incident: Incident,
    *,
    actor: Actor,
    body: str | None = None,
    deliver_notifications: bool | None = None,
) -> IncidentUpdate:
    return _maintenance_step(
        incident,
        actor=actor,
        from_statuses=(MaintenanceStatus.IN_PROGRESS,),
        to_status=MaintenanceStatus.VERIFYING,
        body=body,
        deliver_notifications=deliver_notifications,
        event_kind=EventKind.MAINTENANCE_UPDATED,
        audit_action="maintenance.verify",
        problem="Only a maintenance in progress can move to verifying.",
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
    components = {
        c: ComponentStatus.OPERATIONAL
        for c in incident.components.filter(status=ComponentStatus.UNDER_MAINTENANCE)
    }
    return _maintenance_step(
        incident,
        actor=actor,
        from_statuses=ACTIVE_MAINTENANCE,
        to_status=MaintenanceStatus.COMPLETED,
        body=body,
        deliver_notifications=deliver_notifications,
        event_kind=EventKind.MAINTENANCE_COMPLETED,
        audit_action="maintenance.complete",
        components=components,
        at=at,
        problem="Only a maintenance in progress or verifying can be completed; "
        "cancel a maintenance that has not started.",
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
    return _maintenance_step(
        incident,
        actor=actor,
        from_statuses=(MaintenanceStatus.SCHEDULED,),
        to_status=MaintenanceStatus.COMPLETED,
        body=body or texts.CANCELLED_TEXT,
        deliver_notifications=deliver_notifications,
        event_kind=EventKind.MAINTENANCE_CANCELLED,
        audit_action="maintenance.cancel",
        problem="Only a maintenance that has not started can be cancelled; complete it instead.",
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
    incident = _maintenance_for_update(incident)
    if incident.status not in (MaintenanceStatus.SCHEDULED, *ACTIVE_MAINTENANCE):
        raise ValidationError("A completed maintenance cannot be extended.", code="completed")
    if timezone.is_naive(new_until):
        raise ValidationError("Maintenance times need a timezone.", code="naive")
    if new_until <= incident.scheduled_until:
        raise ValidationError("The new end must be later than the current end.", code="not_later")
    now = timezone.now()
    org = incident.organization
    body = _require_text(
        body or texts.extended_text(timezone.localtime(new_until, org.tzinfo), org.timezone),
        "message",
    )
    deliver = _notify_default(incident) if deliver_notifications is None else deliver_notifications
    old_until = incident.scheduled_until
    incident.scheduled_until = new_until
    incident.updated_at = now
    incident.save(update_fields=["scheduled_until", "updated_at"])
    update = _add_update(
        incident,
        actor=actor,
        status=incident.status,
        body=body,
        at=now,
        deliver_notifications=deliver,
    )
    AuditEntry.record(
        org,
        actor=actor,
        action="maintenance.extend",
        target=incident,
        data={"from": old_until.isoformat(), "to": new_until.isoformat()},
    )
    emit(EventKind.MAINTENANCE_UPDATED, incident, update, deliver=deliver)
    bump_content_version(org)
    return update


@transaction.atomic
def post_maintenance_update(
    incident: Incident,
    *,
    actor: Actor,
    body: str,
    deliver_notifications: bool = True,
) -> IncidentUpdate:
    """A message on an open maintenance without changing its status."""
    incident = _maintenance_for_update(incident)
    if incident.status == MaintenanceStatus.COMPLETED:
        raise ValidationError(
            "This maintenance is over; it cannot take more updates.", code="completed"
        )
    body = _require_text(body, "message")
    now = timezone.now()
    Incident.objects.filter(pk=incident.pk).update(updated_at=now)
    update = _add_update(
        incident,
        actor=actor,
        status=incident.status,
        body=body,
        at=now,
        deliver_notifications=deliver_notifications,
    )
    AuditEntry.record(
        incident.organization, actor=actor, action="maintenance.update", target=incident
    )
    emit(EventKind.MAINTENANCE_UPDATED, incident, update, deliver=deliver_notifications)
    bump_content_version(incident.organization)
    return update


def _post_maintenance_status(
    incident: Incident, *, actor: Actor, status: str, body: str, deliver_notifications: bool
) -> IncidentUpdate:
    """post_update on a maintenance: route a status move to its action, so components and
    events always follow the same rules."""
    if status not in MaintenanceStatus.values:
        raise ValidationError(
            f"“{status}” is an incident status; maintenances use scheduled, in progress, "
            "verifying or completed.",
            code="wrong_kind_status",
        )
    if incident.status == MaintenanceStatus.COMPLETED:
        raise ValidationError(
            "This maintenance is over; it cannot take more updates.", code="completed"
        )
    if status == incident.status:
        return post_maintenance_update(
            incident, actor=actor, body=body, deliver_notifications=deliver_notifications
        )
    if status not in MAINTENANCE_MOVES.get(incident.status, ()):
        raise ValidationError(
            f"A maintenance cannot go from {incident.get_status_display().lower()} to "
            f"{MaintenanceStatus(status).label.lower()}.",
            code="invalid_transition",
        )
    action = {
        MaintenanceStatus.IN_PROGRESS: start_maintenance,
        MaintenanceStatus.VERIFYING: mark_verifying,
        MaintenanceStatus.COMPLETED: complete_maintenance,
    }[status]
    if action is start_maintenance and incident.status == MaintenanceStatus.VERIFYING:
        return _back_to_in_progress(incident, actor=actor, body=body, deliver=deliver_notifications)
    return action(incident, actor=actor, body=body, deliver_notifications=deliver_notifications)


def _back_to_in_progress(
    incident: Incident, *, actor: Actor, body: str, deliver: bool
) -> IncidentUpdate:
    """Verification found a problem: the work continues (components stay under maintenance)."""
    return _maintenance_step(
        incident,
        actor=actor,
        from_statuses=(MaintenanceStatus.VERIFYING,),
        to_status=MaintenanceStatus.IN_PROGRESS,
        body=body,
        deliver_notifications=deliver,
        event_kind=EventKind.MAINTENANCE_UPDATED,
        audit_action="maintenance.update",
        problem="Only a maintenance being verified can go back to in progress.",
    )


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
        incident.organization, actor=None, action="maintenance.reminder", target=incident
    )
    return True


# --- templates -----------------------------------------------------------------------------


def _check_template_fields(kind: str, status: str, impact: str) -> None:
    if kind == Kind.MAINTENANCE:
        if status not in MaintenanceStatus.values:
            raise ValidationError("A maintenance template needs a maintenance status.")
    else:
        _check_incident_status(status, UNRESOLVED_INCIDENT)
        if impact not in INCIDENT_IMPACTS:
            raise ValidationError(f"“{impact}” is not an incident impact.")


@transaction.atomic
def create_template(
    organization: Organization,
    *,
    actor: Actor,
    name: str,
    title: str,
    body: str,
    kind: str = Kind.INCIDENT,
    status: str = IncidentStatus.INVESTIGATING,
    impact: str = Impact.MINOR,
) -> IncidentTemplate:
    _check_template_fields(kind, status, impact)
    template = IncidentTemplate.objects.create(
        organization=organization,
        kind=kind,
        name=_require_text(name, "template name"),
        title=_require_text(title, "incident name"),
        body=_require_text(body, "message"),
        status=status,
        impact=impact,
    )
    AuditEntry.record(organization, actor=actor, action="incident_template.create", target=template)
    return template


@transaction.atomic
def update_template(
    template: IncidentTemplate,
    *,
    actor: Actor,
    name: str,
    title: str,
    body: str,
    kind: str,
    status: str,
    impact: str,
) -> IncidentTemplate:
    _check_template_fields(kind, status, impact)
    template.name = _require_text(name, "template name")
    template.title = _require_text(title, "incident name")
    template.body = _require_text(body, "message")
    template.kind, template.status, template.impact = kind, status, impact
    template.save(update_fields=["name", "title", "body", "kind", "status", "impact"])
    AuditEntry.record(
        template.organization, actor=actor, action="incident_template.update", target=template
    )
    return template


@transaction.atomic
def delete_template(template: IncidentTemplate, *, actor: Actor) -> None:
    AuditEntry.record(
        template.organization, actor=actor, action="incident_template.delete", target=template
    )
    template.delete()


@transaction.atomic
def ensure_default_templates(
    organization: Organization, *, actor: Actor = None
) -> list[IncidentTemplate]:
    """Create the default templates the organization does not have yet (matched by name)."""
    existing = set(IncidentTemplate.objects.for_org(organization).values_list("name", flat=True))
    created = [
        IncidentTemplate.objects.create(organization=organization, **fields)
        for fields in texts.DEFAULT_TEMPLATES
        if fields["name"] not in existing
    ]
    if created:
        AuditEntry.record(
            organization,
            actor=actor,
            action="incident_template.defaults",
            data={"created": [t.name for t in created]},
        )
    return created


# --- postmortems ---------------------------------------------------------------------------
# A postmortem belongs to an incident (never a maintenance). Drafts can be written at any time;
# publishing needs a resolved incident and a summary, and moves the incident to `postmortem`
# (Statuspage's status for it); unpublishing moves it back to `resolved`. No update row is
# added to the timeline: the postmortem is shown beside it, as on Statuspage. Every change to
# a published postmortem (text or action items) bumps the public page's content version.

POSTMORTEM_TEXT_MAX = 20_000
SUMMARY_EXCERPT_CHARS = 600
UNSET: object = object()


def _postmortem_incident(incident: Incident) -> Incident:
    """The incident, locked: every postmortem write of one incident runs one at a time."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.is_maintenance:
        raise ValidationError(
            "Postmortems are written for incidents, not scheduled maintenance.", code="wrong_kind"
        )
    return incident


def _postmortem_of(incident: Incident) -> Postmortem:
    postmortem = Postmortem.objects.filter(incident=incident).first()
    if postmortem is None:
        raise ValidationError("This incident has no postmortem yet.", code="no_postmortem")
    postmortem.incident = incident
    return postmortem


def excerpt(text: str, limit: int = SUMMARY_EXCERPT_CHARS) -> str:
    """The start of `text`, cut at a word boundary, with an ellipsis when cut."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(None, 1)[0].rstrip(" ,;:.") + "…"


def _touch_postmortem(postmortem: Postmortem, at: datetime) -> None:
    """Record a change (action items too); a published one re-renders the public page."""
    Postmortem.objects.filter(pk=postmortem.pk).update(updated_at=at)
    postmortem.updated_at = at
    if postmortem.is_published:
        bump_content_version(postmortem.organization)


@transaction.atomic
def save_postmortem(
    incident: Incident,
    *,
    actor: Actor,
    summary: str | None = None,
    customer_impact: str | None = None,
    cause: str | None = None,
    resolution: str | None = None,
) -> Postmortem:
    """Create the draft, or change the given sections (None leaves a section as it is).

    Editing a published postmortem keeps it published (readers see the new text at once,
    nobody is notified again) and records `updated_at`.
    """
    incident = _postmortem_incident(incident)
    sections = {
        "summary": summary,
        "customer_impact": customer_impact,
        "cause": cause,
        "resolution": resolution,
    }
    given = {name: value.strip() for name, value in sections.items() if value is not None}
    for name, value in given.items():
        if len(value) > POSTMORTEM_TEXT_MAX:
            raise ValidationError(
                {name: f"Keep this under {POSTMORTEM_TEXT_MAX:,} characters."}, code="too_long"
            )
    now = timezone.now()
    postmortem = Postmortem.objects.select_for_update().filter(incident=incident).first()
    if postmortem is None:
        postmortem = Postmortem.objects.create(
            organization=incident.organization,
            incident=incident,
            created_at=now,
            updated_at=now,
            created_by=actor if _is_user(actor) else None,
            **given,
        )
        AuditEntry.record(
            incident.organization, actor=actor, action="postmortem.create", target=incident
        )
        return postmortem
    postmortem.incident = incident
    changed = [name for name, value in given.items() if getattr(postmortem, name) != value]
    if not changed:
        return postmortem
    for name in changed:
        setattr(postmortem, name, given[name])
    if postmortem.is_published and not postmortem.summary:
        raise ValidationError(
            {"summary": "A published postmortem needs a summary. Unpublish it to remove it."},
            code="required",
        )
    postmortem.updated_at = now
    postmortem.save(update_fields=[*changed, "updated_at"])
    AuditEntry.record(
        incident.organization,
        actor=actor,
        action="postmortem.edit",
        target=incident,
        data={"changed": changed, "published": postmortem.is_published},
    )
    if postmortem.is_published:
        bump_content_version(incident.organization)
    return postmortem


@transaction.atomic
def publish_postmortem(
    incident: Incident, *, actor: Actor, notify_subscribers: bool = False
) -> Postmortem:
    """Publish: the incident's status becomes `postmortem`; subscribers hear of it only when
    staff ask (otherwise the outbox event is kept for the record and never delivered, as for
    every "don't notify" change)."""
    incident = _postmortem_incident(incident)
    postmortem = _postmortem_of(incident)
    if postmortem.is_published:
        raise ValidationError("This postmortem is already published.", code="published")
    if incident.status != IncidentStatus.RESOLVED:
        raise ValidationError(
            "Resolve the incident before publishing its postmortem.", code="not_resolved"
        )
    if not postmortem.summary.strip():
        raise ValidationError(
            {"summary": "Write the summary (what happened, in plain words) before publishing."},
            code="required",
        )
    now = timezone.now()
    postmortem.published_at = now
    postmortem.published_by = actor if _is_user(actor) else None
    postmortem.notified_subscribers = notify_subscribers
    postmortem.save(update_fields=["published_at", "published_by", "notified_subscribers"])
    _claim_status(incident, IncidentStatus.POSTMORTEM, now)
    AuditEntry.record(
        incident.organization,
        actor=actor,
        action="postmortem.publish",
        target=incident,
        data={"notify_subscribers": notify_subscribers},
    )
    emit(
        EventKind.POSTMORTEM_PUBLISHED,
        incident,
        deliver=notify_subscribers,
        data={"postmortem": postmortem.public_id, "summary": excerpt(postmortem.summary)},
    )
    bump_content_version(incident.organization)
    return postmortem


@transaction.atomic
def unpublish_postmortem(incident: Incident, *, actor: Actor) -> Postmortem:
    """Take the postmortem off the page (kept as a draft); the incident is `resolved` again."""
    incident = _postmortem_incident(incident)
    postmortem = _postmortem_of(incident)
    if not postmortem.is_published:
        raise ValidationError("This postmortem is not published.", code="not_published")
    now = timezone.now()
    postmortem.published_at = None
    postmortem.save(update_fields=["published_at"])
    if incident.status == IncidentStatus.POSTMORTEM:
        _claim_status(incident, IncidentStatus.RESOLVED, now)
    AuditEntry.record(
        incident.organization, actor=actor, action="postmortem.unpublish", target=incident
    )
    bump_content_version(incident.organization)
    return postmortem


@transaction.atomic
def delete_postmortem(incident: Incident, *, actor: Actor) -> None:
    """Delete a draft and its action items. A published postmortem must be unpublished first,
    so public text never disappears by one click."""
    incident = _postmortem_incident(incident)
    postmortem = _postmortem_of(incident)
    if postmortem.is_published:
        raise ValidationError("Unpublish the postmortem before deleting it.", code="published")
    AuditEntry.record(
        incident.organization,
        actor=actor,
        action="postmortem.delete",
        target=incident,
        data={"action_items": postmortem.action_items.count()},
    )
    postmortem.delete()


def _locked_postmortem(postmortem: Postmortem) -> Postmortem:
    incident = _postmortem_incident(postmortem.incident)
    locked = _postmortem_of(incident)
    if locked.pk != postmortem.pk:
        raise ValidationError("This postmortem was replaced a moment ago.", code="conflict")
    return locked


def _check_action_item(title: str | None, status: str | None, description: str | None) -> None:
    if title is not None and len(title.strip()) > 255:
        raise ValidationError({"title": "Keep the title under 255 characters."})
    if status is not None and status not in ActionItem.Status.values:
        raise ValidationError(
            {
                "status": f"“{status}” is not an action item status: "
                "use planned, in_progress or done."
            }
        )
    if description is not None and len(description) > POSTMORTEM_TEXT_MAX:
        raise ValidationError({"description": "This description is too long."})


def _renumber(postmortem: Postmortem, ordered: list[ActionItem]) -> None:
    for position, item in enumerate(ordered, start=1):
        if item.position != position:
            item.position = position
            ActionItem.objects.filter(pk=item.pk).update(position=position)


@transaction.atomic
def add_action_item(
    postmortem: Postmortem,
    *,
    actor: Actor,
    title: str,
    description: str = "",
    status: str = ActionItem.Status.PLANNED,
    due_date: date | None = None,
) -> ActionItem:
    postmortem = _locked_postmortem(postmortem)
    _check_action_item(title, status, description)
    title = _require_text(title, "action item title")
    now = timezone.now()
    last = postmortem.action_items.order_by("-position").values_list("position", flat=True)
    item = ActionItem.objects.create(
        organization=postmortem.organization,
        postmortem=postmortem,
        title=title,
        description=(description or "").strip(),
        status=status,
        due_date=due_date,
        position=(last.first() or 0) + 1,
        created_at=now,
        updated_at=now,
        completed_at=now if status == ActionItem.Status.DONE else None,
    )
    AuditEntry.record(
        postmortem.organization,
        actor=actor,
        action="postmortem.action_item.add",
        target=postmortem.incident,
        data={"action_item": item.public_id, "title": item.title},
    )
    _touch_postmortem(postmortem, now)
    return item


@transaction.atomic
def update_action_item(
    item: ActionItem,
    *,
    actor: Actor,
    title: str | None = None,
    description: str | None = None,
    status: str | None = None,
    due_date: date | object | None = UNSET,
) -> ActionItem:
    """Change the given fields; moving to done records completed_at, leaving done clears it."""
    postmortem = _locked_postmortem(item.postmortem)
    item = ActionItem.objects.select_for_update().get(pk=item.pk)
    _check_action_item(title, status, description)
    changes: dict[str, object] = {}
    if title is not None:
        changes["title"] = _require_text(title, "action item title")
    if description is not None:
        changes["description"] = description.strip()
    if status is not None:
        changes["status"] = status
    if due_date is not UNSET:
        changes["due_date"] = due_date
    changed = [name for name, value in changes.items() if getattr(item, name) != value]
    if not changed:
        return item
    now = timezone.now()
    for name in changed:
        setattr(item, name, changes[name])
    if "status" in changed:
        item.completed_at = now if item.status == ActionItem.Status.DONE else None
        changed.append("completed_at")
    item.updated_at = now
    item.save(update_fields=[*changed, "updated_at"])
    AuditEntry.record(
        postmortem.organization,
        actor=actor,
        action="postmortem.action_item.edit",
        target=postmortem.incident,
        data={"action_item": item.public_id, "changed": changed},
    )
    _touch_postmortem(postmortem, now)
    return item


@transaction.atomic
def move_action_item(item: ActionItem, *, actor: Actor, position: int) -> ActionItem:
    """Put the item at `position` (1 = first; past the end = last); the others shift."""
    postmortem = _locked_postmortem(item.postmortem)
    items = list(postmortem.action_items.select_for_update().order_by("position", "id"))
    current = next((i for i in items if i.pk == item.pk), None)
    if current is None:
        raise ValidationError("This action item was deleted a moment ago.", code="conflict")
    if position < 1:
        raise ValidationError({"position": "Positions start at 1."})
    items.remove(current)
    items.insert(min(position, len(items) + 1) - 1, current)
    _renumber(postmortem, items)
    AuditEntry.record(
        postmortem.organization,
        actor=actor,
        action="postmortem.action_item.move",
        target=postmortem.incident,
        data={"action_item": current.public_id, "position": current.position},
    )
    _touch_postmortem(postmortem, timezone.now())
    return current


@transaction.atomic
def reorder_action_items(
    postmortem: Postmortem, *, actor: Actor, item_ids: list[str]
) -> list[ActionItem]:
    """Set the whole order at once: `item_ids` lists every item's public id, first to last."""
    postmortem = _locked_postmortem(postmortem)
    items = {i.public_id: i for i in postmortem.action_items.select_for_update()}
    if len(item_ids) != len(set(item_ids)) or set(item_ids) != set(items):
        raise ValidationError(
            "List every action item of this postmortem exactly once.", code="invalid_order"
        )
    ordered = [items[public_id] for public_id in item_ids]
    _renumber(postmortem, ordered)
    AuditEntry.record(
        postmortem.organization,
        actor=actor,
        action="postmortem.action_item.reorder",
        target=postmortem.incident,
    )
    _touch_postmortem(postmortem, timezone.now())
    return ordered


@transaction.atomic
def delete_action_item(item: ActionItem, *, actor: Actor) -> None:
    postmortem = _locked_postmortem(item.postmortem)
    AuditEntry.record(
        postmortem.organization,
        actor=actor,
        action="postmortem.action_item.delete",
        target=postmortem.incident,
        data={"action_item": item.public_id, "title": item.title},
    )
    ActionItem.objects.filter(pk=item.pk).delete()
    _renumber(postmortem, list(postmortem.action_items.order_by("position", "id")))
    _touch_postmortem(postmortem, timezone.now())


__all__ = [
    "add_action_item",
    "backfill_incident",
    "cancel_maintenance",
    "complete_maintenance",
    "create_template",
    "delete_action_item",
    "delete_incident",
    "delete_postmortem",
    "delete_template",
    "edit_update",
    "emit",
    "ensure_default_templates",
    "extend_maintenance",
    "impact_for_statuses",
    "mark_verifying",
    "move_action_item",
    "open_incident",
    "post_maintenance_update",
    "post_update",
    "publish_postmortem",
    "reopen_incident",
    "reorder_action_items",
    "resolve_incident",
    "save_postmortem",
    "schedule_maintenance",
    "send_maintenance_reminder",
    "start_maintenance",
    "unpublish_postmortem",
    "update_action_item",
    "update_template",
    "was_cancelled",
]


# --- management API (/api/v1/, apps/incidents/api.py) --------------------------------------
# Added for the management API. API keys belong to an organization, not to a user, so they
# cannot go through the membership check of delete_incident; and the API edits an incident's
# name and impact, which the dashboard has no separate service for.


@transaction.atomic
def update_incident_details(
    incident: Incident,
    *,
    actor: Actor,
    name: str | None = None,
    impact: str | None = None,
) -> Incident:
    """Rename an incident or maintenance and/or set its impact by hand (impact_override).

    Nobody is notified: the next update carries the news.
    """
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    changed: list[str] = []
    if name is not None:
        incident.name = _require_text(name, "incident name")
        changed.append("name")
    if impact is not None:
        allowed = (
            (*INCIDENT_IMPACTS, Impact.MAINTENANCE)
            if incident.is_maintenance
            else (INCIDENT_IMPACTS)
        )
        if impact not in allowed:
            raise ValidationError(f"“{impact}” is not an incident impact.", code="invalid_impact")
        incident.impact = impact
        incident.impact_override = True
        changed += ["impact", "impact_override"]
    if not changed:
        return incident
    incident.updated_at = timezone.now()
    incident.save(update_fields=[*changed, "updated_at"])
    AuditEntry.record(
        incident.organization,
        actor=actor,
        action="maintenance.edit" if incident.is_maintenance else "incident.edit",
        target=incident,
        data={"changed": [field for field in changed if field != "impact_override"]},
    )
    bump_content_version(incident.organization)
    return incident


@transaction.atomic
def delete_incident_with_api_key(incident: Incident, *, api_key: ApiKey, actor: str) -> None:
    """delete_incident for the management API: the key stands in for the member.

    SECURITY: API keys are organization-level credentials created by owners and admins (who hold
    `incidents.delete`), so an active write key of the incident's own organization may delete;
    a read-only key, a revoked key or another organization's key may not.
    """
    if (
        api_key.organization_id != incident.organization_id
        or not api_key.is_active
        or not api_key.can_write
    ):
        raise PermissionDenied("This API key cannot delete incidents.")
    organization = incident.organization
    AuditEntry.record(
        organization,
        actor=actor,
        action="maintenance.delete" if incident.is_maintenance else "incident.delete",
        target=incident,
        data={"name": incident.name},
    )
    incident.delete()
    bump_content_version(organization)
