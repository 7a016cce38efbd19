from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from apps.incidents import services, texts
from apps.incidents.models import Incident, IncidentUpdate, MaintenanceStatus
from apps.incidents.notifications import EventKind as Kinds
from apps.incidents.tasks import run_maintenance_transitions_at
from apps.notifications.models import NotificationEvent
from apps.organizations.models import AuditEntry
from apps.status.models import ComponentStatus
from apps.status.notifications import EventKind as ComponentKind
from tests.factories import ComponentFactory, IncidentFactory, member

pytestmark = pytest.mark.django_db
# Far enough ahead that "the window has already ended" never trips; December, so PST.
START = datetime(2036, 12, 1, 17, 0, tzinfo=UTC)
END = START + timedelta(hours=2)


def counts() -> tuple[int, ...]:
    return (
        Incident.objects.count(),
        IncidentUpdate.objects.count(),
        NotificationEvent.objects.count(),
        AuditEntry.objects.count(),
    )


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
        reminder_hours=24,
    )


def kinds(incident) -> list[str]:
    """The incident's own events (the status engine adds component.status_changed ones)."""
    events = NotificationEvent.objects.filter(snapshot__incident__id=incident.public_id).exclude(
        kind=ComponentKind.COMPONENT_STATUS_CHANGED
    )
    return list(events.values_list("kind", flat=True))


def test_schedule_writes_scheduled_update_and_event(maintenance, editor, database):
    update = maintenance.updates.get()
    assert maintenance.status == MaintenanceStatus.SCHEDULED
    assert maintenance.impact == "maintenance"
    assert list(maintenance.components.all()) == [database]
    assert update.body == texts.DEFAULT_UPDATE_TEXT["scheduled"]
    assert kinds(maintenance) == [Kinds.MAINTENANCE_SCHEDULED]
    assert AuditEntry.objects.filter(action="maintenance.schedule", actor=editor).exists()


def test_schedule_refuses_end_before_start(org, editor):
    before = counts()
    with pytest.raises(ValidationError, match="must end after it starts"):
        services.schedule_maintenance(
            org, actor=member(editor), name="x", body="b", scheduled_for=END, scheduled_until=START,
            components=[],
        )  # fmt: skip
    assert counts() == before


def test_schedule_refuses_components_of_another_org(org, other_org, editor):
    foreign = ComponentFactory(organization=other_org)
    before = counts()
    with pytest.raises(ValidationError, match="Unknown component"):
        services.schedule_maintenance(
            org, actor=member(editor), name="x", body="b", scheduled_for=START, scheduled_until=END,
            components=[foreign],
        )  # fmt: skip
    assert counts() == before


def test_start_verify_complete(maintenance, editor, database):
    services.start_maintenance(maintenance, actor=member(editor))
    database.refresh_from_db()
    assert database.status == ComponentStatus.UNDER_MAINTENANCE

    services.mark_verifying(maintenance, actor=member(editor))
    services.complete_maintenance(maintenance, actor=member(editor))
    maintenance.refresh_from_db()
    database.refresh_from_db()

    assert maintenance.status == MaintenanceStatus.COMPLETED
    assert maintenance.resolved_at is not None
    assert database.status == ComponentStatus.OPERATIONAL
    assert kinds(maintenance) == [
        Kinds.MAINTENANCE_SCHEDULED,
        Kinds.MAINTENANCE_STARTED,
        Kinds.MAINTENANCE_UPDATED,
        Kinds.MAINTENANCE_COMPLETED,
    ]
    assert not services.was_cancelled(maintenance)


def test_complete_leaves_components_something_else_broke(maintenance, editor, database):
    services.start_maintenance(maintenance, actor=member(editor))
    services.open_incident(
        maintenance.organization, actor=member(editor), name="DB down", status="investigating",
        body="b", components={database: ComponentStatus.MAJOR_OUTAGE},
    )  # fmt: skip
    services.complete_maintenance(maintenance, actor=member(editor))
    database.refresh_from_db()
    assert database.status == ComponentStatus.MAJOR_OUTAGE


