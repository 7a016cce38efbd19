"""Status services: history, incremental uptime rollups, cross-org refusal."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from apps.notifications.models import NotificationEvent
from apps.organizations.models import AuditEntry
from apps.status import services
from apps.status.models import ComponentStatus, ComponentStatusChange, UptimeDay
from tests.factories import ComponentFactory, ComponentGroupFactory, IncidentFactory

NEW_YORK = ZoneInfo("America/New_York")
OK = ComponentStatus.OPERATIONAL
MAJOR = ComponentStatus.MAJOR_OUTAGE
PARTIAL = ComponentStatus.PARTIAL_OUTAGE
DEGRADED = ComponentStatus.DEGRADED_PERFORMANCE
MAINTENANCE = ComponentStatus.UNDER_MAINTENANCE


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


@pytest.fixture
def ny_org(org):
    org.timezone = "America/New_York"
    org.save(update_fields=["timezone"])
    return org


@pytest.fixture
def api_component(ny_org):
    return ComponentFactory(organization=ny_org, name="API", created_at=ny(2026, 1, 10, 12))


def day_row(component, day: date) -> UptimeDay:
    return UptimeDay.objects.get(component=component, date=day)


def test_status_change_writes_history(api_component, editor):
    change = services.set_component_status(
        api_component, MAJOR, actor=editor, at=ny(2026, 1, 10, 22)
    )

    assert change == ComponentStatusChange.objects.get()
    assert (change.from_status, change.to_status) == (OK, MAJOR)
    assert change.changed_at == ny(2026, 1, 10, 22)
    assert change.actor == editor
    assert change.actor_label == "eddie@acme.test"
    api_component.refresh_from_db()
    assert api_component.status == MAJOR


def test_unchanged_status_is_a_no_op(api_component, editor):
    assert services.set_component_status(api_component, OK, actor=editor) is None
    assert not ComponentStatusChange.objects.exists()
    assert not UptimeDay.objects.exists()
    assert not NotificationEvent.objects.exists()


def test_uptime_seconds_split_across_local_midnight(api_component, editor):
    # 22:00 to 03:00 New York time: 2 hours on the 10th, 3 hours on the 11th (UTC would
    # split it 0 + 5 hours: the day boundary is the organization's, not UTC's).
    services.set_component_status(api_component, MAJOR, actor=editor, at=ny(2026, 1, 10, 22))
    services.set_component_status(api_component, OK, actor=editor, at=ny(2026, 1, 11, 3))

    tenth = day_row(api_component, date(2026, 1, 10))
    assert tenth.operational_seconds == 10 * 3600  # created at noon
    assert tenth.major_seconds == 2 * 3600
    assert tenth.worst_status == MAJOR
    eleventh = day_row(api_component, date(2026, 1, 11))
    assert eleventh.major_seconds == 3 * 3600
    assert eleventh.operational_seconds == 0
    assert eleventh.worst_status == MAJOR


def test_worst_status_of_the_day_includes_the_new_status(api_component, editor):
    services.set_component_status(api_component, DEGRADED, actor=editor, at=ny(2026, 1, 10, 13))

    assert day_row(api_component, date(2026, 1, 10)).worst_status == DEGRADED


def test_backdated_change_is_moved_to_the_previous_change(api_component, editor):
    services.set_component_status(api_component, MAJOR, actor=editor, at=ny(2026, 1, 10, 14))
    change = services.set_component_status(api_component, OK, actor=editor, at=ny(2026, 1, 10, 13))

    assert change.changed_at == ny(2026, 1, 10, 14)
    assert day_row(api_component, date(2026, 1, 10)).major_seconds == 0


def test_status_change_writes_audit_and_notification(api_component, editor):
    services.set_component_status(api_component, PARTIAL, actor=editor, at=ny(2026, 1, 10, 13))

    event = NotificationEvent.objects.get()
    assert event.kind == NotificationEvent.Kind.COMPONENT_STATUS_CHANGED
    assert event.component == api_component
    assert event.component_ids == [api_component.public_id]
    assert event.data == {"old_status": OK, "new_status": PARTIAL}
    assert AuditEntry.objects.filter(action="component.status_change").count() == 1


def test_notify_false_writes_no_event(api_component, editor):
    services.set_component_status(api_component, PARTIAL, actor=editor, notify=False)

    assert not NotificationEvent.objects.exists()


def test_status_change_bumps_content_version(
    api_component, editor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.set_component_status(api_component, PARTIAL, actor=editor)

    api_component.organization.refresh_from_db()
    assert api_component.organization.content_version == 2


def test_group_status_is_the_worst_child(org):
    group = ComponentGroupFactory(organization=org)
    ComponentFactory(organization=org, group=group, status=DEGRADED)
    ComponentFactory(organization=org, group=group, status=MAJOR)
    ComponentFactory(organization=org, group=group, status=MAINTENANCE)

    assert group.status == MAJOR


def test_empty_group_is_operational(org):
    assert ComponentGroupFactory(organization=org).status == OK


def test_set_component_statuses_changes_each_with_the_incident(org, editor):
    web, api = ComponentFactory.create_batch(2, organization=org)
    incident = IncidentFactory(organization=org)

    changes = services.set_component_statuses(
        org, {web: MAJOR, api: DEGRADED}, actor=editor, incident=incident
    )

    assert len(changes) == 2
    assert {c.incident for c in changes} == {incident}
    assert ComponentStatusChange.objects.filter(incident=incident).count() == 2


def test_set_component_statuses_refuses_another_orgs_component(org, other_org, editor):
    mine = ComponentFactory(organization=org)
    theirs = ComponentFactory(organization=other_org)

    with pytest.raises(ValidationError):
        services.set_component_statuses(org, {mine: MAJOR, theirs: MAJOR}, actor=editor)

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == (OK, OK)
    assert not ComponentStatusChange.objects.exists()
    assert not UptimeDay.objects.exists()
    assert not NotificationEvent.objects.exists()


def test_set_component_statuses_refuses_an_unknown_status(org, editor):
    component = ComponentFactory(organization=org)

    with pytest.raises(ValidationError):
        services.set_component_statuses(org, {component: "on_fire"}, actor=editor)

    assert not ComponentStatusChange.objects.exists()
