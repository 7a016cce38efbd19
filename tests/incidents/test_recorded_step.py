"""Every timeline change ends the same way, and one function decides what a maintenance status
posted as an update means (issue 10, step 3).

Each change writes, together and once: the update, its audit entry, its outbox event and a
content-version bump; and `post_maintenance_update` alone routes a posted maintenance status
(a message when it is the current one, else the matching action), for the dashboard, the API
and post_update alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from apps.incidents import services
from apps.incidents.models import Incident, IncidentUpdate
from apps.notifications.models import NotificationEvent
from apps.organizations.models import AuditEntry, Organization
from apps.status.models import ComponentStatus
from apps.status.notifications import EventKind as ComponentKind
from tests.factories import ComponentFactory, member

pytestmark = pytest.mark.django_db
START = datetime(2036, 12, 1, 17, 0, tzinfo=UTC)
END = START + timedelta(hours=2)
JSON = "application/json"


@pytest.fixture
def database(org):
    return ComponentFactory(organization=org, name="Database")


@pytest.fixture
def maintenance(org, editor, database):
    return services.schedule_maintenance(
        org,
        actor=member(editor),
        name="Database upgrade",
        body="",
        scheduled_for=START,
        scheduled_until=END,
        components=[database],
    )


def written(incident: Incident) -> tuple[int, int, int]:
    """Updates, audit entries and the incident's own events (not component ones) so far."""
    return (
        IncidentUpdate.objects.filter(incident=incident).count(),
        AuditEntry.objects.filter(target_id=incident.public_id).count(),
        NotificationEvent.objects.filter(snapshot__incident__id=incident.public_id)
        .exclude(kind=ComponentKind.COMPONENT_STATUS_CHANGED)
        .count(),
    )


def content_version(org: Organization) -> int:
    return Organization.objects.get(pk=org.pk).content_version


def test_each_incident_change_writes_one_update_audit_entry_event_and_bump(
    org, editor, database, django_capture_on_commit_callbacks
):
    start = content_version(org)
    with django_capture_on_commit_callbacks(execute=True):
        incident = services.open_incident(
            org,
            actor=member(editor),
            name="Slow queries",
            status="investigating",
            body="Looking.",
            components={database: ComponentStatus.DEGRADED_PERFORMANCE},
        )
    opened = (written(incident), content_version(org) - start)
    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(incident, actor=member(editor), status="identified", body="Found it.")
    updated = (written(incident), content_version(org) - start)
    with django_capture_on_commit_callbacks(execute=True):
        services.resolve_incident(incident, actor=member(editor), body="Fixed.")
    resolved = (written(incident), content_version(org) - start)
    with django_capture_on_commit_callbacks(execute=True):
        services.reopen_incident(incident, actor=member(editor), body="Back.")
    reopened = (written(incident), content_version(org) - start)

    # A component change bumps the version too (the status engine's own bump), so opening
    # and resolving, which change the database component, add two each.
    assert [opened, updated, resolved, reopened] == [
        ((1, 1, 1), 2),
        ((2, 2, 2), 3),
        ((3, 3, 3), 5),
        ((4, 4, 4), 6),
    ]


def test_each_maintenance_change_writes_one_update_audit_entry_and_event(maintenance, editor):
    scheduled = written(maintenance)
    services.extend_maintenance(
        maintenance, actor=member(editor), new_until=END + timedelta(hours=1)
    )
    extended = written(maintenance)
    services.post_maintenance_update(maintenance, actor=member(editor), body="On schedule.")
    messaged = written(maintenance)
    services.start_maintenance(maintenance, actor=member(editor))
    started = written(maintenance)

    assert [scheduled, extended, messaged, started] == [
        (1, 1, 1),
        (2, 2, 2),
        (3, 3, 3),
        (4, 4, 4),
    ]


def test_the_incidents_fields_are_saved_with_the_step(org, editor, database):
    incident = services.open_incident(
        org, actor=member(editor), name="Outage", status="investigating", body="Down."
    )
    services.post_update(
        incident,
        actor=member(editor),
        status="monitoring",
        body="A fix is out.",
        components={database: ComponentStatus.MAJOR_OUTAGE},
    )

    incident.refresh_from_db()
    update = incident.updates.order_by("-created_at", "-id").first()
    assert (incident.status, incident.impact) == ("monitoring", "critical")
    assert incident.monitoring_at == update.created_at == incident.updated_at
    assert update.affected_components == [
        {
            "code": database.public_id,
            "name": database.display_name,
            "old_status": "operational",
            "new_status": "major_outage",
        }
    ]


