"""Incident and maintenance templates (staff's canned first updates)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.organizations.models import AuditEntry, Organization

from .. import texts
from ..models import (
    UNRESOLVED_INCIDENT,
    Impact,
    IncidentStatus,
    IncidentTemplate,
    Kind,
    MaintenanceStatus,
)
from ._common import (
    INCIDENT_IMPACTS,
    _check_incident_status,
    _require_text,
)

if TYPE_CHECKING:
    from ._common import Actor


def _check_template_fields(kind: str, status: str, impact: str) -> None:
    """A template's status and impact must be ones its kind can start with, so starting
    from it never fails later."""
    if kind == Kind.MAINTENANCE:
        if status not in MaintenanceStatus.values:
            raise ValidationError(_("A maintenance template needs a maintenance status."))
    else:
        _check_incident_status(status, UNRESOLVED_INCIDENT)
        if impact not in INCIDENT_IMPACTS:
            raise ValidationError(_("“%(impact)s” is not an incident impact.") % {"impact": impact})


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
    """A template staff start incidents or maintenances from (audited like every
    staff change)."""
    actor.require("incidents.edit", organization)
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
    """Set every field of a template at once (a partial API change fills in the rest)."""
    actor.require("incidents.edit", template.organization)
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
    """Delete a template; the audit entry is written first, while its target exists."""
    actor.require("incidents.edit", template.organization)
    AuditEntry.record(
        template.organization, actor=actor, action="incident_template.delete", target=template
    )
    template.delete()


@transaction.atomic
def ensure_default_templates(organization: Organization, *, actor: Actor) -> list[IncidentTemplate]:
    """Create the default templates the organization does not have yet (matched by name)."""
    actor.require("incidents.edit", organization)
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
