"""Incidents: open, update, resolve, reopen, backfill, correct and delete.

Impact rule: unless staff chose one (impact_override), an incident's impact is the *peak* of
the component statuses set during the incident (major_outage → critical, partial_outage → major,
degraded_performance → minor). It is never lowered automatically: resolving an outage puts the
components back to operational, and the history must still say how bad it was. Staff can
override it when a status was set by mistake.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.locking import lock_again
from apps.organizations.models import AuditEntry, Organization
from apps.organizations.services import bump_content_version
from apps.status.models import Component, ComponentStatus

from .. import texts
from ..models import (
    ACTIVE_MAINTENANCE,
    UNRESOLVED_INCIDENT,
    Impact,
    Incident,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    IncidentUpdateRevision,
    Kind,
    Postmortem,
)
from ._common import (
    INCIDENT_IMPACTS,
    EventKind,
    _check_components,
    _check_incident_status,
    _raise_impact,
    _require_text,
    impact_for_statuses,
)
from ._steps import _add_update, record_step
from .cadence import check_promise
from .maintenance import post_maintenance_update

if TYPE_CHECKING:
    from ._common import Actor


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
    no_further_updates: bool = False,
    template: IncidentTemplate | None = None,
    started_at: datetime | None = None,
) -> Incident:
    """Open an incident with its first update. The impact follows the components unless
    given, and a given impact is an override that later component changes leave alone.

    `next_update_due` / `no_further_updates`: what the update promises (cadence.check_promise:
    a future time within a week, or, while monitoring, no further updates until resolved)."""
    actor.require("incidents.edit", organization)
    components = dict(components or {})
    name = _require_text(name, "incident name")
    body = _require_text(body, "message")
    _check_incident_status(status, UNRESOLVED_INCIDENT)
    if impact is not None and impact not in INCIDENT_IMPACTS:
        raise ValidationError(
            _("“%(impact)s” is not an incident impact.") % {"impact": impact}, code="invalid_impact"
        )
    _check_components(organization, components)
    if template is not None and template.organization_id != organization.pk:
        raise ValidationError(_("Unknown template."), code="unknown_template")
    now = timezone.now()
    if started_at is not None and started_at > now:
        raise ValidationError(_("An incident cannot start in the future."), code="future")
    next_update_due, no_further_updates = check_promise(
        organization,
        status=status,
        next_update_due=next_update_due,
        no_further_updates=no_further_updates,
        now=now,
    )
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
        no_further_updates=no_further_updates,
        created_by=actor.audit_user,
    )
    record_step(
        incident,
        actor=actor,
        status=status,
        body=body,
        at=now,
        deliver=deliver_notifications,
        audit_action="incident.open",
        audit_data={"template": template.public_id} if template else None,
        event_kind=EventKind.INCIDENT_OPENED,
        components=components,
        next_update_due=next_update_due,
        no_further_updates=no_further_updates,
    )
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
    no_further_updates: bool = False,
    display_at: datetime | None = None,
) -> IncidentUpdate:
    """Post an update to an incident; on a maintenance, post_maintenance_update decides what
    the status means (a message or a move), so callers need not tell the two kinds apart.

    The update's promise (`next_update_due` or, while monitoring, `no_further_updates`) becomes
    the incident's; resolving clears it (cadence.check_promise)."""
    actor.require("incidents.edit", incident.organization)
    components = dict(components or {})
    incident = lock_again(Incident.objects, pk=incident.pk)
    if incident.is_maintenance:
        return post_maintenance_update(
            incident,
            actor=actor,
            status=status,
            body=body,
            deliver_notifications=deliver_notifications,
        )
    if incident.status not in UNRESOLVED_INCIDENT:
        raise ValidationError(
            _("This incident is resolved. Reopen it to post another update."), code="resolved"
        )
    _check_incident_status(status, (*UNRESOLVED_INCIDENT, IncidentStatus.RESOLVED))
    body = _require_text(body, "message")
    _check_components(incident.organization, components)

    now = timezone.now()
    resolved = status == IncidentStatus.RESOLVED
    next_update_due, no_further_updates = check_promise(
        incident.organization,
        status=status,
        next_update_due=next_update_due,
        no_further_updates=no_further_updates,
        now=now,
    )
    _raise_impact(incident, components)
    incident.status = status
    incident.updated_at = now
    incident.next_update_due = next_update_due
    incident.no_further_updates = no_further_updates
    if status == IncidentStatus.MONITORING and incident.monitoring_at is None:
        incident.monitoring_at = now
    if resolved:
        incident.resolved_at = now
    return record_step(
        incident,
        actor=actor,
        status=status,
        body=body,
        at=now,
        deliver=deliver_notifications,
        audit_action="incident.resolve" if resolved else "incident.update",
        audit_data={"status": status},
        event_kind=EventKind.INCIDENT_RESOLVED if resolved else EventKind.INCIDENT_UPDATED,
        components=components,
        save_fields=(
            "status",
            "impact",
            "updated_at",
            "next_update_due",
            "no_further_updates",
            "monitoring_at",
            "resolved_at",
        ),
        display_at=display_at,
        next_update_due=next_update_due,
        no_further_updates=no_further_updates,
    )


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
    actor.require("incidents.edit", incident.organization)
    if incident.is_maintenance:
        raise ValidationError(
            _("A scheduled maintenance is completed, not resolved."), code="wrong_kind"
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
    next_update_due: datetime | None = None,
    no_further_updates: bool = False,
) -> IncidentUpdate:
    """The problem came back: a resolved incident takes an unresolved status and an update,
    and a published postmortem goes back to draft. The update promises the next one as any
    update does (callers pass the default cadence when staff said nothing)."""
    actor.require("incidents.edit", incident.organization)
    components = dict(components or {})
    incident = lock_again(Incident.objects, pk=incident.pk)
    if incident.is_maintenance:
        raise ValidationError(_("A scheduled maintenance cannot be reopened."), code="wrong_kind")
    if incident.status in UNRESOLVED_INCIDENT:
        raise ValidationError(_("This incident is not resolved, so it cannot be reopened."))
    _check_incident_status(status, UNRESOLVED_INCIDENT)
    body = _require_text(body or texts.REOPENED_TEXT, "message")
    _check_components(incident.organization, components)

    now = timezone.now()
    next_update_due, no_further_updates = check_promise(
        incident.organization,
        status=status,
        next_update_due=next_update_due,
        no_further_updates=no_further_updates,
        now=now,
    )
    # A postmortem tells a finished story: when the problem comes back, a published one goes
    # back to draft (its text is kept) and can be published again once the incident is resolved.
    unpublished = Postmortem.objects.filter(incident=incident, published_at__isnull=False).update(
        published_at=None, updated_at=now
    )
    _raise_impact(incident, components)
    incident.status = status
    incident.resolved_at = None
    incident.updated_at = now
    incident.next_update_due = next_update_due
    incident.no_further_updates = no_further_updates
    if status == IncidentStatus.MONITORING and incident.monitoring_at is None:
        incident.monitoring_at = now
    return record_step(
        incident,
        actor=actor,
        status=status,
        body=body,
        at=now,
        deliver=deliver_notifications,
        audit_action="incident.reopen",
        audit_data={"postmortem_unpublished": True} if unpublished else None,
        event_kind=EventKind.INCIDENT_UPDATED,
        event_data={"reopened": True},
        components=components,
        save_fields=(
            "status",
            "impact",
            "resolved_at",
            "updated_at",
            "monitoring_at",
            "next_update_due",
            "no_further_updates",
        ),
        next_update_due=next_update_due,
        no_further_updates=no_further_updates,
    )