def test_cancel_is_completed_with_cancelled_event(maintenance, editor, database):
    update = services.cancel_maintenance(maintenance, actor=member(editor))
    maintenance.refresh_from_db()
    database.refresh_from_db()
    assert maintenance.status == MaintenanceStatus.COMPLETED
    assert update.body == texts.CANCELLED_TEXT
    assert kinds(maintenance)[-1] == Kinds.MAINTENANCE_CANCELLED
    assert database.status == ComponentStatus.OPERATIONAL
    assert services.was_cancelled(maintenance)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (services.mark_verifying, "in progress"),
        (services.complete_maintenance, "cancel a maintenance that has not started"),
    ],
)
def test_invalid_transitions_from_scheduled(maintenance, editor, action, message):
    before = counts()
    with pytest.raises(ValidationError, match=message):
        action(maintenance, actor=member(editor))
    assert counts() == before


def test_cancel_after_start_is_refused(maintenance, editor):
    services.start_maintenance(maintenance, actor=member(editor))
    before = counts()
    with pytest.raises(ValidationError, match="complete it instead"):
        services.cancel_maintenance(maintenance, actor=member(editor))
    assert counts() == before


def test_updates_after_completion_are_refused(maintenance, editor):
    services.cancel_maintenance(maintenance, actor=member(editor))
    before = counts()
    with pytest.raises(ValidationError, match="over"):
        services.post_maintenance_update(maintenance, actor=member(editor), body="b")
    with pytest.raises(ValidationError):
        services.start_maintenance(maintenance, actor=member(editor))
    assert counts() == before


def test_maintenance_actions_on_incident_are_refused(org, editor):
    incident = IncidentFactory(organization=org)
    before = counts()
    with pytest.raises(ValidationError, match="not a scheduled maintenance"):
        services.start_maintenance(incident, actor=member(editor))
    assert counts() == before


def test_extend_moves_the_end_and_says_so(org, editor, maintenance):
    org.timezone = "America/Los_Angeles"
    org.save()
    update = services.extend_maintenance(
        maintenance, actor=member(editor), new_until=END + timedelta(hours=1)
    )
    maintenance.refresh_from_db()
    assert maintenance.scheduled_until == END + timedelta(hours=1)
    assert update.body.endswith("by 2036-12-01 12:00 (America/Los_Angeles).")
    assert kinds(maintenance)[-1] == Kinds.MAINTENANCE_UPDATED


def test_extend_to_earlier_end_is_refused(maintenance, editor):
    before = counts()
    with pytest.raises(ValidationError, match="later than the current end"):
        services.extend_maintenance(maintenance, actor=member(editor), new_until=END)
    assert counts() == before


def test_post_maintenance_update_keeps_status(maintenance, editor):
    update = services.post_maintenance_update(maintenance, actor=member(editor), body="Still on.")
    assert update.status == MaintenanceStatus.SCHEDULED
    assert kinds(maintenance)[-1] == Kinds.MAINTENANCE_UPDATED


def test_post_update_routes_maintenance_moves(maintenance, editor, database):
    services.post_update(maintenance, actor=member(editor), status="in_progress", body="Starting.")
    database.refresh_from_db()
    assert database.status == ComponentStatus.UNDER_MAINTENANCE
    before = counts()
    with pytest.raises(ValidationError, match="cannot go from"):
        services.post_update(maintenance, actor=member(editor), status="scheduled", body="b")
    assert counts() == before


def test_quiet_schedule_keeps_automatic_events_quiet(org, editor):
    maintenance = services.schedule_maintenance(
        org, actor=member(editor), name="x", body="b", scheduled_for=START, scheduled_until=END,
        components=[], deliver_notifications=False,
    )  # fmt: skip
    run_maintenance_transitions_at(START)
    assert not NotificationEvent.objects.filter(
        snapshot__incident__id=maintenance.public_id, deliver=True
    ).exists()


