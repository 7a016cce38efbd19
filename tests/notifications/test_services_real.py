"""Real PostgreSQL, Redis, Celery worker processes, SMTP sink and HTTP receiver on 127.0.0.1.

Run: CANDOR_TEST_SERVICES=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/candor_dev
     REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/pytest tests/notifications -m services
The worker sees rows because these tests commit (transactional_db) into the test database,
whose name is passed to it in DATABASE_URL.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.incidents.notifications import EventKind
from apps.notifications import ledger, services
from apps.notifications.models import Delivery, NotificationEvent, Subscriber
from tests.factories import ComponentFactory, IncidentFactory, IncidentUpdateFactory

from .factories import (
    EmailSubscriberFactory,
    NotificationEventFactory,
    SlackSubscriberFactory,
    WebhookSubscriberFactory,
)
from .receiver import http_receiver
from .smtp_sink import SMTPSink
from .test_pipeline import verify_signature
from .worker import Worker, purge_queues, worker_env

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not os.environ.get("CANDOR_TEST_SERVICES"),
        reason="set CANDOR_TEST_SERVICES=1 (with DATABASE_URL and REDIS_URL) to run",
    ),
]


@pytest.fixture
def services_ready(transactional_db, settings):
    assert settings.REDIS_URL, "Real-service tests need REDIS_URL."
    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), (
        "Real-service tests need DATABASE_URL to point at PostgreSQL."
    )
    assert settings.CELERY_TASK_ALWAYS_EAGER is False
    purge_queues()


@pytest.fixture
def sink():
    with SMTPSink() as sink:
        yield sink


@pytest.fixture
def start_worker(services_ready, sink):
    workers: list[Worker] = []

    def start(**extra_env: str) -> Worker:
        worker = Worker(worker_env(smtp_port=sink.port, **extra_env)).start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")


def all_decided(event: NotificationEvent, expected: int) -> Callable[[], bool]:
    def check() -> bool:
        decided = Delivery.objects.filter(event=event).exclude(status=Delivery.Status.PENDING)
        return decided.count() >= expected

    return check


def post_incident(org, component=None) -> NotificationEvent:
    """What apps.incidents.services does: the change and its outbox row in one transaction."""
    with transaction.atomic():
        incident = IncidentFactory(organization=org, name="Elevated API errors")
        if component is not None:
            incident.components.add(component)
        update = IncidentUpdateFactory(incident=incident, body="We are investigating.")
        return NotificationEventFactory(
            organization=org,
            kind=EventKind.INCIDENT_OPENED,
            incident=incident,
            update=update,
            component_ids=[component.public_id] if component else [],
        )


def test_an_incident_reaches_mail_webhook_and_slack_once_through_a_real_worker(
    org, sink, start_worker
):
    api, web = ComponentFactory(organization=org), ComponentFactory(organization=org)
    readers = EmailSubscriberFactory.create_batch(20, organization=org, components=[api])
    EmailSubscriberFactory(organization=org, email="web-only@example.com", components=[web])
    EmailSubscriberFactory(organization=org, email="pending@example.com", confirmed_at=None)
    with http_receiver() as hooks, http_receiver() as slack:
        hook = WebhookSubscriberFactory(organization=org, url=hooks.url)
        SlackSubscriberFactory(organization=org, url=slack.url)
        start_worker()
        event = post_incident(org, api)
        wait_until(all_decided(event, 22), 60, "22 deliveries")
        wait_until(lambda: sink.state.count() >= 20, 10, "20 mails at the sink")

    assert set(Delivery.objects.filter(event=event).values_list("status", flat=True)) == {
        Delivery.Status.SENT
    }
    assert sorted(sink.state.recipients()) == sorted(r.email for r in readers)
    message = sink.state.messages[0].message()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["References"] == f"<incident/{event.subject_id}@status.localhost>"
    assert len(hooks.requests) == 1
    assert verify_signature(hook.webhook_secret, hooks.requests[0].headers, hooks.requests[0].body)
    assert len(slack.requests) == 1
    event.refresh_from_db()
    assert event.processed_at is not None


def test_a_worker_killed_mid_fan_out_loses_nothing(org, sink, start_worker):
    total = 600
    Subscriber.objects.bulk_create(
        Subscriber(
            organization=org,
            channel=Subscriber.Channel.EMAIL,
            email=f"reader{n}@example.com",
            confirmed_at=timezone.now(),
        )
        for n in range(total)
    )
    sink.state.delay = 0.01  # stretch the run so the kill lands in the middle
    fault_env = {
        "CELERY_VISIBILITY_TIMEOUT": "10",
        "NOTIFICATIONS_FANOUT_CHUNK": "50",
        "NOTIFICATIONS_SWEEP_GRACE_SECONDS": "15",
    }
    first = start_worker(**fault_env)
    event = post_incident(org)
    wait_until(lambda: sink.state.count() >= total // 4, 60, "a quarter of the mail")
    first.kill()
    at_kill = sink.state.count()
    assert at_kill < total, "the run finished before the kill; make it slower"

    start_worker(**fault_env)
    decided = all_decided(event, total)
    last_sweep = time.monotonic()

    def decided_while_beat_runs() -> bool:
        # Beat runs the sweepers every few seconds in production: the killed tasks come back by
        # whichever path is first, the broker's unacked restore or the database sweep.
        nonlocal last_sweep
        if time.monotonic() - last_sweep > 3:
            services.requeue_unprocessed_events()
            services.retry_due_deliveries()
            last_sweep = time.monotonic()
        return decided()

    recovery = wait_until(decided_while_beat_runs, 120, "every delivery after the kill")

    recipients = Counter(sink.state.recipients())
    duplicates = sum(count - 1 for count in recipients.values())
    print(f"kill at {at_kill}/{total} mails, recovered in {recovery:.1f} s, {duplicates} dup")
    assert set(recipients) == {f"reader{n}@example.com" for n in range(total)}
    # At most what was in flight at the kill, per pool process (2): the message being sent and
    # the accepted ones whose sent mark was still queued.
    assert duplicates <= 2 * (1 + ledger.SENT_MARK_QUEUE_LIMIT)
    assert Delivery.objects.filter(event=event, status=Delivery.Status.SENT).count() == total
    # The killed tasks came back from the broker in seconds (visibility timeout 10 s here).
    assert recovery < 45


def test_broker_messages_lost_are_recovered_by_the_sweepers(org, sink, start_worker):
    import redis

    EmailSubscriberFactory.create_batch(30, organization=org)
    # No worker yet: the fan-out message waits in Redis, and then Redis loses it.
    event = post_incident(org)
    client = redis.Redis.from_url(settings.REDIS_URL)
    assert client.llen("notifications") == 1
    purge_queues()
    start_worker()
    time.sleep(2)
    assert sink.state.count() == 0

    # What beat does once the grace period has passed.
    NotificationEvent.objects.filter(pk=event.pk).update(
        created_at=timezone.now() - timezone.timedelta(minutes=10)
    )
    assert services.requeue_unprocessed_events() == 1
    wait_until(all_decided(event, 30), 60, "30 deliveries after the sweep")

    assert sorted(Counter(sink.state.recipients()).values()) == [1] * 30
