from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.incidents import services, texts
from apps.incidents.models import (
    Impact,
    Incident,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    IncidentUpdateRevision,
    Kind,
)
from apps.incidents.notifications import EventKind as Kinds
from apps.notifications.models import NotificationEvent
from apps.organizations.models import AuditEntry
from apps.organizations.principals import System
from apps.status.models import ComponentStatus, ComponentStatusChange
from tests.factories import (
    ComponentFactory,
    ComponentGroupFactory,
    IncidentFactory,
    IncidentTemplateFactory,
    IncidentUpdateFactory,
    MaintenanceFactory,
    member,
)

pytestmark = pytest.mark.django_db
OUTAGE = ComponentStatus.MAJOR_OUTAGE
DEGRADED = ComponentStatus.DEGRADED_PERFORMANCE
OPERATIONAL = ComponentStatus.OPERATIONAL


def counts() -> tuple[int, ...]:
    return (
        Incident.objects.count(),
        IncidentUpdate.objects.count(),
        IncidentUpdateRevision.objects.count(),
        NotificationEvent.objects.count(),
        AuditEntry.objects.count(),
        ComponentStatusChange.objects.count(),
    )


@pytest.fixture
def api_component(org):
    group = ComponentGroupFactory(organization=org, name="Europe")
    return ComponentFactory(organization=org, name="API", group=group)


@pytest.fixture
def web_component(org):
    return ComponentFactory(organization=org, name="Website")


@pytest.fixture
def open_outage(org, editor, api_component):
    return services.open_incident(
        org,
        actor=member(editor),
        name="API down",
        status=IncidentStatus.INVESTIGATING,
        body="We are looking into it.",
        components={api_component: OUTAGE},
    )


def test_open_incident_writes_incident_first_update_event_and_audit(
    org, editor, api_component, web_component
):
    due = timezone.now() + timedelta(minutes=30)
    incident = services.open_incident(
        org,
        actor=member(editor),
        name="API down",
        status=IncidentStatus.INVESTIGATING,
        body="We are looking into it.",
        components={api_component: OUTAGE, web_component: DEGRADED},
        next_update_due=due,
    )
    update = incident.updates.get()
    api_component.refresh_from_db()
    event = NotificationEvent.objects.get(kind=Kinds.INCIDENT_OPENED)

    assert incident.kind == Kind.INCIDENT
    assert incident.impact == Impact.CRITICAL
    assert incident.impact_override is False
    assert incident.next_update_due == due
    assert set(incident.components.all()) == {api_component, web_component}
    assert api_component.status == OUTAGE
    assert update.next_update_due == due
    expected = {"code": api_component.public_id, "name": "Europe - API",
                "old_status": OPERATIONAL, "new_status": OUTAGE}  # fmt: skip
    assert expected in update.affected_components
    assert event.snapshot["update"] == update.public_id
    assert event.deliver is True
    assert sorted(event.component_ids) == sorted([api_component.public_id, web_component.public_id])
    assert AuditEntry.objects.filter(action="incident.open", actor=editor).count() == 1
    assert ComponentStatusChange.objects.filter(incident=incident).count() == 2


@pytest.mark.parametrize(
    ("status", "impact"),
    [
        (ComponentStatus.MAJOR_OUTAGE, Impact.CRITICAL),
        (ComponentStatus.PARTIAL_OUTAGE, Impact.MAJOR),
        (ComponentStatus.DEGRADED_PERFORMANCE, Impact.MINOR),
        (ComponentStatus.OPERATIONAL, Impact.NONE),
        (ComponentStatus.UNDER_MAINTENANCE, Impact.NONE),
    ],
)
def test_impact_is_computed_from_components(org, editor, api_component, status, impact):
    incident = services.open_incident(
        org, actor=member(editor), name="x", status="investigating", body="b",
        components={api_component: status},
    )  # fmt: skip
    assert incident.impact == impact


def test_impact_without_components_is_none(org, editor):
    incident = services.open_incident(
        org, actor=member(editor), name="Login emails late", status="identified", body="b"
    )
    assert incident.impact == Impact.NONE
    assert incident.updates.get().affected_components is None


def test_impact_override_is_kept(org, editor, api_component):
    incident = services.open_incident(
        org, actor=member(editor), name="x", status="investigating", body="b",
        impact=Impact.MINOR, components={api_component: OUTAGE},
    )  # fmt: skip
    services.post_update(
        incident, actor=member(editor), status="identified", body="b",
        components={api_component: OUTAGE},
    )  # fmt: skip
    incident.refresh_from_db()
    assert incident.impact == Impact.MINOR
    assert incident.impact_override is True


