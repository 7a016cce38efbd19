"""Slack's ~1 message per second per incoming webhook: sends are spaced per URL, and a
delivery that must wait is rescheduled in the database (no worker sleeps)."""

from __future__ import annotations

import json
import time

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.incidents.notifications import EventKind
from apps.notifications import ledger, pipeline
from apps.notifications.channels import webhook as webhook_channel
from apps.notifications.models import Delivery, NotificationEvent
from tests.factories import IncidentFactory

from .factories import SlackSubscriberFactory
from .receiver import http_receiver
from .test_pipeline import publish  # noqa: F401 (fixture)

Status = Delivery.Status
URL = "https://hooks.slack.com/services/T0/B0/secret-token"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_one_message_per_interval_per_url(settings, monkeypatch):
    settings.NOTIFICATIONS_SLACK_MIN_INTERVAL = 1.0
    clock = [1000.2]
    monkeypatch.setattr(ledger.time, "time", lambda: clock[0])
    keys: list[str] = []
    for method in ("get", "add"):
        original = getattr(cache, method)

        def spy(key, *args, _original=original, **kwargs):
            keys.append(key)
            return _original(key, *args, **kwargs)

        monkeypatch.setattr(cache, method, spy)

    assert ledger.slack_wait(URL) == 0.0
    clock[0] = 1000.5
    assert ledger.slack_wait(URL) == pytest.approx(0.7)  # same window: wait for its end
    assert ledger.slack_wait(URL + "x") == 0.0  # another channel is paced on its own
    clock[0] = 1001.05  # next window, but only 0.85 s after the last message
    assert ledger.slack_wait(URL) == pytest.approx(0.15)
    clock[0] = 1001.3
    assert ledger.slack_wait(URL) == 0.0
    # The URL (its last segment is a secret) is never part of a cache key.
    assert keys, "pacing goes through the cache"
    assert not any("secret-token" in key for key in keys)


def test_pacing_off_when_the_interval_is_zero(settings):
    settings.NOTIFICATIONS_SLACK_MIN_INTERVAL = 0
    assert ledger.slack_wait(URL) == 0.0
    assert ledger.slack_wait(URL) == 0.0


def test_a_cache_failure_never_stops_delivery(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", broken)
    assert ledger.slack_wait(URL) == 0.0
    assert ledger.slack_wait(URL) == 0.0


def _component_event(org, n):
    # Every event has a subject its kind's renderer reads (here an incident).
    return {
        "organization": org,
        "kind": EventKind.INCIDENT_OPENED,
        "incident": IncidentFactory(organization=org),
        "data": {"n": n},
    }


def test_second_message_to_the_same_slack_waits_in_the_database(
    org,
    settings,
    publish,  # noqa: F811
    loopback_hooks,
):
    settings.NOTIFICATIONS_SLACK_MIN_INTERVAL = 0.5
    with http_receiver() as slack:
        subscriber = SlackSubscriberFactory(organization=org, url=slack.url)
        first = publish(**_component_event(org, 1))
        started = timezone.now()
        second = publish(**_component_event(org, 2))

        assert len(slack.requests) == 1
        assert first.deliveries.get().status == Status.SENT
        waiting = second.deliveries.get()
        assert waiting.status == Status.PENDING
        assert waiting.attempts == 0  # pacing is not a failed attempt
        assert waiting.last_error == ""
        assert started < waiting.next_attempt_at <= started + timezone.timedelta(seconds=0.6)
        assert waiting.leased_until == waiting.next_attempt_at
        # Not before its time, even by the sweeper.
        assert pipeline.retry_due_deliveries() == 0

        time.sleep(0.6)
        assert pipeline.retry_due_deliveries() == 1

    assert len(slack.requests) == 2
    assert second.deliveries.get().status == Status.SENT
    assert subscriber.deliveries.filter(status=Status.SENT).count() == 2
    assert all("text" in json.loads(r.body) for r in slack.requests)


def test_with_a_broker_the_waiting_rows_come_back_by_countdown(org, monkeypatch, settings):
    from apps.notifications import tasks

    settings.NOTIFICATIONS_SLACK_MIN_INTERVAL = 1.0
    subscriber = SlackSubscriberFactory(organization=org, url=URL)
    event = NotificationEvent.objects.create(
        organization=org, kind=EventKind.INCIDENT_OPENED, deliver=False
    )
    delivery = Delivery.objects.create(
        organization=org, event=event, subscriber=subscriber, channel=subscriber.channel
    )
    ledger.slack_wait(URL)  # another message just took this second
    sent: list[dict] = []
    monkeypatch.setattr(webhook_channel, "celery_is_eager", lambda: False)
    monkeypatch.setattr(tasks.send_webhook_batch, "apply_async", lambda **kw: sent.append(kw))
    monkeypatch.setattr(webhook_channel, "post_all", lambda *a: pytest.fail("must not send now"))

    assert webhook_channel.send_batch([delivery.pk], owner="t") == []

    assert len(sent) == 1
    assert sent[0]["args"] == [[delivery.pk]]
    assert 0 < sent[0]["countdown"] <= 1.1
    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING and delivery.leased_until is not None
