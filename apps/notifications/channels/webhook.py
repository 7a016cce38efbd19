"""Webhook and Slack deliveries: signed JSON POSTs through apps.core.http (SSRF-safe).

Standard Webhooks (shared/reference/delivery-notes.md §2.2): `webhook-id` is stable across
retries (receivers dedupe on it), `webhook-timestamp` is this attempt's time, and
`webhook-signature` is `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed by the
subscriber's `whsec_` secret. Only 2xx is success; redirects are failures; 410 disables.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import DatabaseError

from apps.core import http

from .. import services, tokens
from ..models import NotificationEvent, Subscriber
from ..payloads import event_body, page_object, with_meta
from . import slack
from .base import Batch

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/json"
# Statuses worth retrying (timeouts, throttling, server trouble); other 3xx/4xx are permanent
# for that message: retrying the same body would get the same answer.
RETRYABLE_STATUSES = frozenset({408, 425, 429})


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def message_id(event: NotificationEvent, subscriber: Subscriber) -> str:
    return f"msg_{event.public_id}{subscriber.public_id}"


def signed_headers(subscriber: Subscriber, msg_id: str, body: bytes) -> dict[str, str]:
    timestamp = int(time.time())
    return {
        "Content-Type": CONTENT_TYPE,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(subscriber.webhook_secret, msg_id, timestamp, body),
    }


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _retry_after(response: http.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


def deliver_one(
    delivery, event_body_cache: dict[int, dict[str, Any]], base_urls: dict[int, str]
) -> None:
    subscriber = delivery.subscriber
    event = delivery.event
    try:
        if subscriber.channel == Subscriber.Channel.SLACK:
            body = encode(slack.message(event))
            headers = {"Content-Type": CONTENT_TYPE}
        else:
            base = event_body_cache.get(event.pk)
            if base is None:
                base = event_body_cache[event.pk] = event_body(
                    event, page=page_object(event.organization)
                )
            unsubscribe = tokens.unsubscribe_url(subscriber, base_urls[event.organization_id])
            payload = with_meta(base, event, unsubscribe_url=unsubscribe)
            body = encode(payload)
            headers = signed_headers(subscriber, message_id(event, subscriber), body)
        response = http.post(subscriber.url, body, headers)
    except http.UnsafeURLError as exc:
        services.record_failure(delivery, f"Refused: {exc}", permanent=True)
        services.note_hook_failure(subscriber)
        return
    except http.OutboundError as exc:
        services.record_failure(delivery, str(exc))
        services.note_hook_failure(subscriber)
        return
    if response.ok:
        services.mark_sent(delivery.pk)
        services.note_hook_success(subscriber)
        return
    error = f"HTTP {response.status}: {response.body[:200].decode('utf-8', 'replace')}"
    if response.status == 410:
        services.record_failure(delivery, error, permanent=True)
        services.disable_subscriber(subscriber, reason="The endpoint answered 410 Gone.")
        return
    retryable = response.status >= 500 or response.status in RETRYABLE_STATUSES
    services.record_failure(
        delivery, error, permanent=not retryable, retry_after=_retry_after(response)
    )
    services.note_hook_failure(subscriber)


def send_batch(delivery_ids: Sequence[int], *, owner: str) -> list[int]:
    """POST each claimed delivery in turn. Returns ids handed over (time budget)."""
    batch = Batch(delivery_ids, owner=owner)
    if not batch.claimed:
        return []
    rows = list(batch.rows())
    cache: dict[int, dict[str, Any]] = {}
    # public_url reads the organization's custom domain: once per organization, not per row.
    organizations = {d.event.organization_id: d.event.organization for d in rows}
    base_urls = {pk: organization.public_url for pk, organization in organizations.items()}
    deferred: list[tuple[int, float]] = []
    for index, delivery in enumerate(rows):
        if index and batch.out_of_time():
            batch.hand_over(rows[index:])
            break
        delivery.subscriber.refresh_from_db(fields=["state", "consecutive_failures"])
        if not delivery.subscriber.is_active:
            services.mark_skipped([delivery.pk], "Subscriber disabled or removed.")
            continue
        if delivery.subscriber.channel == Subscriber.Channel.SLACK:
            wait = services.slack_wait(delivery.subscriber.url)
            if wait > 0:
                deferred.append((delivery.pk, wait))
                continue
        try:
            deliver_one(delivery, cache, base_urls)
        except DatabaseError:
            raise  # the task's autoretry handles a database hiccup
        except Exception as exc:
            # A bug or odd data in one delivery must not hold up the rest of the batch.
            logger.exception("Could not send delivery %s", delivery.pk)
            services.record_failure(delivery, f"{type(exc).__name__}: {exc}")
    if deferred:
        defer_slack(deferred)
    return batch.left_over


def celery_is_eager() -> bool:
    from celery import current_app

    return bool(current_app.conf.task_always_eager)


def defer_slack(deferred: Sequence[tuple[int, float]]) -> None:
    """Slack's pace: the rows wait in the database (next_attempt_at, the durable record) and a
    task comes back for them when the slot opens, instead of a worker sleeping. The countdown
    is a second or two, far below the broker's visibility timeout. Eager Celery (tests, quick
    start) cannot wait, so there the sweeper (`retry_due_deliveries`) picks them up."""
    from django.utils import timezone

    from ..tasks import send_webhook_batch

    wait = max(seconds for _, seconds in deferred)
    ids = [pk for pk, _ in deferred]
    services.defer(ids, timezone.now() + timedelta(seconds=wait))
    if celery_is_eager():
        return
    try:
        send_webhook_batch.apply_async(args=[ids], countdown=wait + 0.05)
    except Exception:
        logger.exception("Could not enqueue paced Slack deliveries; the sweeper will send them")
    logger.info("Slack pacing: %s deliveries wait %.2f s", len(ids), wait)