def test_a_message_keeps_the_maintenance_status(maintenance, editor):
    same = services.post_maintenance_update(
        maintenance, actor=member(editor), status="scheduled", body="Still on."
    )
    omitted = services.post_maintenance_update(
        maintenance, actor=member(editor), body="Still on, yes."
    )

    assert (same.status, omitted.status) == ("scheduled", "scheduled")
    assert Incident.objects.get(pk=maintenance.pk).status == "scheduled"
    assert AuditEntry.objects.filter(action="maintenance.update").count() == 2


def test_another_status_runs_the_matching_action(maintenance, editor, database):
    started = services.post_maintenance_update(
        maintenance, actor=member(editor), status="in_progress", body="Starting."
    )
    database.refresh_from_db()
    assert started.status == "in_progress"
    assert database.status == ComponentStatus.UNDER_MAINTENANCE
    assert AuditEntry.objects.filter(action="maintenance.start").count() == 1

    services.post_maintenance_update(
        maintenance, actor=member(editor), status="verifying", body="Check."
    )
    services.post_maintenance_update(
        maintenance, actor=member(editor), status="in_progress", body="Again."
    )
    services.post_maintenance_update(
        maintenance, actor=member(editor), status="completed", body="Done."
    )

    database.refresh_from_db()
    assert database.status == ComponentStatus.OPERATIONAL
    assert list(
        maintenance.updates.order_by("created_at", "id").values_list("status", flat=True)
    ) == [
        "scheduled",
        "in_progress",
        "verifying",
        "in_progress",
        "completed",
    ]
    # Back from verifying is an update of the work, not a second start.
    assert AuditEntry.objects.filter(action="maintenance.start").count() == 1
    assert AuditEntry.objects.filter(action="maintenance.complete").count() == 1


def test_the_decision_reads_the_locked_row_not_the_callers_copy(maintenance, editor):
    stale = Incident.objects.get(pk=maintenance.pk)
    services.start_maintenance(maintenance, actor=member(editor))  # someone else, a moment ago

    update = services.post_maintenance_update(
        stale, actor=member(editor), status="in_progress", body="Going well."
    )

    assert update.status == "in_progress"
    assert AuditEntry.objects.filter(action="maintenance.start").count() == 1
    assert AuditEntry.objects.filter(action="maintenance.update").count() == 1


def test_post_update_on_a_maintenance_goes_through_the_same_decision(maintenance, editor):
    before = written(maintenance)
    with pytest.raises(ValidationError) as by_post_update:
        services.post_update(maintenance, actor=member(editor), status="completed", body="b")
    with pytest.raises(ValidationError) as by_maintenance:
        services.post_maintenance_update(
            maintenance, actor=member(editor), status="completed", body="b"
        )

    assert by_post_update.value.messages == by_maintenance.value.messages
    assert by_post_update.value.messages == ["A maintenance cannot go from scheduled to completed."]
    assert written(maintenance) == before


def test_an_incident_status_is_refused_before_anything_is_written(maintenance, editor):
    before = written(maintenance)
    with pytest.raises(ValidationError) as refused:
        services.post_maintenance_update(
            maintenance, actor=member(editor), status="resolved", body="b"
        )

    assert refused.value.code == "wrong_kind_status"
    assert written(maintenance) == before


def test_a_completed_maintenance_takes_no_message_and_no_move(maintenance, editor):
    services.cancel_maintenance(maintenance, actor=member(editor))
    before = written(maintenance)
    with pytest.raises(ValidationError) as message:
        services.post_maintenance_update(maintenance, actor=member(editor), body="b")
    with pytest.raises(ValidationError) as move:
        services.post_maintenance_update(
            maintenance, actor=member(editor), status="in_progress", body="b"
        )

    assert (message.value.code, move.value.code) == ("completed", "completed")
    assert written(maintenance) == before


def test_the_api_posts_a_status_the_maintenance_already_has_as_a_message(
    api, api_key, maintenance, editor
):
    url = f"/api/v1/maintenances/{maintenance.public_id}/updates/"
    client = api(api_key)

    message = client.post(url, {"status": "scheduled", "body": "On time."}, content_type=JSON)
    moved = client.post(url, {"status": "in_progress", "body": "Starting."}, content_type=JSON)
    refused = client.post(url, {"status": "scheduled", "body": "Back?"}, content_type=JSON)

    assert (message.status_code, message.json()["status"]) == (201, "scheduled")
    assert (moved.status_code, moved.json()["status"]) == (201, "in_progress")
    assert refused.status_code == 400
    assert refused.json()["detail"] == "A maintenance cannot go from in progress to scheduled."
