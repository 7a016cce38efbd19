"""Celery tasks of the notification pipeline: small, idempotent, id arguments only.

Every task is acks_late + reject_on_worker_lost (settings), so a killed worker's task comes
back; the Delivery claim (lease + unique rows) makes running it twice harmless. Time limits
stay below the broker's visibility timeout (config/settings.py), and batches stop starting new
sends after NOTIFICATIONS_BATCH_TIME_BUDGET and hand the rest to a fresh task.
"""

from __future__ import annotations

import uuid

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import pipeline
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


def _owner(task) -> str:
    return task.request.id or uuid.uuid4().hex


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
    left_over = email.send_batch(delivery_ids, owner=_owner(self))
    if left_over:
        send_email_batch.apply_async(args=[left_over])


@shared_task(
    name="notifications.send_webhook_batch",
    bind=True,
    **SENDER_LIMITS,
    **DB_RETRY,
)
def send_webhook_batch(self, delivery_ids: list[int]) -> None:
    left_over = webhook.send_batch(delivery_ids, owner=_owner(self))
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
