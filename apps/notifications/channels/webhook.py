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
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery import current_app
from django.db import DatabaseError
from django.utils import timezone, translation

from apps.core import http, i18n

from .. import conf, ledger, registry, tokens
from ..enqueue import task
from ..models import Delivery, NotificationEvent, Subscriber
from ..payloads import with_meta
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


@dataclass
class Outgoing:
    """One subscriber's deliveries of this batch, sent in id order by one sender thread."""

    subscriber: Subscriber
    requests: list[tuple[Delivery, bytes, dict[str, str]]] = field(default_factory=list)
    # (delivery, response or the error that stopped it); None: not started (time budget).
    results: list[tuple[Delivery, http.Response | http.OutboundError | None]] = field(
        default_factory=list
    )


def build_request(
    delivery: Delivery, bodies: dict[Any, dict[str, Any]], base_urls: dict[int, str]
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery (in the task's thread: it may read the database)."""
    subscriber = delivery.subscriber
    event = delivery.event
    if subscriber.channel == Subscriber.Channel.SLACK:
        # A Slack message is read by people: written in the subscriber's language, the same
        # text for every Slack subscriber of the event and language (rendered once per batch).
        # Webhook bodies are JSON for machines and stay as they are.
        language = i18n.supported(subscriber.language)
        key = ("slack", event.pk, language)
        if key not in bodies:
            with translation.override(language):
                bodies[key] = slack.message(event)
        return encode(bodies[key]), {"Content-Type": CONTENT_TYPE}
    base = bodies.get(event.pk)
    if base is None:
        base = bodies[event.pk] = registry.renderer_for(event).webhook_body(event)
    unsubscribe = tokens.unsubscribe_url(subscriber, base_urls[event.organization_id])
    body = encode(with_meta(base, event, unsubscribe_url=unsubscribe))
    return body, signed_headers(subscriber, message_id(event, subscriber), body)


def post_all(outgoing: Outgoing, batch: Batch, session: http.Session) -> Outgoing:
    """Sender thread: HTTP only, no database. Stops at the first transport error (the endpoint
    is down: the rest of this subscriber's rows are retried later) or out of time. Posts go
    through the batch's session: subscribers behind the same endpoint share its connections."""
    for index, (delivery, body, headers) in enumerate(outgoing.requests):
        if batch.out_of_time():
            outgoing.results.extend((rest, None) for rest, _, _ in outgoing.requests[index:])
            break
        try:
            outgoing.results.append(
                (delivery, session.post(outgoing.subscriber.url, body, headers))
            )
        except http.OutboundError as exc:
            outgoing.results.append((delivery, exc))
            if not isinstance(exc, http.UnsafeURLError):
                outgoing.results.extend(
                    (rest, http.OutboundError(f"Not sent after an earlier error: {exc}"))
                    for rest, _, _ in outgoing.requests[index + 1 :]
                )
            break
    return outgoing


def record_result(
    delivery: Delivery,
    result: http.Response | http.OutboundError,
    marker: ledger.Marker,
) -> None:
    """What the endpoint's answer means for the delivery and its subscriber (task's thread)."""
    subscriber = delivery.subscriber
    if isinstance(result, http.UnsafeURLError):
        ledger.record_failure(delivery, f"Refused: {result}", permanent=True)
        ledger.note_hook_failure(subscriber)
        return
    if isinstance(result, http.OutboundError):
        ledger.record_failure(delivery, str(result))
        ledger.note_hook_failure(subscriber)
        return
    if result.ok:
        marker.mark(delivery.pk)
        ledger.note_hook_success(subscriber)
        return
    error = f"HTTP {result.status}: {result.body[:200].decode('utf-8', 'replace')}"
    if result.status == 410:
        ledger.record_failure(delivery, error, permanent=True)
        ledger.disable_subscriber(subscriber, reason="The endpoint answered 410 Gone.")
        return
    retryable = result.status >= 500 or result.status in RETRYABLE_STATUSES
    ledger.record_failure(
        delivery, error, permanent=not retryable, retry_after=_retry_after(result)
    )
    ledger.note_hook_failure(subscriber)


def send_batch(delivery_ids: Sequence[int], *, owner: str) -> list[int]:
    """POST the claimed deliveries, several endpoints at once. Returns ids handed over.

    Endpoints are slow more often than not (seconds, up to the timeout), so up to
    `conf.webhook_concurrency()` subscribers are served at the same time by sender threads
    that only speak HTTP; every database write (sent marks, failures, disabling) happens here,
    in the task's thread, as answers come back. One subscriber's deliveries stay in id order
    on one thread, so a receiver sees an incident's events in the order they happened.
    """
    batch = Batch(delivery_ids, owner=owner)
    if not batch.claimed:
        return []
    rows = list(batch.rows())
    bodies: dict[Any, dict[str, Any]] = {}
    # public_url reads the organization's custom domain: once per organization, not per row.
    organizations = {d.event.organization_id: d.event.organization for d in rows}
    base_urls = {pk: organization.public_url for pk, organization in organizations.items()}
    # Subscriber state as it is now (rows were claimed a moment ago, perhaps queued long before).
    active = set(
        Subscriber.objects.filter(
            pk__in={d.subscriber_id for d in rows}, state=Subscriber.State.ACTIVE
        ).values_list("pk", flat=True)
    )
    deferred: list[tuple[int, float]] = []
    outgoing: dict[int, Outgoing] = {}
    for delivery in rows:
        subscriber = delivery.subscriber
        if subscriber.pk not in active or not subscriber.is_active:
            ledger.mark_skipped([delivery.pk], "Subscriber disabled or removed.")
            continue
        if subscriber.channel == Subscriber.Channel.SLACK:
            wait = ledger.slack_wait(subscriber.url)
            if wait > 0:
                deferred.append((delivery.pk, wait))
                continue
        try:
            body, headers = build_request(delivery, bodies, base_urls)
        except DatabaseError:
            raise  # the task's autoretry handles a database hiccup
        except registry.SubjectGone as exc:
            ledger.mark_skipped([delivery.pk], str(exc))
            continue
        except Exception as exc:
            # A bug or odd data in one delivery must not hold up the rest of the batch.
            logger.exception("Could not build delivery %s", delivery.pk)
            ledger.record_failure(delivery, f"{type(exc).__name__}: {exc}")
            continue
        entry = outgoing.setdefault(subscriber.pk, Outgoing(subscriber))
        delivery.subscriber = entry.subscriber  # one object: a disable is seen by its other rows
        entry.requests.append((delivery, body, headers))

    not_started: list[Delivery] = []
    marker = ledger.sent_marker()
    workers = max(1, min(conf.webhook_concurrency(), len(outgoing)))
    session = http.Session(max_idle=workers)
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
            futures = [pool.submit(post_all, entry, batch, session) for entry in outgoing.values()]
            for future in as_completed(futures):
                for delivery, result in future.result().results:
                    if result is None:
                        not_started.append(delivery)
                    elif delivery.subscriber.state == Subscriber.State.ACTIVE:
                        record_result(delivery, result, marker)
                    # else: disabled by an earlier answer in this batch, which skipped its rows.
    finally:
        session.close()
        marker.close()
    if not_started:
        batch.hand_over(sorted(not_started, key=lambda d: d.pk))
    if deferred:
        defer_slack(deferred)
    return batch.left_over


def celery_is_eager() -> bool:
    return bool(current_app.conf.task_always_eager)


def defer_slack(deferred: Sequence[tuple[int, float]]) -> None:
    """Slack's pace: the rows wait in the database (next_attempt_at, the durable record) and a
    task comes back for them when the slot opens, instead of a worker sleeping. The countdown
    is a second or two, far below the broker's visibility timeout. Eager Celery (tests, quick
    start) cannot wait, so there the sweeper (`retry_due_deliveries`) picks them up."""
    wait = max(seconds for _, seconds in deferred)
    ids = [pk for pk, _ in deferred]
    ledger.defer(ids, timezone.now() + timedelta(seconds=wait))
    if celery_is_eager():
        return
    try:
        task("notifications.send_webhook_batch").apply_async(args=[ids], countdown=wait + 0.05)
    except Exception:
        logger.exception("Could not enqueue paced Slack deliveries; the sweeper will send them")
    logger.info("Slack pacing: %s deliveries wait %.2f s", len(ids), wait)
