"""Webhook batches talk to several endpoints at once; database writes stay in the task."""

from __future__ import annotations

import json
import threading
import time

import pytest

from apps.incidents.notifications import EventKind as Kind
from apps.notifications.channels import webhook as webhook_channel
from apps.notifications.models import Delivery, NotificationEvent, Subscriber
from tests.factories import IncidentFactory, IncidentUpdateFactory

from .factories import NotificationEventFactory, WebhookSubscriberFactory
from .receiver import http_receiver

Status = Delivery.Status


@pytest.fixture
def incident(org):
    return IncidentFactory(organization=org, name="Elevated API errors")


def event_for(incident, kind=Kind.INCIDENT_OPENED) -> NotificationEvent:
    update = IncidentUpdateFactory(incident=incident, body="We are looking into it.")
    return NotificationEventFactory(
        organization=incident.organization, kind=kind, incident=incident, update=update
    )


def deliveries(event, subscribers) -> list[int]:
    return [
        Delivery.objects.create(
            organization=event.organization, event=event, subscriber=s, channel=s.channel
        ).pk
        for s in subscribers
    ]


def one_per_kind(incident, subscriber, *kinds) -> list[int]:
    return [deliveries(event_for(incident, kind), [subscriber])[0] for kind in kinds]


def test_slow_endpoints_are_waited_for_side_by_side(org, incident, loopback_hooks, settings):
    settings.NOTIFICATIONS_WEBHOOK_CONCURRENCY = 8
    with http_receiver() as hooks:
        hooks.delay = 0.4
        subscribers = [
            WebhookSubscriberFactory(organization=org, url=f"{hooks.url}/{n}") for n in range(8)
        ]
        ids = deliveries(event_for(incident), subscribers)
        started = time.monotonic()
        assert webhook_channel.send_batch(ids, owner="t") == []
        elapsed = time.monotonic() - started

    assert len(hooks.requests) == 8
    assert set(Delivery.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Status.SENT
    }
    # One after another would take 8 x 0.4 s.
    assert elapsed < 8 * 0.4 / 2


def test_one_subscribers_events_arrive_in_order_on_one_connection_at_a_time(
    org, incident, loopback_hooks, settings, monkeypatch
):
    settings.NOTIFICATIONS_WEBHOOK_CONCURRENCY = 8
    in_flight: list[int] = []
    most = 0
    lock = threading.Lock()
    with http_receiver() as hooks:
        hook = WebhookSubscriberFactory(organization=org, url=hooks.url)
        ids = one_per_kind(
            incident, hook, Kind.INCIDENT_OPENED, Kind.INCIDENT_UPDATED, Kind.INCIDENT_RESOLVED
        )

        original = webhook_channel.http.Session.post

        def counting_post(session, url, body, headers):
            nonlocal most
            with lock:
                in_flight.append(1)
                most = max(most, len(in_flight))
            try:
                time.sleep(0.05)
                return original(session, url, body, headers)
            finally:
                with lock:
                    in_flight.pop()

        monkeypatch.setattr(webhook_channel.http.Session, "post", counting_post)
        webhook_channel.send_batch(ids, owner="t")

    assert most == 1
    kinds = [json.loads(r.body)["meta"]["event_type"] for r in hooks.requests]
    assert kinds == ["incident.opened", "incident.updated", "incident.resolved"]


