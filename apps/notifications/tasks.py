"""Celery tasks of the notification pipeline: small, idempotent, id arguments only.

Every task is acks_late + reject_on_worker_lost (settings), so a killed worker's task comes
back; the Delivery claim (lease + unique rows) makes running it twice harmless. Time limits
stay below the broker's visibility timeout (config/settings.py), and batches stop starting new
sends after NOTIFICATIONS_BATCH_TIME_BUDGET and hand the rest to a fresh task.

Catching up after a failure does not wait for the broker's visibility timeout: a sender
batch's lease is short and renewed while it runs (ledger.LeaseKeeper), so the rows of a killed
worker are free within seconds, and the beat sweepers (every few seconds, config/settings.py)
hand them to a live worker; a worker that starts sweeps at once (sweep_at_worker_start).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.db import InterfaceError, OperationalError, connection

from . import conf, ledger, pipeline
from .channels import email, webhook
from .models import Subscriber

# A database hiccup during a task is transient: retry a few times, quickly (countdowns stay far
# below the visibility timeout, see delivery-notes §3 on ETA redelivery loops).
DB_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 5,
}
SENDER_LIMITS = {"soft_time_limit": 40, "time_limit": 50}


logger = logging.getLogger(__name__)


def _owner(task) -> str:
    return task.request.id or uuid.uuid4().hex


@contextlib.contextmanager
def _lease_kept(delivery_ids: list[int], owner: str) -> Iterator[None]:
    """Renew the batch's lease while it runs (conf.lease_renewed: PostgreSQL, outside a
    transaction; tests running tasks eagerly inside theirs keep the long lease instead)."""
    if not conf.lease_renewed() or connection.in_atomic_block:
        yield
        return
    with ledger.LeaseKeeper(delivery_ids, owner=owner):
        yield


@shared_task(name="notifications.fanout_event", bind=True, **DB_RETRY)
def fanout_event(self, event_id: int, after_id: int = 0) -> None:
    resume_after = pipeline.fan_out(event_id, after_id)
    if resume_after is not None:
        pipeline.enqueue_fanout(event_id, resume_after)


@shared_task(
    name="notifications.send_email_batch",
    bind=True,
    **SENDER_LIMITS,
    **DB_RETRY,
)
def send_email_batch(self, delivery_ids: list[int]) -> None:
    owner = _owner(self)
    with _lease_kept(delivery_ids, owner):
        left_over = email.send_batch(delivery_ids, owner=owner)
    if left_over:
        send_email_batch.apply_async(args=[left_over])


@shared_task(
    name="notifications.send_webhook_batch",
    bind=True,
    **SENDER_LIMITS,
    **DB_RETRY,
)
def send_webhook_batch(self, delivery_ids: list[int]) -> None:
    owner = _owner(self)
    with _lease_kept(delivery_ids, owner):
        left_over = webhook.send_batch(delivery_ids, owner=owner)
    if left_over:
        send_webhook_batch.apply_async(args=[left_over])


@shared_task(name="notifications.send_confirmation", **DB_RETRY)
def send_confirmation(subscriber_id: int) -> None:
    subscriber = (
        Subscriber.objects.select_related("organization")
        .filter(pk=subscriber_id, confirmed_at__isnull=True, channel=Subscriber.Channel.EMAIL)
        .first()
    )
    if subscriber is not None:
        email.send_confirmation(subscriber)


@shared_task(name="notifications.send_already_subscribed", **DB_RETRY)
def send_already_subscribed(subscriber_id: int) -> None:
    subscriber = (
        Subscriber.objects.select_related("organization")
        .filter(
            pk=subscriber_id,
            confirmed_at__isnull=False,
            state=Subscriber.State.ACTIVE,
            channel=Subscriber.Channel.EMAIL,
        )
        .first()
    )
    if subscriber is not None:
        email.send_already_subscribed(subscriber)


@shared_task(name="notifications.send_disabled_notice", **DB_RETRY)
def send_disabled_notice(subscriber_id: int) -> None:
    subscriber = (
        Subscriber.objects.select_related("organization")
        .filter(pk=subscriber_id, state=Subscriber.State.DISABLED)
        .first()
    )
    if subscriber is not None and subscriber.email:
        email.send_disabled_notice(subscriber)


@shared_task(name="notifications.retry_due_deliveries", **DB_RETRY)
def retry_due_deliveries() -> int:
    return pipeline.retry_due_deliveries()


@shared_task(name="notifications.requeue_unprocessed_events", **DB_RETRY)
def requeue_unprocessed_events() -> int:
    return pipeline.requeue_unprocessed_events()


@worker_ready.connect
def sweep_at_worker_start(sender: Any = None, **kwargs: Any) -> None:
    """A worker that starts (after a crash, a deploy, the broker coming back empty) sweeps at
    once instead of waiting for beat: events left unprocessed and deliveries left due are
    enqueued. Sent as tasks, so the worker's main process opens no database connection."""
    for task in (requeue_unprocessed_events, retry_due_deliveries):
        try:
            task.apply_async()
        except Exception:
            logger.warning("could not enqueue %s at worker start", task.name, exc_info=True)
