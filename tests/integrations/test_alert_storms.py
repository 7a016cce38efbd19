"""Alert storms do not flood subscribers: alerts that change nothing a reader can see post
nothing, and an incident gets at most one alert-driven update per window (services.py,
"Coalescing"); changes inside the window are folded into one update at its end."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.incidents import services as incident_services
from apps.incidents.models import Incident, IncidentStatus
from apps.integrations.alerts.payloads import parse
from apps.integrations.alerts.services import (
    create_alert_integration,
    post_due_updates,
    receive_notification,
    update_alert_integration,
)
from apps.integrations.models import AlertEvent, AlertGroupState
from apps.notifications.models import NotificationEvent
from apps.status.models import ComponentStatus

from ..factories import ComponentFactory, member
from ..notifications.factories import EmailSubscriberFactory
from .test_alerts_hooks import alertmanager_payload, am_alert, post

# Large enough to be a storm, small enough to run in a few seconds on SQLite; the 1,000-alert
# run is test_a_storm_of_1000_alerts_through_a_real_worker (services-gated).
STORM = 200


@pytest.fixture
def api(org):
    return ComponentFactory(organization=org, name="API")


@pytest.fixture
def web(org):
    return ComponentFactory(organization=org, name="Web")


@pytest.fixture
def alertmanager(org, owner):
    integration, token = create_alert_integration(
        org, actor=member(owner), kind="alertmanager", name="Prometheus"
    )
    integration.token = token
    assert integration.update_window_minutes == 5  # the default
    return integration


@pytest.fixture
def t0() -> datetime:
    """The moment the incident opens. Tests pass times relative to it, never the clock's."""
    return timezone.now()


def send(integration, *alerts: dict, at: datetime) -> AlertEvent:
    raw = json.dumps(alertmanager_payload(*alerts)).encode()
    return receive_notification(integration, parse("alertmanager", raw), raw=raw, now=at)


def notification_events() -> int:
    """Incident events sent to subscribers (each component change an update makes is an event
    too, rendered within the incident's: counted by the mails per subscriber)."""
    return NotificationEvent.objects.filter(kind__startswith="incident.", deliver=True).count()


def refreshed(*objects):
    for obj in objects:
        obj.refresh_from_db()
    return objects


def test_a_storm_of_new_fingerprints_on_one_component_posts_one_update_and_one_mail(
    client, org, alertmanager, api, django_capture_on_commit_callbacks
):
    readers = EmailSubscriberFactory.create_batch(2, organization=org)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(STORM):
            response = post(client, alertmanager, alertmanager_payload(am_alert(f"fp{n}", "api")))
            assert response.status_code == 200

    incident = Incident.objects.get()
    assert incident.updates.count() == 1  # the opening; nothing else was visible
    assert notification_events() == 1
    for reader in readers:
        assert len([m for m in mail.outbox if m.to == [reader.email]]) == 1
    # Every alert is recorded: resolving them one by one keeps API down until the last.
    assert len(AlertGroupState.objects.get().firing) == STORM
    events = AlertEvent.objects.order_by("received_at", "id")
    assert events.count() == STORM
    assert events.first().summary.startswith("Opened incident")
    quiet = events.filter(summary__startswith="No visible change")
    assert quiet.count() == STORM - 1
    assert all(e.outcome == AlertEvent.Outcome.CHANGED and e.update is None for e in quiet)


