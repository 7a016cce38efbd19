"""The recorded step: the tail every incident and maintenance change shares, written once.

A change to an incident's timeline (opening it, an update, a resolve or reopen, every
maintenance move, an extension, a message) ends the same way: set the component statuses it
names, save the incident fields the caller changed, add the timeline update, write the audit
entry, write the outbox event, bump the public page's content version. Callers validate, lock
and set their own fields first; `record_step` does the rest in one order, so a fix to that tail
(like passing "don't notify" on to component events) lands everywhere at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from apps.organizations.models import AuditEntry
from apps.organizations.services import bump_content_version
from apps.status.models import Component
from apps.status.services import set_component_statuses

from ..models import Incident, IncidentUpdate
from ._common import emit

if TYPE_CHECKING:
    from ._common import Actor


def record_step(
    incident: Incident,
    *,
    actor: Actor,
    status: str,
    body: str,
    at: datetime,
    deliver: bool,
    audit_action: str,
    event_kind: str,
    components: Mapping[Component, str] | None = None,
    save_fields: Sequence[str] = (),
    display_at: datetime | None = None,
    next_update_due: datetime | None = None,
    no_further_updates: bool = False,
    audit_data: dict[str, Any] | None = None,
    event_data: dict[str, Any] | None = None,
) -> IncidentUpdate:
    """Finish a change to a locked (or just created) incident and return its update.

    `deliver` is the staff's "notify" choice and reaches both the incident's event and the
    component events, so "don't notify" means nothing is delivered. `save_fields` names the
    incident fields the caller has set (nothing is saved when empty: a new incident, or a
    status already moved by a conditional UPDATE).
    """
    affected = _apply_components(incident, components or {}, actor=actor, at=at, notify=deliver)
    if save_fields:
        incident.save(update_fields=list(save_fields))
    update = _add_update(
        incident,
        actor=actor,
        status=status,
        body=body,
        at=at,
        display_at=display_at,
        deliver_notifications=deliver,
        next_update_due=next_update_due,
        no_further_updates=no_further_updates,
        affected_components=affected,
    )
    AuditEntry.record(
        incident.organization, actor=actor, action=audit_action, target=incident, data=audit_data
    )
    emit(event_kind, incident, update, deliver=deliver, data=event_data)
    bump_content_version(incident.organization)
    return update


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
    no_further_updates: bool = False,
    affected_components: list[dict] | None = None,
) -> IncidentUpdate:
    """The timeline row; a member is its author, while an API key or the system is not a user
    (their label is in the audit entry)."""
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
        no_further_updates=no_further_updates,
        affected_components=affected_components,
        created_by=actor.audit_user,
    )
