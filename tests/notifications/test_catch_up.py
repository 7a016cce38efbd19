"""Catching up after an outage (issue 13): after a worker is killed or Redis comes back empty,
mail goes out within 15 s of the part coming back, not after the broker's visibility timeout
(51-61 s), a lease (48-53 s) or the old two-minute grace (133 s).

How: a sender batch's lease is short and renewed while it runs (ledger.LeaseKeeper), rows whose
batch message was lost are due 10 s after creation, events whose fan-out was lost 10 s after
they were written (once per two minutes each, remembered in Redis: lost with it), beat sweeps
every few seconds, and a worker that starts sweeps at once.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from apps.notifications import conf, ledger, pipeline, services, tasks
from apps.notifications.models import Delivery, NotificationEvent

from .factories import EmailSubscriberFactory, NotificationEventFactory
from .test_pipeline import incident, opened, publish  # noqa: F401 (fixtures)

CATCH_UP_SECONDS = 15


def beat_every(task: str) -> float:
    return next(
        entry["schedule"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == task
    )


def test_a_killed_workers_rows_are_resent_within_the_catch_up_bound(monkeypatch):
    # Its lease stops being renewed when it dies; the sweeper finds the rows at its next run.
    monkeypatch.setattr(conf, "lease_renewed", lambda: True)

    worst = conf.lease_seconds() + beat_every("notifications.retry_due_deliveries")

    assert worst < CATCH_UP_SECONDS - 1  # a second left to send


def test_rows_whose_batch_was_lost_with_redis_are_resent_within_the_bound():
    worst = conf.sweep_grace() + beat_every("notifications.retry_due_deliveries")

    assert worst < CATCH_UP_SECONDS - 1


def test_events_whose_fan_out_was_lost_are_fanned_out_within_the_bound():
    worst = conf.unprocessed_event_grace() + beat_every("notifications.requeue_unprocessed_events")

    assert worst < CATCH_UP_SECONDS - 1


def test_without_renewal_the_lease_ends_before_the_visibility_timeout(monkeypatch):
    # SQLite (no second connection for the renewing thread): the old rule, the redelivered
    # task claims the rows at once.
    monkeypatch.setattr(conf, "lease_renewed", lambda: False)
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]

    assert conf.lease_seconds() == visibility - 5


def test_a_lost_batch_is_due_for_the_sweeper_ten_seconds_after_creation(
    org,
    incident,  # noqa: F811
    publish,  # noqa: F811
    monkeypatch,
):
    EmailSubscriberFactory(organization=org)
    monkeypatch.setattr(tasks.send_email_batch, "apply_async", lambda *a, **k: None)
    event = publish(**opened(incident))
    delivery = Delivery.objects.get(event=event)

    assert delivery.next_attempt_at - delivery.created_at == timedelta(seconds=10)


def test_the_sweeper_enqueues_a_row_once_per_grace_not_on_every_sweep(
    org,
    incident,  # noqa: F811
    publish,  # noqa: F811
    monkeypatch,
):
    EmailSubscriberFactory.create_batch(2, organization=org)
    monkeypatch.setattr(tasks.send_email_batch, "apply_async", lambda *a, **k: None)
    event = publish(**opened(incident))
    Delivery.objects.filter(event=event).update(next_attempt_at=timezone.now())

    # Still queued (the batch task is a no-op here): enqueued again once, then left alone.
    assert services.retry_due_deliveries() == 2
    assert services.retry_due_deliveries() == 0
    assert mail.outbox == []


def test_an_event_is_requeued_once_then_again_when_redis_came_back_empty(
    org,
    incident,  # noqa: F811
    monkeypatch,
):
    enqueued = []
    monkeypatch.setattr(pipeline, "enqueue_fanout", lambda event_id: enqueued.append(event_id))
    EmailSubscriberFactory(organization=org)
    event = NotificationEventFactory(**opened(incident))
    NotificationEvent.objects.filter(pk=event.pk).update(
        created_at=timezone.now() - timedelta(seconds=11)
    )

    first = pipeline.requeue_unprocessed_events()
    second = pipeline.requeue_unprocessed_events()
    cache.clear()  # Redis restarted empty: the fan-out message is gone, and so is the memory
    third = pipeline.requeue_unprocessed_events()

    assert (first, second, third) == (1, 0, 1)
    assert enqueued == [event.pk, event.pk]


def test_renewing_extends_only_the_rows_the_batch_still_holds(
    org,
    incident,  # noqa: F811
):
    subscribers = EmailSubscriberFactory.create_batch(3, organization=org)
    event = NotificationEventFactory(**opened(incident))
    rows = [
        Delivery.objects.create(organization=org, event=event, subscriber=s, channel="email")
        for s in subscribers
    ]
    ids = [row.pk for row in rows]
    assert ledger.claim(ids, owner="batch-1") == ids
    ledger.mark_sent(ids[0])
    Delivery.objects.filter(pk=ids[1]).update(lease_owner="batch-2")
    before = timezone.now()

    renewed = ledger.renew_lease(ids, owner="batch-1")

    assert renewed == 1
    held = Delivery.objects.get(pk=ids[2])
    assert held.leased_until >= before + timedelta(seconds=conf.lease_seconds())


def test_a_starting_worker_sweeps_at_once(
    org,
    incident,  # noqa: F811
    publish,  # noqa: F811
    monkeypatch,
):
    EmailSubscriberFactory.create_batch(2, organization=org)
    with monkeypatch.context() as lost:
        lost.setattr(tasks.send_email_batch, "apply_async", lambda *a, **k: None)
        event = publish(**opened(incident))
    Delivery.objects.filter(event=event).update(next_attempt_at=timezone.now())

    tasks.sweep_at_worker_start()

    assert len(mail.outbox) == 2
    assert set(Delivery.objects.filter(event=event).values_list("status", flat=True)) == {"sent"}