def test_alertmanager_resending_a_growing_alert_list_posts_one_update(client, alertmanager, api):
    alerts: list[dict] = []
    for n in range(STORM // 2):
        alerts.append(am_alert(f"fp{n}", "api"))
        post(client, alertmanager, alertmanager_payload(*alerts))

    assert Incident.objects.get().updates.count() == 1
    assert notification_events() == 1
    assert len(AlertGroupState.objects.get().firing) == STORM // 2


def test_a_new_component_inside_the_window_is_posted_when_the_window_ends(
    alertmanager, api, web, t0
):
    first = am_alert("a1", "api")
    send(alertmanager, first, at=t0)
    incident = Incident.objects.get()

    held = send(alertmanager, first, am_alert("w1", "web"), at=t0 + timedelta(minutes=1))
    # More of the same inside the window changes nothing further.
    for n in range(20):
        send(alertmanager, first, am_alert(f"w{n + 2}", "web"), at=t0 + timedelta(minutes=2))

    (web,) = refreshed(web)
    assert web.status == ComponentStatus.OPERATIONAL  # nothing public yet
    assert incident.updates.count() == 1
    assert held.held and held.summary.startswith("Coalesced: held for one update at")
    # The later calls add nothing to what is held: the log says so rather than "held" again.
    assert AlertEvent.objects.filter(held=True).get() == held
    later = AlertEvent.objects.exclude(pk=held.pk).filter(summary__contains="is posted at")
    assert later.count() == 20
    state = AlertGroupState.objects.get()
    assert state.post_due_at == t0 + timedelta(minutes=5)

    assert post_due_updates(t0 + timedelta(minutes=4, seconds=59)) == 0
    assert incident.updates.count() == 1

    assert post_due_updates(t0 + timedelta(minutes=5)) == 1

    (web, incident) = refreshed(web, incident)
    assert web.status == ComponentStatus.MAJOR_OUTAGE
    assert incident.updates.count() == 2
    update = incident.updates.first()
    assert update.body == "The problem now also affects Web. We are investigating."
    assert notification_events() == 2
    (held,) = refreshed(held)
    assert not held.held
    assert held.update == update
    assert "→ coalesced into the update of" in held.summary
    window_end = AlertEvent.objects.get(summary__startswith="Window ended")
    assert window_end.update == update
    assert window_end.summary == "Window ended: Added Web to incident “Elevated API error rates”"
    # Idempotent: a second sweep (or a late one) posts nothing more.
    assert post_due_updates(t0 + timedelta(minutes=6)) == 0
    assert incident.updates.count() == 2


def test_the_first_change_after_a_quiet_window_posts_at_once_and_starts_a_new_window(
    alertmanager, api, web, t0
):
    first = am_alert("a1", "api")
    send(alertmanager, first, at=t0)

    event = send(alertmanager, first, am_alert("w1", "web"), at=t0 + timedelta(minutes=6))

    (web,) = refreshed(web)
    assert web.status == ComponentStatus.MAJOR_OUTAGE
    assert event.update is not None and not event.held
    assert AlertGroupState.objects.get().last_posted_at == t0 + timedelta(minutes=6)


def test_a_worse_status_escalates_at_the_windows_end(alertmanager, owner, api, t0):
    send(alertmanager, am_alert("a1", "api", severity="warning"), at=t0)
    (api,) = refreshed(api)
    assert api.status == ComponentStatus.PARTIAL_OUTAGE
    # Another warning on the same component: nothing a reader can see.
    quiet = send(alertmanager, am_alert("a2", "api", severity="warning"), at=t0)
    assert quiet.summary.startswith("No visible change") and quiet.update is None

    worse = send(alertmanager, am_alert("a3", "api"), at=t0 + timedelta(minutes=2))

    assert worse.held
    post_due_updates(t0 + timedelta(minutes=5))
    (api,) = refreshed(api)
    assert api.status == ComponentStatus.MAJOR_OUTAGE
    incident = Incident.objects.get()
    assert incident.updates.count() == 2
    assert (
        incident.updates.first().body
        == "The problem affecting API got worse. We are investigating."
    )


def test_a_resolve_inside_the_window_posts_at_once_with_what_was_held(alertmanager, api, web, t0):
    send(alertmanager, am_alert("a1", "api"), at=t0)
    held = send(
        alertmanager, am_alert("a1", "api"), am_alert("w1", "web"), at=t0 + timedelta(minutes=1)
    )
    assert held.held

    resolved = send(
        alertmanager,
        am_alert("a1", "api", resolved=True),
        am_alert("w1", "web", resolved=True),
        at=t0 + timedelta(minutes=2),
    )

    incident, api, web, held = refreshed(Incident.objects.get(), api, web, held)
    assert incident.status == IncidentStatus.MONITORING
    assert resolved.update == incident.updates.first()
    assert api.status == ComponentStatus.OPERATIONAL
    # Web was never shown down, so nothing to give back.
    assert web.status == ComponentStatus.OPERATIONAL
    assert held.update == resolved.update
    assert AlertGroupState.objects.get().post_due_at is None
    assert post_due_updates(t0 + timedelta(minutes=10)) == 0
    assert incident.updates.count() == 2


def test_an_alert_that_fires_again_right_after_the_resolve_waits_for_the_window(
    alertmanager, api, t0
):
    send(alertmanager, am_alert("a1", "api"), at=t0)
    send(alertmanager, am_alert("a1", "api", resolved=True), at=t0 + timedelta(minutes=1))
    again = am_alert("a2", "api")

    flap = send(alertmanager, again, at=t0 + timedelta(minutes=2))

    incident = Incident.objects.get()
    assert flap.held and incident.status == IncidentStatus.MONITORING
    post_due_updates(t0 + timedelta(minutes=6))
    incident, api = refreshed(incident, api)
    assert incident.status == IncidentStatus.INVESTIGATING
    assert api.status == ComponentStatus.MAJOR_OUTAGE
    assert incident.updates.count() == 3


def test_the_resolve_setting_resolves_at_once_inside_the_window(alertmanager, owner, api, web, t0):
    update_alert_integration(alertmanager, actor=member(owner), on_resolved="resolve")
    send(alertmanager, am_alert("a1", "api"), at=t0)
    send(alertmanager, am_alert("a1", "api"), am_alert("w1", "web"), at=t0 + timedelta(seconds=30))

    send(
        alertmanager,
        am_alert("a1", "api", resolved=True),
        am_alert("w1", "web", resolved=True),
        at=t0 + timedelta(minutes=1),
    )

    assert Incident.objects.get().status == IncidentStatus.RESOLVED
    assert AlertGroupState.objects.get().state == AlertGroupState.State.CLOSED
    assert post_due_updates(t0 + timedelta(minutes=10)) == 0


def test_changes_that_cancel_out_inside_the_window_post_nothing(alertmanager, api, web, t0):
    first = am_alert("a1", "api")
    send(alertmanager, first, at=t0)
    held = send(alertmanager, first, am_alert("w1", "web"), at=t0 + timedelta(minutes=1))
    undo = send(
        alertmanager, first, am_alert("w1", "web", resolved=True), at=t0 + timedelta(minutes=2)
    )
    assert undo.summary.startswith("No visible change")

    assert post_due_updates(t0 + timedelta(minutes=5)) == 1

    assert Incident.objects.get().updates.count() == 1
    assert notification_events() == 1
    (held,) = refreshed(held)
    assert held.update is None and not held.held
    assert held.summary.endswith("→ nothing posted: no visible change when the window ended")


def test_an_incident_staff_resolved_meanwhile_gets_nothing_at_the_windows_end(
    alertmanager, owner, api, web, t0
):
    first = am_alert("a1", "api")
    send(alertmanager, first, at=t0)
    send(alertmanager, first, am_alert("w1", "web"), at=t0 + timedelta(minutes=1))
    incident = Incident.objects.get()
    incident_services.resolve_incident(incident, actor=member(owner))

    post_due_updates(t0 + timedelta(minutes=5))

    (web, incident) = refreshed(web, incident)
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.updates.count() == 2
    assert web.status == ComponentStatus.OPERATIONAL
    assert AlertGroupState.objects.get().post_due_at is None


def test_a_window_of_zero_posts_every_visible_change_at_once(alertmanager, owner, api, web, t0):
    update_alert_integration(alertmanager, actor=member(owner), update_window_minutes=0)
    first = am_alert("a1", "api")
    send(alertmanager, first, at=t0)

    send(alertmanager, first, am_alert("w1", "web"), at=t0)
    quiet = send(alertmanager, first, am_alert("w1", "web"), am_alert("w2", "web"), at=t0)

    assert Incident.objects.get().updates.count() == 2
    assert quiet.summary.startswith("No visible change")


def test_the_beat_task_posts_due_changes(alertmanager, api, web, t0):
    from apps.integrations.tasks import post_due_alert_updates

    first = am_alert("a1", "api")
    send(alertmanager, first, at=t0 - timedelta(minutes=10))
    send(alertmanager, first, am_alert("w1", "web"), at=t0 - timedelta(minutes=9))

    assert post_due_alert_updates.delay().get() == 1

    (web,) = refreshed(web)
    assert web.status == ComponentStatus.MAJOR_OUTAGE


def test_the_sweep_is_in_the_beat_schedule(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["integrations-post-due-alert-updates"]
    assert schedule["task"] == "integrations.post_due_alert_updates"
    assert schedule["schedule"] <= 15


@pytest.mark.parametrize("minutes", [-1, 61, "5", True])
def test_the_window_setting_is_checked(alertmanager, owner, minutes):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        update_alert_integration(alertmanager, actor=member(owner), update_window_minutes=minutes)


def test_a_published_draft_counts_as_shown_so_more_of_the_same_posts_nothing(
    alertmanager, owner, api, t0
):
    from apps.integrations.alerts.services import publish_draft

    update_alert_integration(alertmanager, actor=member(owner), on_firing="draft")
    send(alertmanager, am_alert("a1", "api"), at=t0)
    incident = publish_draft(AlertGroupState.objects.get(), actor=member(owner))

    quiet = send(alertmanager, am_alert("a2", "api"), at=timezone.now() + timedelta(minutes=10))

    assert quiet.summary.startswith("No visible change")
    assert incident.updates.count() == 1


def test_held_changes_of_an_integration_disabled_meanwhile_are_not_posted(
    alertmanager, owner, api, web, t0
):
    first = am_alert("a1", "api")
    send(alertmanager, first, at=t0)
    held = send(alertmanager, first, am_alert("w1", "web"), at=t0 + timedelta(minutes=1))
    update_alert_integration(alertmanager, actor=member(owner), enabled=False)

    post_due_updates(t0 + timedelta(minutes=5))

    (held, web) = refreshed(held, web)
    assert held.summary.endswith("→ nothing posted: the integration was disabled meanwhile")
    assert web.status == ComponentStatus.OPERATIONAL