def test_impact_rises_with_updates_and_is_not_lowered_by_resolving(
    org, editor, api_component, web_component
):
    incident = services.open_incident(
        org, actor=member(editor), name="x", status="investigating", body="b",
        components={web_component: DEGRADED},
    )  # fmt: skip
    services.post_update(
        incident,
        actor=member(editor),
        status="identified",
        body="b",
        components={api_component: OUTAGE},
    )
    services.resolve_incident(incident, actor=member(editor))
    incident.refresh_from_db()
    assert incident.impact == Impact.CRITICAL


def test_components_of_another_org_are_refused(org, other_org, editor):
    foreign = ComponentFactory(organization=other_org)
    before = counts()
    with pytest.raises(ValidationError, match="Unknown component"):
        services.open_incident(
            org, actor=member(editor), name="x", status="investigating", body="b",
            components={foreign: OUTAGE},
        )  # fmt: skip
    foreign.refresh_from_db()
    assert counts() == before
    assert foreign.status == OPERATIONAL


def test_components_of_another_org_are_refused_on_update(open_outage, other_org, editor):
    foreign = ComponentFactory(organization=other_org)
    before = counts()
    with pytest.raises(ValidationError, match="Unknown component"):
        services.post_update(
            open_outage,
            actor=member(editor),
            status="identified",
            body="b",
            components={foreign: OUTAGE},
        )
    assert counts() == before


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("resolved", "not allowed"),
        ("postmortem", "not allowed"),
        ("in_progress", "maintenance status"),
        ("bogus", "not allowed"),
    ],
)
def test_open_incident_refuses_bad_status(org, editor, status, message):
    before = counts()
    with pytest.raises(ValidationError, match=message):
        services.open_incident(org, actor=member(editor), name="x", status=status, body="b")
    assert counts() == before


def test_open_incident_refuses_empty_name_and_message(org, editor):
    before = counts()
    with pytest.raises(ValidationError, match="name cannot be empty"):
        services.open_incident(
            org, actor=member(editor), name=" ", status="investigating", body="b"
        )
    with pytest.raises(ValidationError, match="message cannot be empty"):
        services.open_incident(org, actor=member(editor), name="x", status="investigating", body="")
    assert counts() == before


def test_post_update_moves_status_and_sets_monitoring_at_once(open_outage, editor):
    services.post_update(
        open_outage, actor=member(editor), status="monitoring", body="Fix deployed."
    )
    open_outage.refresh_from_db()
    first_monitoring = open_outage.monitoring_at
    services.post_update(
        open_outage, actor=member(editor), status="identified", body="It came back."
    )
    services.post_update(
        open_outage, actor=member(editor), status="monitoring", body="Fixed again."
    )
    open_outage.refresh_from_db()

    assert first_monitoring is not None
    assert open_outage.monitoring_at == first_monitoring
    assert open_outage.status == "monitoring"
    assert open_outage.updates.count() == 4
    assert NotificationEvent.objects.filter(kind=Kinds.INCIDENT_UPDATED).count() == 3
    assert AuditEntry.objects.filter(action="incident.update").count() == 3


def test_post_update_without_notifying_writes_undelivered_event(open_outage, editor):
    update = services.post_update(
        open_outage,
        actor=member(editor),
        status="identified",
        body="b",
        deliver_notifications=False,
    )
    event = NotificationEvent.objects.get(snapshot__update=update.public_id)
    assert update.deliver_notifications is False
    assert event.kind == Kinds.INCIDENT_UPDATED
    assert event.deliver is False


def test_post_update_records_old_and_new_component_status(open_outage, editor, api_component):
    update = services.post_update(
        open_outage, actor=member(editor), status="monitoring", body="b",
        components={api_component: DEGRADED},
    )  # fmt: skip
    assert update.affected_components == [
        {"code": api_component.public_id, "name": "Europe - API",
         "old_status": OUTAGE, "new_status": DEGRADED}
    ]  # fmt: skip


def test_post_update_on_resolved_incident_is_refused(open_outage, editor):
    services.resolve_incident(open_outage, actor=member(editor))
    before = counts()
    with pytest.raises(ValidationError, match="Reopen it"):
        services.post_update(open_outage, actor=member(editor), status="identified", body="b")
    assert counts() == before


