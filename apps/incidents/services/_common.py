"""What every incident service shares: constants, checks, and the outbox writer `emit`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.notifications import pipeline as notifications
from apps.notifications.models import NotificationEvent
from apps.organizations.models import Organization
from apps.status.models import Component, ComponentStatus

from ..models import (
    Impact,
    Incident,
    IncidentUpdate,
    MaintenanceStatus,
)
from ..notifications import EventKind as EventKind  # re-exported: the services emit these kinds
from ..notifications import snapshot

if TYPE_CHECKING:
    from apps.organizations.principals import Principal

    # Who acts: a member, an API key or the system (apps.organizations.principals). Every
    # service checks its permission with actor.require() before it writes.
    Actor = Principal


IMPACT_FOR_COMPONENT_STATUS: dict[str, str] = {
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
}
IMPACT_RANK: dict[str, int] = {Impact.NONE: 0, Impact.MINOR: 1, Impact.MAJOR: 2, Impact.CRITICAL: 3}
INCIDENT_IMPACTS = (Impact.NONE, Impact.MINOR, Impact.MAJOR, Impact.CRITICAL)


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
    """Emit the incident's event (call inside the change's transaction; queued on commit).

    component_ids lists the incident's affected components so subscribers to only some
    components are matched; apps/incidents/notifications.py renders it.
    """
    component_ids = list(
        incident.components.order_by("position", "id").values_list("public_id", flat=True)
    )
    return notifications.emit(
        kind,
        incident.organization,
        incident,
        snapshot(incident, update, **(data or {})),
        component_ids=component_ids,
        deliver=deliver,
    )


# "The <what> cannot be empty.", one whole sentence per field for translators.
_EMPTY_MESSAGES = {
    "message": gettext_noop("The message cannot be empty."),
    "incident name": gettext_noop("The incident name cannot be empty."),
    "maintenance name": gettext_noop("The maintenance name cannot be empty."),
    "template name": gettext_noop("The template name cannot be empty."),
    "action item title": gettext_noop("The action item title cannot be empty."),
}


def _require_text(value: str | None, what: str) -> str:
    """The text, stripped; refused when empty, so no blank update is ever published."""
    value = (value or "").strip()
    if not value:
        message = _EMPTY_MESSAGES.get(what)
        raise ValidationError(
            _(message) if message else f"The {what} cannot be empty.", code="required"
        )
    return value


def _check_components(organization: Organization, components: Mapping[Component, str]) -> None:
    """SECURITY: a component of another organization is refused before anything is written."""
    for component, status in components.items():
        if component.organization_id != organization.pk:
            # Same words for "missing" and "not yours".
            raise ValidationError(_("Unknown component."), code="unknown_component")
        if status not in ComponentStatus.values:
            raise ValidationError(
                _("“%(status)s” is not a component status for %(name)s.")
                % {"status": status, "name": component.name},
                code="invalid_component_status",
            )


def _check_incident_status(status: str, allowed: Iterable[str]) -> None:
    """Refuse a status an incident cannot take here; a maintenance status gets its own
    message, since mixing the two kinds up is the common mistake."""
    allowed = tuple(allowed)
    if status in MaintenanceStatus.values:
        raise ValidationError(
            _(
                "“%(status)s” is a maintenance status; incidents use investigating, identified, "
                "monitoring or resolved."
            )
            % {"status": status},
            code="wrong_kind_status",
        )
    if status not in allowed:
        raise ValidationError(
            _("“%(status)s” is not allowed here; use one of: %(allowed)s.")
            % {"status": status, "allowed": ", ".join(allowed)},
            code="invalid_status",
        )


def _raise_impact(incident: Incident, components: Mapping[Component, str]) -> None:
    """Raise the impact to the peak of the new component statuses unless staff set it by
    hand; never lower it (see the impact rule in incidents.py)."""
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
            _("This was changed by someone else a moment ago. Reload the page and try again."),
            code="conflict",
        )
    incident.status = new_status
    incident.updated_at = at