# --- beat transitions ----------------------------------------------------------------------


def test_reminder_is_sent_once_at_its_time(maintenance):
    assert run_maintenance_transitions_at(START - timedelta(hours=25))["reminded"] == 0
    assert run_maintenance_transitions_at(START - timedelta(hours=24))["reminded"] == 1
    assert run_maintenance_transitions_at(START - timedelta(hours=23))["reminded"] == 0
    event = NotificationEvent.objects.get(kind=Kinds.MAINTENANCE_REMINDER)
    maintenance.refresh_from_db()
    assert event.snapshot["body"] == "Maintenance will begin as scheduled in 1 day."
    assert maintenance.reminder_sent_at == START - timedelta(hours=24)


def test_beat_starts_and_completes_on_time_and_is_idempotent(maintenance, database):
    assert run_maintenance_transitions_at(START - timedelta(minutes=1))["started"] == 0

    assert run_maintenance_transitions_at(START)["started"] == 1
    assert run_maintenance_transitions_at(START)["started"] == 0
    maintenance.refresh_from_db()
    database.refresh_from_db()
    assert maintenance.status == MaintenanceStatus.IN_PROGRESS
    assert database.status == ComponentStatus.UNDER_MAINTENANCE

    assert run_maintenance_transitions_at(END)["completed"] == 1
    assert run_maintenance_transitions_at(END)["completed"] == 0
    maintenance.refresh_from_db()
    database.refresh_from_db()
    assert maintenance.status == MaintenanceStatus.COMPLETED
    assert maintenance.resolved_at == END
    assert database.status == ComponentStatus.OPERATIONAL
    assert kinds(maintenance).count(Kinds.MAINTENANCE_STARTED) == 1
    assert kinds(maintenance).count(Kinds.MAINTENANCE_COMPLETED) == 1
    assert AuditEntry.objects.filter(action="maintenance.start", actor_label="scheduler").exists()


def test_beat_respects_manual_transitions(org, editor):
    manual = services.schedule_maintenance(
        org, actor=member(editor), name="x", body="b", scheduled_for=START, scheduled_until=END,
        components=[], auto_start=False, auto_complete=False,
    )  # fmt: skip
    run_maintenance_transitions_at(END + timedelta(hours=1))
    manual.refresh_from_db()
    assert manual.status == MaintenanceStatus.SCHEDULED


def test_a_run_after_a_missed_window_starts_and_completes(maintenance):
    result = run_maintenance_transitions_at(END + timedelta(minutes=5))
    maintenance.refresh_from_db()
    assert result == {"reminded": 0, "started": 1, "completed": 1}
    assert maintenance.status == MaintenanceStatus.COMPLETED


def test_stale_claim_loses(maintenance, editor):
    stale = Incident.objects.get(pk=maintenance.pk)
    services.start_maintenance(maintenance, actor=member(editor))
    stale.status = MaintenanceStatus.SCHEDULED
    before = counts()
    with pytest.raises(ValidationError):
        services.start_maintenance(stale, actor=member(editor))
    assert counts() == before


def test_task_entry_point_runs(maintenance):
    from apps.incidents.tasks import run_maintenance_transitions

    assert run_maintenance_transitions() == {"reminded": 0, "started": 0, "completed": 0}


def test_beat_schedule_registers_the_task(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["incidents-maintenance-transitions"]
    assert entry["task"] == "incidents.run_maintenance_transitions"
    assert entry["schedule"] == 60.0


def test_resolving_an_incident_leaves_components_of_a_running_maintenance(
    maintenance, editor, database
):
    services.start_maintenance(maintenance, actor=member(editor))
    incident = services.open_incident(
        maintenance.organization, actor=member(editor), name="Slow during upgrade",
        status="investigating", body="b", components={database: ComponentStatus.UNDER_MAINTENANCE},
    )  # fmt: skip
    services.resolve_incident(incident, actor=member(editor))
    database.refresh_from_db()
    assert database.status == ComponentStatus.UNDER_MAINTENANCE