def test_a_dead_endpoint_does_not_hold_up_the_others(org, incident, loopback_hooks):
    with http_receiver() as hooks:
        dead = WebhookSubscriberFactory(organization=org, url="http://127.0.0.1:9/hook")
        alive = [
            WebhookSubscriberFactory(organization=org, url=f"{hooks.url}/{n}") for n in range(3)
        ]
        event = event_for(incident)
        second = event_for(incident, Kind.INCIDENT_UPDATED)
        dead_ids = deliveries(event, [dead]) + deliveries(second, [dead])
        alive_ids = deliveries(event, alive)
        webhook_channel.send_batch(dead_ids + alive_ids, owner="t")

    assert len(hooks.requests) == 3
    assert set(Delivery.objects.filter(pk__in=alive_ids).values_list("status", flat=True)) == {
        Status.SENT
    }
    failed = list(Delivery.objects.filter(pk__in=dead_ids).order_by("pk"))
    # Both rows wait for a retry; the second was not even tried against a dead endpoint.
    assert [d.status for d in failed] == [Status.PENDING, Status.PENDING]
    assert all(d.next_attempt_at is not None and d.last_error for d in failed)
    assert "Not sent after an earlier error" in failed[1].last_error
    dead.refresh_from_db()
    # One failed connection attempt counts once per delivery.
    assert dead.consecutive_failures == 2


def test_a_subscriber_disabled_mid_batch_gets_nothing_more(org, incident, loopback_hooks):
    with http_receiver() as hooks:
        hooks.statuses = [410]
        hook = WebhookSubscriberFactory(organization=org, url=hooks.url)
        ids = one_per_kind(incident, hook, Kind.INCIDENT_OPENED, Kind.INCIDENT_UPDATED)
        webhook_channel.send_batch(ids, owner="t")

    hook.refresh_from_db()
    assert hook.state == Subscriber.State.DISABLED
    rows = list(Delivery.objects.filter(pk__in=ids).order_by("pk"))
    assert rows[0].status == Status.FAILED
    assert rows[1].status == Status.SKIPPED


def test_rows_not_started_in_time_are_handed_over(org, incident, loopback_hooks, settings):
    settings.NOTIFICATIONS_BATCH_TIME_BUDGET = 0
    settings.NOTIFICATIONS_WEBHOOK_CONCURRENCY = 1
    with http_receiver() as hooks:
        hook = WebhookSubscriberFactory(organization=org, url=hooks.url)
        ids = one_per_kind(incident, hook, Kind.INCIDENT_OPENED, Kind.INCIDENT_UPDATED)
        left_over = webhook_channel.send_batch(ids, owner="t")

    # Out of time before the first send: nothing posted, every row handed to a new task
    # and released for it.
    assert hooks.requests == []
    assert left_over == ids
    assert set(Delivery.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Status.PENDING
    }
    assert not Delivery.objects.filter(pk__in=ids, leased_until__isnull=False).exists()


def test_subscribers_behind_one_endpoint_share_a_few_kept_connections(
    org, incident, loopback_hooks, settings
):
    """Twenty subscribers posting to one host: the batch keeps its connections open and reuses
    them (at most one per sender thread), rather than one new connection per post."""
    settings.NOTIFICATIONS_WEBHOOK_CONCURRENCY = 4
    with http_receiver() as hooks:
        subscribers = [
            WebhookSubscriberFactory(organization=org, url=f"{hooks.url}/{n}") for n in range(20)
        ]
        ids = deliveries(event_for(incident), subscribers)
        assert webhook_channel.send_batch(ids, owner="t") == []

    assert Delivery.objects.filter(pk__in=ids, status=Status.SENT).count() == 20
    assert sorted(r.path for r in hooks.requests) == sorted(f"/hook/{n}" for n in range(20))
    assert 1 <= hooks.connections <= 4
    # Every request carried its own subscriber's signature on the shared connections.
    ids_seen = {r.headers["webhook-id"] for r in hooks.requests}
    assert len(ids_seen) == 20


def test_an_endpoint_that_closes_each_connection_still_gets_every_post(
    org, incident, loopback_hooks, settings
):
    settings.NOTIFICATIONS_WEBHOOK_CONCURRENCY = 2
    with http_receiver(keep_alive=False) as hooks:
        subscribers = [
            WebhookSubscriberFactory(organization=org, url=f"{hooks.url}/{n}") for n in range(6)
        ]
        ids = deliveries(event_for(incident), subscribers)
        webhook_channel.send_batch(ids, owner="t")

    assert Delivery.objects.filter(pk__in=ids, status=Status.SENT).count() == 6
    assert hooks.connections == 6