def test_maintenance_status_on_incident_is_refused(open_outage, editor):
    before = counts()
    with pytest.raises(ValidationError, match="maintenance status"):
        services.post_update(open_outage, actor=member(editor), status="in_progress", body="b")
    assert counts() == before


def test_incident_status_on_maintenance_is_refused(org, editor):
    maintenance = MaintenanceFactory(organization=org)
    before = counts()
    with pytest.raises(ValidationError, match="incident status"):
        services.post_update(maintenance, actor=member(editor), status="identified", body="b")
    assert counts() == before


def test_resolve_returns_components_to_operational(open_outage, editor, api_component):
    update = services.resolve_incident(open_outage, actor=member(editor))
    open_outage.refresh_from_db()
    api_component.refresh_from_db()

    assert open_outage.status == IncidentStatus.RESOLVED
    assert open_outage.resolved_at is not None
    assert open_outage.next_update_due is None
    assert api_component.status == OPERATIONAL
    assert update.body == texts.DEFAULT_UPDATE_TEXT["resolved"]
    assert NotificationEvent.objects.filter(
        kind=Kinds.INCIDENT_RESOLVED, snapshot__update=update.public_id
    ).exists()
    assert AuditEntry.objects.filter(action="incident.resolve").exists()


def test_resolve_can_leave_components_as_told(open_outage, editor, api_component):
    services.resolve_incident(
        open_outage, actor=member(editor), components={api_component: DEGRADED}
    )
    api_component.refresh_from_db()
    assert api_component.status == DEGRADED


def test_resolve_twice_is_refused(open_outage, editor):
    services.resolve_incident(open_outage, actor=member(editor))
    before = counts()
    with pytest.raises(ValidationError):
        services.resolve_incident(open_outage, actor=member(editor))
    assert counts() == before


def test_reopen_clears_resolved_at(open_outage, editor, api_component):
    services.resolve_incident(open_outage, actor=member(editor))
    update = services.reopen_incident(
        open_outage, actor=member(editor), components={api_component: OUTAGE}
    )
    open_outage.refresh_from_db()
    api_component.refresh_from_db()
    event = NotificationEvent.objects.get(snapshot__update=update.public_id)

    assert open_outage.status == IncidentStatus.INVESTIGATING
    assert open_outage.resolved_at is None
    assert api_component.status == OUTAGE
    assert update.body == texts.REOPENED_TEXT
    assert event.kind == Kinds.INCIDENT_UPDATED
    assert event.snapshot["reopened"] is True
    assert AuditEntry.objects.filter(action="incident.reopen").exists()


def test_reopen_of_open_incident_is_refused(open_outage, editor):
    before = counts()
    with pytest.raises(ValidationError, match="not resolved"):
        services.reopen_incident(open_outage, actor=member(editor))
    assert counts() == before


def test_edit_update_keeps_revision_and_does_not_notify(open_outage, editor):
    update = open_outage.updates.get()
    events = NotificationEvent.objects.count()
    services.edit_update(update, actor=member(editor), body="We are looking into API errors.")
    update.refresh_from_db()
    revision = update.revisions.get()

    assert update.body == "We are looking into API errors."
    assert revision.body == "We are looking into it."
    assert revision.edited_by == editor
    assert NotificationEvent.objects.count() == events
    assert AuditEntry.objects.filter(action="incident.edit_update").exists()


def test_edit_update_to_empty_is_refused(open_outage, editor):
    before = counts()
    with pytest.raises(ValidationError):
        services.edit_update(open_outage.updates.get(), actor=member(editor), body="  ")
    assert counts() == before


def test_backfill_records_past_times_without_notifying(org, editor, api_component):
    start = timezone.now() - timedelta(days=10)
    events = NotificationEvent.objects.count()
    incident = services.backfill_incident(
        org,
        actor=member(editor),
        name="Storage outage",
        impact=Impact.MAJOR,
        components=[api_component],
        updates=[
            ("resolved", "Fixed.", start + timedelta(hours=2)),
            ("investigating", "Looking.", start),
            ("monitoring", "Watching.", start + timedelta(hours=1)),
        ],
    )
    api_component.refresh_from_db()

    assert incident.status == IncidentStatus.RESOLVED
    assert incident.started_at == start
    assert incident.monitoring_at == start + timedelta(hours=1)
    assert incident.resolved_at == start + timedelta(hours=2)
    assert incident.impact == Impact.MAJOR
    assert list(incident.updates.values_list("status", flat=True)) == [
        "resolved", "monitoring", "investigating"
    ]  # fmt: skip
    assert not incident.updates.filter(deliver_notifications=True).exists()
    assert NotificationEvent.objects.count() == events
    assert api_component.status == OPERATIONAL
    assert AuditEntry.objects.filter(action="incident.backfill").exists()


