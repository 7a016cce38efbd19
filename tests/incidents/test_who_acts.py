"""The incident services check the principal themselves: a caller that skips the view or the
API's scope check (a shell, a task, a future forum) gets the same answer as the URL walk."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from apps.incidents import services
from apps.incidents.models import Incident
from apps.organizations.models import AuditEntry
from apps.organizations.principals import ApiKeyPrincipal, System
from tests.factories import IncidentFactory, IncidentTemplateFactory, MaintenanceFactory, member
from tests.incidents.factories import PostmortemFactory


def _open(org, actor):
    return services.open_incident(
        org, actor=actor, name="API down", status="investigating", body="Looking."
    )


def test_a_viewer_calling_a_service_directly_is_refused_and_nothing_is_written(org, viewer):
    with pytest.raises(PermissionDenied):
        _open(org, member(viewer))
    assert not Incident.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    "call",
    [
        lambda incident, actor: services.post_update(
            incident, actor=actor, status="identified", body="Found it."
        ),
        lambda incident, actor: services.resolve_incident(incident, actor=actor),
        lambda incident, actor: services.update_incident_details(incident, actor=actor, name="x"),
        lambda incident, actor: services.save_postmortem(incident, actor=actor, summary="x"),
    ],
    ids=["post_update", "resolve", "details", "postmortem"],
)
def test_every_incident_write_refuses_a_viewer(org, viewer, call):
    incident = IncidentFactory(organization=org)
    with pytest.raises(PermissionDenied):
        call(incident, member(viewer))
    assert not AuditEntry.objects.exists()


def test_maintenance_and_template_writes_refuse_a_viewer(org, viewer):
    with pytest.raises(PermissionDenied):
        services.start_maintenance(MaintenanceFactory(organization=org), actor=member(viewer))
    with pytest.raises(PermissionDenied):
        services.delete_template(IncidentTemplateFactory(organization=org), actor=member(viewer))
    with pytest.raises(PermissionDenied):
        services.publish_postmortem(
            PostmortemFactory(incident__organization=org).incident, actor=member(viewer)
        )


def test_a_read_only_api_key_is_refused_by_the_service(org, read_only_key):
    with pytest.raises(PermissionDenied, match="read-only"):
        _open(org, ApiKeyPrincipal(read_only_key))
    assert not Incident.objects.exists()


def test_a_write_key_opens_and_is_named_in_the_audit_log(org, api_key):
    incident = _open(org, ApiKeyPrincipal(api_key))
    entry = AuditEntry.objects.get(action="incident.open")
    assert (entry.actor, entry.actor_label) == (
        None,
        f"API key “Deploy script” ({api_key.prefix}…)",
    )
    assert incident.created_by is None


def test_a_member_is_the_author_of_what_they_open(org, editor):
    incident = _open(org, member(editor))
    assert incident.created_by == editor
    assert incident.updates.get().created_by == editor


def test_another_organizations_member_is_refused(org, outsider):
    incident = IncidentFactory(organization=org)
    with pytest.raises(PermissionDenied, match="another organization"):
        services.resolve_incident(incident, actor=member(outsider))


# --- one delete service, whoever acts --------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_delete_incident_lets_owners_and_admins_delete(org, role, request):
    incident = IncidentFactory(organization=org)
    services.delete_incident(incident, actor=member(request.getfixturevalue(role)))
    assert not Incident.objects.filter(pk=incident.pk).exists()


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_delete_incident_refuses_editors_and_viewers(org, role, request):
    incident = IncidentFactory(organization=org)
    with pytest.raises(PermissionDenied):
        services.delete_incident(incident, actor=member(request.getfixturevalue(role)))
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_the_same_delete_serves_a_write_key(org, api_key):
    incident = IncidentFactory(organization=org, name="Old outage")
    services.delete_incident(incident, actor=ApiKeyPrincipal(api_key))
    assert not Incident.objects.filter(pk=incident.pk).exists()
    entry = AuditEntry.objects.get(action="incident.delete")
    assert entry.actor_label == f"API key “Deploy script” ({api_key.prefix}…)"
    assert entry.data == {"name": "Old outage"}


def test_the_same_delete_refuses_a_read_only_key_and_another_organizations_key(
    org, read_only_key, other_api_key
):
    incident = IncidentFactory(organization=org)
    with pytest.raises(PermissionDenied):
        services.delete_incident(incident, actor=ApiKeyPrincipal(read_only_key))
    with pytest.raises(PermissionDenied):
        services.delete_incident(incident, actor=ApiKeyPrincipal(other_api_key))
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_the_scheduler_acts_as_the_system_and_is_named_so(org):
    from apps.incidents.tasks import SCHEDULER

    assert isinstance(SCHEDULER, System)
    maintenance = MaintenanceFactory(organization=org)
    services.start_maintenance(maintenance, actor=SCHEDULER)
    assert AuditEntry.objects.get(action="maintenance.start").actor_label == "scheduler"
