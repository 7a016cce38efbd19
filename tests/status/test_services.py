"""Status services: history, incremental uptime rollups, cross-org refusal."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.notifications.models import NotificationEvent
from apps.organizations.models import AuditEntry
from apps.organizations.principals import ApiKeyPrincipal, System
from apps.status import services
from apps.status.models import Component, ComponentStatus, ComponentStatusChange, UptimeDay
from apps.status.notifications import EventKind as ComponentKind
from tests.factories import (
    ComponentFactory,
    ComponentGroupFactory,
    IncidentFactory,
    UptimeDayFactory,
    member,
)

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
        api_component, MAJOR, actor=member(editor), at=ny(2026, 1, 10, 22)
    )

    assert change == ComponentStatusChange.objects.get()
    assert (change.from_status, change.to_status) == (OK, MAJOR)
    assert change.changed_at == ny(2026, 1, 10, 22)
    assert change.actor == editor
    assert change.actor_label == "eddie@acme.test"
    api_component.refresh_from_db()
    assert api_component.status == MAJOR


def test_unchanged_status_is_a_no_op(api_component, editor):
    assert services.set_component_status(api_component, OK, actor=member(editor)) is None
    assert not ComponentStatusChange.objects.exists()
    assert not UptimeDay.objects.exists()
    assert not NotificationEvent.objects.exists()


def test_uptime_seconds_split_across_local_midnight(api_component, editor):
    # 22:00 to 03:00 New York time: 2 hours on the 10th, 3 hours on the 11th (UTC would
    # split it 0 + 5 hours: the day boundary is the organization's, not UTC's).
    services.set_component_status(
        api_component, MAJOR, actor=member(editor), at=ny(2026, 1, 10, 22)
    )
    services.set_component_status(api_component, OK, actor=member(editor), at=ny(2026, 1, 11, 3))

    tenth = day_row(api_component, date(2026, 1, 10))
    assert tenth.operational_seconds == 10 * 3600  # created at noon
    assert tenth.major_seconds == 2 * 3600
    assert tenth.worst_status == MAJOR
    eleventh = day_row(api_component, date(2026, 1, 11))
    assert eleventh.major_seconds == 3 * 3600
    assert eleventh.operational_seconds == 0
    assert eleventh.worst_status == MAJOR


def test_worst_status_of_the_day_includes_the_new_status(api_component, editor):
    services.set_component_status(
        api_component, DEGRADED, actor=member(editor), at=ny(2026, 1, 10, 13)
    )

    assert day_row(api_component, date(2026, 1, 10)).worst_status == DEGRADED


def test_backdated_change_is_moved_to_the_previous_change(api_component, editor):
    services.set_component_status(
        api_component, MAJOR, actor=member(editor), at=ny(2026, 1, 10, 14)
    )
    change = services.set_component_status(
        api_component, OK, actor=member(editor), at=ny(2026, 1, 10, 13)
    )

    assert change.changed_at == ny(2026, 1, 10, 14)
    assert day_row(api_component, date(2026, 1, 10)).major_seconds == 0


def test_status_change_writes_audit_and_notification(api_component, editor):
    services.set_component_status(
        api_component, PARTIAL, actor=member(editor), at=ny(2026, 1, 10, 13)
    )

    event = NotificationEvent.objects.get()
    assert event.kind == ComponentKind.COMPONENT_STATUS_CHANGED
    assert (event.subject_type, event.subject_id) == ("status.component", api_component.public_id)
    assert event.component_ids == [api_component.public_id]
    assert (event.snapshot["old_status"], event.snapshot["new_status"]) == (OK, PARTIAL)
    assert AuditEntry.objects.filter(action="component.status_change").count() == 1


def test_notify_false_keeps_the_event_for_the_record_never_delivered(api_component, editor):
    services.set_component_status(api_component, PARTIAL, actor=member(editor), notify=False)

    event = NotificationEvent.objects.get()
    assert event.kind == ComponentKind.COMPONENT_STATUS_CHANGED
    assert event.deliver is False


def test_status_change_bumps_content_version(
    api_component, editor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.set_component_status(api_component, PARTIAL, actor=member(editor))

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
        org, {web: MAJOR, api: DEGRADED}, actor=member(editor), incident=incident
    )

    assert len(changes) == 2
    assert {c.incident for c in changes} == {incident}
    assert ComponentStatusChange.objects.filter(incident=incident).count() == 2


def test_set_component_statuses_refuses_another_orgs_component(org, other_org, editor):
    mine = ComponentFactory(organization=org)
    theirs = ComponentFactory(organization=other_org)

    with pytest.raises(ValidationError):
        services.set_component_statuses(org, {mine: MAJOR, theirs: MAJOR}, actor=member(editor))

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == (OK, OK)
    assert not ComponentStatusChange.objects.exists()
    assert not UptimeDay.objects.exists()
    assert not NotificationEvent.objects.exists()


def test_set_component_statuses_refuses_an_unknown_status(org, editor):
    component = ComponentFactory(organization=org)

    with pytest.raises(ValidationError):
        services.set_component_statuses(org, {component: "on_fire"}, actor=member(editor))

    assert not ComponentStatusChange.objects.exists()


# --- daily close -----------------------------------------------------------------------------


def test_close_uptime_days_accounts_the_rest_of_the_day_and_opens_today(api_component, editor):
    services.set_component_status(
        api_component, MAJOR, actor=member(editor), at=ny(2026, 1, 10, 22)
    )
    services.set_component_status(api_component, OK, actor=member(editor), at=ny(2026, 1, 11, 3))

    services.close_uptime_days_for(api_component.organization, now=ny(2026, 1, 12, 0, 10))

    eleventh = day_row(api_component, date(2026, 1, 11))
    assert (eleventh.major_seconds, eleventh.operational_seconds) == (3 * 3600, 21 * 3600)
    assert eleventh.closed
    twelfth = day_row(api_component, date(2026, 1, 12))
    assert twelfth.total_seconds == 0
    assert not twelfth.closed


def test_close_uptime_days_is_idempotent(api_component, editor):
    services.set_component_status(
        api_component, MAJOR, actor=member(editor), at=ny(2026, 1, 10, 22)
    )

    services.close_uptime_days_for(api_component.organization, now=ny(2026, 1, 11, 0, 5))
    services.close_uptime_days_for(api_component.organization, now=ny(2026, 1, 11, 0, 20))

    tenth = day_row(api_component, date(2026, 1, 10))
    assert (tenth.operational_seconds, tenth.major_seconds) == (10 * 3600, 2 * 3600)
    assert UptimeDay.objects.filter(component=api_component).count() == 2


def test_change_after_close_counts_from_midnight(api_component, editor):
    services.set_component_status(
        api_component, MAJOR, actor=member(editor), at=ny(2026, 1, 10, 22)
    )
    services.close_uptime_days_for(api_component.organization, now=ny(2026, 1, 11, 0, 5))

    services.set_component_status(api_component, OK, actor=member(editor), at=ny(2026, 1, 11, 1))

    assert day_row(api_component, date(2026, 1, 11)).major_seconds == 3600
    assert day_row(api_component, date(2026, 1, 10)).major_seconds == 2 * 3600


def test_close_task_runs_for_every_organization(api_component, other_org):
    from apps.status.tasks import close_uptime_days, close_uptime_days_for_organization

    ComponentFactory(organization=other_org)

    assert close_uptime_days() == 2  # one task per organization, run eagerly here
    # Both organizations' days were closed by the fan-out: nothing is left to account.
    assert close_uptime_days_for_organization(api_component.organization_id) == 0
    assert close_uptime_days_for_organization(other_org.pk) == 0


# --- backfill --------------------------------------------------------------------------------


def test_backfill_uptime_writes_history_and_closed_days(api_component):
    written = services.backfill_uptime(
        api_component,
        [
            (ny(2026, 1, 1), OK),
            (ny(2026, 1, 2, 23), MAJOR),
            (ny(2026, 1, 3, 1), PARTIAL),
            (ny(2026, 1, 3, 2), OK),
        ],
        until=ny(2026, 1, 5, 12),
    )

    assert written == 3
    days = {d.date: d for d in UptimeDay.objects.filter(component=api_component)}
    assert sorted(days) == [date(2026, 1, d) for d in range(1, 6)]
    assert days[date(2026, 1, 2)].major_seconds == 3600
    assert (days[date(2026, 1, 3)].major_seconds, days[date(2026, 1, 3)].partial_seconds) == (
        3600,
        3600,
    )
    assert days[date(2026, 1, 3)].worst_status == MAJOR
    assert days[date(2026, 1, 4)].operational_seconds == 86400
    assert days[date(2026, 1, 4)].closed
    assert days[date(2026, 1, 5)].operational_seconds == 12 * 3600
    assert not days[date(2026, 1, 5)].closed


def test_status_change_after_backfill_continues_from_until(api_component, editor):
    services.backfill_uptime(api_component, [(ny(2026, 1, 1), OK)], until=ny(2026, 1, 5, 12))

    services.set_component_status(api_component, MAJOR, actor=member(editor), at=ny(2026, 1, 5, 13))

    fifth = day_row(api_component, date(2026, 1, 5))
    assert fifth.operational_seconds == 13 * 3600


def test_backfill_is_refused_on_a_component_with_history(api_component, editor):
    services.set_component_status(
        api_component, MAJOR, actor=member(editor), at=ny(2026, 1, 10, 13)
    )

    with pytest.raises(ValueError, match="already has history"):
        services.backfill_uptime(api_component, [(ny(2026, 1, 1), OK)], until=ny(2026, 1, 5))


def test_backfill_two_years_uses_few_queries(api_component, django_assert_max_num_queries):
    changes = [(ny(2024, 1, 1), OK)]
    for week in range(104):
        start = ny(2024, 1, 2, 10) + timedelta(weeks=week)
        changes += [(start, PARTIAL), (start + timedelta(hours=1), OK)]

    # A handful of bulk inserts for 731 days and 208 changes, not a query per row.
    with django_assert_max_num_queries(20):
        services.backfill_uptime(api_component, changes, until=ny(2026, 1, 1))

    assert ComponentStatusChange.objects.filter(component=api_component).count() == 208


# --- uptime weighting ------------------------------------------------------------------------


def test_uptime_fraction_weights_partial_outage_and_ignores_maintenance(api_component):
    day = UptimeDayFactory.build(
        component=api_component,
        operational_seconds=36000,
        partial_seconds=10000,
        major_seconds=4000,
        maintenance_seconds=36400,
    )

    # 1 - (0.3 * 10000 + 4000) / 50000
    assert day.uptime_fraction == pytest.approx(0.86)


def test_uptime_fraction_of_a_maintenance_only_day_is_unknown(api_component):
    day = UptimeDayFactory.build(
        component=api_component, operational_seconds=0, maintenance_seconds=86400
    )

    assert day.uptime_fraction is None


# --- components, groups, order ---------------------------------------------------------------


def test_create_component_appends_at_its_parent(org, editor):
    group = services.create_component_group(org, actor=member(editor), name="Europe")
    website = services.create_component(org, actor=member(editor), name="Website")
    api = services.create_component(org, actor=member(editor), name="API", group=group)
    dashboard = services.create_component(org, actor=member(editor), name="Dashboard", group=group)

    assert (group.position, website.position) == (1, 2)
    assert (api.position, dashboard.position) == (1, 2)
    assert AuditEntry.objects.filter(action="component.create").count() == 3


def test_create_component_requires_a_name(org, editor):
    with pytest.raises(ValidationError):
        services.create_component(org, actor=member(editor), name="   ")


def test_component_cannot_join_another_orgs_group(org, other_org, editor):
    theirs = ComponentGroupFactory(organization=other_org)

    with pytest.raises(ValidationError):
        services.create_component(org, actor=member(editor), name="API", group=theirs)

    assert not Component.objects.exists()


def test_reorder_sets_positions_and_moves_between_groups(org, editor):
    europe = ComponentGroupFactory(organization=org, position=1)
    asia = ComponentGroupFactory(organization=org, position=2)
    web = ComponentFactory(organization=org, group=europe, position=1)
    api = ComponentFactory(organization=org, group=europe, position=2)
    cdn = ComponentFactory(organization=org, group=None, position=3)

    services.reorder(
        org,
        actor=member(editor),
        items=[
            {"type": "component", "id": cdn.public_id, "group": None},
            {"type": "group", "id": asia.public_id},
            {"type": "group", "id": europe.public_id},
            {"type": "component", "id": web.public_id, "group": asia.public_id},
        ],
    )

    for obj in (europe, asia, web, api, cdn):
        obj.refresh_from_db()
    assert (cdn.position, asia.position, europe.position) == (1, 2, 3)
    assert (web.group, web.position) == (asia, 1)
    assert (api.group, api.position) == (europe, 1)


def test_reorder_refuses_unknown_ids_and_writes_nothing(org, other_org, editor):
    mine = ComponentFactory(organization=org, position=1)
    theirs = ComponentFactory(organization=other_org, position=1)

    with pytest.raises(ValidationError):
        services.reorder(
            org,
            actor=member(editor),
            items=[
                {"type": "component", "id": theirs.public_id},
                {"type": "component", "id": mine.public_id},
            ],
        )

    assert not AuditEntry.objects.filter(action="components.reorder").exists()


def test_reorder_refuses_a_group_in_a_group(org, editor):
    europe, asia = ComponentGroupFactory.create_batch(2, organization=org)

    with pytest.raises(ValidationError):
        services.reorder(
            org,
            actor=member(editor),
            items=[{"type": "group", "id": asia.public_id, "group": europe.public_id}],
        )


def test_move_swaps_with_the_neighbour(org, editor):
    first = ComponentFactory(organization=org, position=1)
    second = ComponentFactory(organization=org, position=2)

    assert services.move(org, actor=member(editor), item=second, direction="up")
    assert not services.move(
        org, actor=member(editor), item=Component.objects.get(pk=second.pk), direction="up"
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (second.position, first.position) == (1, 2)


def test_deleting_a_group_keeps_its_components_at_top_level(org, editor):
    group = ComponentGroupFactory(organization=org, position=1)
    loose = ComponentFactory(organization=org, position=2)
    child = ComponentFactory(organization=org, group=group, position=1)

    services.delete_component_group(group, actor=member(editor))

    child.refresh_from_db()
    loose.refresh_from_db()
    assert child.group is None
    assert (loose.position, child.position) == (1, 2)


def test_update_component_moves_it_to_the_end_of_the_new_group(org, editor):
    group = ComponentGroupFactory(organization=org)
    ComponentFactory(organization=org, group=group, position=1)
    component = ComponentFactory(organization=org, position=1)

    services.update_component(component, actor=member(editor), group=group, name="Edge")

    component.refresh_from_db()
    assert (component.group, component.position, component.name) == (group, 2, "Edge")


def test_a_daylight_saving_day_has_23_hours(org, editor):
    org.timezone = "Europe/Berlin"
    org.save(update_fields=["timezone"])
    berlin = ZoneInfo("Europe/Berlin")
    component = ComponentFactory(
        organization=org, created_at=datetime(2026, 3, 28, 12, tzinfo=berlin)
    )

    services.close_uptime_days_for(org, now=datetime(2026, 3, 29, 0, 5, tzinfo=berlin))
    services.close_uptime_days_for(org, now=datetime(2026, 3, 30, 0, 5, tzinfo=berlin))

    # Clocks went forward on 29 March: that local day lasted 23 hours.
    assert day_row(component, date(2026, 3, 29)).operational_seconds == 23 * 3600
    assert day_row(component, date(2026, 3, 28)).operational_seconds == 12 * 3600


# --- who acts --------------------------------------------------------------------------------


def test_a_viewer_cannot_change_a_component_status_even_calling_the_service(api_component, viewer):
    with pytest.raises(PermissionDenied):
        services.set_component_status(api_component, MAJOR, actor=member(viewer))
    api_component.refresh_from_db()
    assert api_component.status == OK
    assert not ComponentStatusChange.objects.exists()


def test_component_writes_refuse_a_read_only_key_and_branding_refuses_an_editor(
    org, api_component, read_only_key, editor
):
    with pytest.raises(PermissionDenied, match="read-only"):
        services.create_component(org, actor=ApiKeyPrincipal(read_only_key), name="Web")
    with pytest.raises(PermissionDenied):
        services.delete_component(api_component, actor=ApiKeyPrincipal(read_only_key))
    with pytest.raises(PermissionDenied):
        services.update_branding(org, actor=member(editor), accent_color="#000000")
    assert list(Component.objects.all()) == [api_component]


def test_the_history_names_the_system_principal(api_component):
    change = services.set_component_status(
        api_component, MAJOR, actor=System("Alertmanager integration “prod”")
    )
    assert (change.actor, change.actor_label) == (None, "Alertmanager integration “prod”")


def test_the_history_names_a_member_and_keeps_the_user(api_component, editor):
    change = services.set_component_status(api_component, MAJOR, actor=member(editor))
    assert (change.actor, change.actor_label) == (editor, "eddie@acme.test")