def test_backfill_must_end_resolved_and_be_in_the_past(org, editor):
    past = timezone.now() - timedelta(days=1)
    before = counts()
    with pytest.raises(ValidationError, match="must be “resolved”"):
        services.backfill_incident(
            org, actor=member(editor), name="x", impact="minor", components=[],
            updates=[("investigating", "b", past)],
        )  # fmt: skip
    with pytest.raises(ValidationError, match="in the past"):
        services.backfill_incident(
            org, actor=member(editor), name="x", impact="minor", components=[],
            updates=[("resolved", "b", timezone.now() + timedelta(hours=1))],
        )  # fmt: skip
    assert counts() == before


def test_delete_needs_admin(org, admin, editor, open_outage):
    with pytest.raises(PermissionDenied):
        services.delete_incident(open_outage, actor=member(editor))
    services.delete_incident(open_outage, actor=member(admin))
    assert not Incident.objects.filter(pk=open_outage.pk).exists()
    assert AuditEntry.objects.filter(action="incident.delete", actor=admin).exists()


def test_delete_by_outsider_is_refused(open_outage, outsider):
    with pytest.raises(PermissionDenied):
        services.delete_incident(open_outage, actor=member(outsider))
    assert Incident.objects.filter(pk=open_outage.pk).exists()


def test_public_changes_bump_content_version(org, editor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = services.open_incident(
            org, actor=member(editor), name="x", status="investigating", body="b"
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(incident, actor=member(editor), status="identified", body="b")
    org.refresh_from_db()
    assert org.content_version == 3


def test_open_from_template_is_audited(org, editor):
    template = IncidentTemplateFactory(organization=org)
    services.open_incident(
        org, actor=member(editor), name=template.title, status="investigating", body=template.body,
        template=template,
    )  # fmt: skip
    entry = AuditEntry.objects.get(action="incident.open")
    assert entry.data == {"template": template.public_id}


def test_template_of_another_org_is_refused(org, other_org, editor):
    template = IncidentTemplateFactory(organization=other_org)
    with pytest.raises(ValidationError, match="Unknown template"):
        services.open_incident(
            org, actor=member(editor), name="x", status="investigating", body="b", template=template
        )


def test_ensure_default_templates_is_idempotent(org):
    created = services.ensure_default_templates(org, actor=System())
    again = services.ensure_default_templates(org, actor=System())
    names = set(IncidentTemplate.objects.for_org(org).values_list("name", flat=True))
    assert {
        "Degraded performance",
        "Partial outage",
        "Major outage",
        "Scheduled maintenance",
    } <= names
    assert len(created) == len(texts.DEFAULT_TEMPLATES)
    assert again == []


def test_template_services_write_audit(org, editor):
    template = services.create_template(
        org, actor=member(editor), name="DNS", title="DNS problems", body="Names do not resolve."
    )
    services.update_template(
        template, actor=member(editor), name="DNS", title="DNS", body="b", kind="incident",
        status="identified", impact="major",
    )  # fmt: skip
    services.delete_template(template, actor=member(editor))
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"incident_template.create", "incident_template.update",
            "incident_template.delete"} <= actions  # fmt: skip


def test_emit_lists_affected_component_ids(org, api_component):
    incident = IncidentFactory(organization=org)
    incident.components.add(api_component)
    update = IncidentUpdateFactory(incident=incident)
    event = services.emit(Kinds.INCIDENT_UPDATED, incident, update, deliver=False)
    assert event.component_ids == [api_component.public_id]
    assert event.deliver is False
    assert event.organization == org


def test_open_incident_cannot_start_in_the_future(org, editor):
    before = counts()
    with pytest.raises(ValidationError, match="future"):
        services.open_incident(
            org, actor=member(editor), name="x", status="investigating", body="b",
            started_at=timezone.now() + timedelta(hours=1),
        )  # fmt: skip
    assert counts() == before


def test_open_incident_with_earlier_start(org, editor):
    started = timezone.now() - timedelta(minutes=20)
    incident = services.open_incident(
        org, actor=member(editor), name="x", status="investigating", body="b", started_at=started
    )
    assert incident.started_at == started
