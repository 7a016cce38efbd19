"""Migration 0005: events written with the old foreign keys get a generic subject and snapshot,
and still deliver the same mail afterwards (pending events survive the upgrade)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.notifications import pipeline
from apps.notifications.models import NotificationEvent
from tests.factories import ComponentFactory, IncidentFactory

from .factories import EmailSubscriberFactory

BEFORE = [("notifications", "0004_postmortem_event_kind")]
AFTER = [("notifications", "0005_generic_event_subject")]


def latest():
    """Every app at its last migration (later migrations, and apps depending on these)."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_old_events_are_converted_and_still_deliver():
    old = migrate(BEFORE)
    organization = old.get_model("organizations", "Organization").objects.create(
        name="Acme Cloud", slug="acme"
    )
    component = old.get_model("status", "Component").objects.create(
        organization=organization, name="API", position=1
    )
    incident = old.get_model("incidents", "Incident").objects.create(
        organization=organization, name="Elevated API errors", status="investigating"
    )
    update = old.get_model("incidents", "IncidentUpdate").objects.create(
        organization=organization, incident=incident, status="investigating", body="Looking."
    )
    events = old.get_model("notifications", "NotificationEvent").objects
    opened = events.create(
        organization=organization, kind="incident.opened", incident=incident, update=update
    )
    changed = events.create(
        organization=organization,
        kind="component.status_changed",
        component=component,
        incident=incident,
        data={"old_status": "operational", "new_status": "major_outage"},
    )

    migrate(AFTER)

    opened = NotificationEvent.objects.get(pk=opened.pk)
    changed = NotificationEvent.objects.get(pk=changed.pk)
    assert (opened.subject_type, opened.subject_id) == ("incidents.incident", incident.public_id)
    assert opened.snapshot == {
        "incident": {"id": incident.public_id, "name": "Elevated API errors", "kind": "incident"},
        "update": update.public_id,
    }
    assert (changed.subject_type, changed.subject_id) == ("status.component", component.public_id)
    assert changed.snapshot["within"] == {"type": "incidents.incident", "id": incident.public_id}
    assert changed.snapshot["change"] == ["Operational", "Major outage"]

    migrate(latest())  # the models below are today's
    EmailSubscriberFactory(organization=opened.organization, email="reader@example.com")
    pipeline.fan_out(opened.pk)

    [message] = mail.outbox
    assert message.subject == "[Acme Cloud] Investigating: Elevated API errors"
    assert "Looking." in message.body


@pytest.mark.django_db(transaction=True)
def test_the_conversion_can_be_undone(org):
    incident = IncidentFactory(organization=org)
    component = ComponentFactory(organization=org)
    pipeline.emit("incident.opened", org, incident, {"incident": {"id": incident.public_id}})
    pipeline.emit(
        "component.status_changed",
        org,
        component,
        {"component": {"id": component.public_id}, "incident": {"id": incident.public_id}},
    )

    old = migrate(BEFORE)
    try:
        rows = old.get_model("notifications", "NotificationEvent").objects.order_by("id")
        assert [(e.incident_id, e.component_id) for e in rows] == [
            (incident.pk, None),
            (incident.pk, component.pk),
        ]
    finally:
        migrate(latest())