@transaction.atomic
def edit_update(update: IncidentUpdate, *, actor: Actor, body: str) -> IncidentUpdate:
    """Correct an update's text; the old text is kept as a revision. Nobody is re-notified."""
    actor.require("incidents.edit", update.organization)
    body = _require_text(body, "message")
    update = lock_again(IncidentUpdate.objects, pk=update.pk)
    if body == update.body:
        return update
    now = timezone.now()
    IncidentUpdateRevision.objects.create(
        organization=update.organization,
        update=update,
        body=update.body,
        edited_by=actor.audit_user,
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
    actor.require("incidents.edit", organization)
    name = _require_text(name, "incident name")
    components = list(components)
    _check_components(organization, {c: ComponentStatus.OPERATIONAL for c in components})
    if impact not in INCIDENT_IMPACTS:
        raise ValidationError(
            _("“%(impact)s” is not an incident impact.") % {"impact": impact}, code="invalid_impact"
        )
    if not updates:
        raise ValidationError(_("A backfilled incident needs at least one update."))
    now = timezone.now()
    ordered = sorted(updates, key=lambda u: u[2])
    for status, body, display_at in ordered:
        _check_incident_status(status, (*UNRESOLVED_INCIDENT, IncidentStatus.RESOLVED))
        _require_text(body, "message")
        if display_at > now:
            raise ValidationError(_("Backfilled updates must be in the past."), code="future")
    if ordered[-1][0] != IncidentStatus.RESOLVED:
        raise ValidationError(
            _("The last update of a backfilled incident must be “resolved”."), code="unresolved"
        )
    if any(status == IncidentStatus.RESOLVED for status, _b, _d in ordered[:-1]):
        raise ValidationError(_("Only the last backfilled update can be “resolved”."))

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
        created_by=actor.audit_user,
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
def delete_incident(incident: Incident, *, actor: Actor) -> None:
    """Delete an incident or maintenance and its timeline, for any principal holding
    `incidents.delete` (admins and owners; write and admin API keys, see principals.py).

    Component statuses are left as they are: deleting the record of an outage does not end it.
    The audit entry comes first (it names the incident, which is gone afterwards), then the
    rows, then the public page.
    """
    actor.require("incidents.delete", incident.organization)
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


# --- management API (/api/v1/, apps/incidents/api.py) --------------------------------------
# The API edits an incident's name and impact, which the dashboard has no separate service for.


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
    actor.require("incidents.edit", incident.organization)
    incident = lock_again(Incident.objects, pk=incident.pk)
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
            raise ValidationError(
                _("“%(impact)s” is not an incident impact.") % {"impact": impact},
                code="invalid_impact",
            )
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
