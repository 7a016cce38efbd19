"""The notification pipeline's state changes: enqueue, fan-out, claim, mark, retry, disable.

Flow (shared/DESIGN.md "Notification pipeline"):
1. a service writes a NotificationEvent with its change (outbox); `enqueue_event_on_commit`
   (also wired to post_save) enqueues `fanout_event` after commit;
2. `fan_out` walks matching subscribers in id order, bulk-creates Delivery rows (unique per
   event and subscriber, so re-running is harmless) and enqueues one batch task per chunk;
3. a batch task `claim`s its rows (conditional UPDATE), sends, and `mark_sent` each row right
   after the provider accepted it; failures are `record_failure`d with a retry time in the DB;
4. beat: `retry_due_deliveries` resends due rows, `requeue_unprocessed_events` restarts fan-outs
   that never finished (crash, lost broker message).
"""

from __future__ import annotations

import hashlib
import logging
import math
import queue
import random
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from . import conf
from .models import (
    Delivery,
    NotificationEvent,
    NotificationSettings,
    Subscriber,
    new_manage_nonce,
    new_webhook_secret,
)

if TYPE_CHECKING:
    from apps.api.credentials import ApiCredential
    from apps.organizations.models import Organization

logger = logging.getLogger(__name__)

Channel = Subscriber.Channel
EMAIL_CHANNELS = (Channel.EMAIL,)
HOOK_CHANNELS = (Channel.WEBHOOK, Channel.SLACK)
# Email gets incident and maintenance events; component-only changes only when the
# organization turned `NotificationSettings.email_component_changes` on (off by default, as
# Statuspage does). Webhooks and Slack get everything.
COMPONENT_ONLY_KINDS = frozenset({NotificationEvent.Kind.COMPONENT_STATUS_CHANGED})
# Claims per delivery before giving up, whatever happened: above every retry schedule's length.
MAX_CLAIMS = 15


# --- 1. enqueue -----------------------------------------------------------------------------


def enqueue_fanout(event_id: int, after_id: int = 0) -> bool:
    """Send the fan-out task to the broker. Never raises: a failure leaves the event for the
    `requeue_unprocessed_events` beat task (the outbox row is the durable record)."""
    from .tasks import fanout_event

    try:
        fanout_event.apply_async(args=[event_id, after_id])
    except Exception:
        logger.exception("Could not enqueue fan-out of event %s; beat will retry", event_id)
        return False
    return True


def enqueue_event_on_commit(event: NotificationEvent) -> None:
    """Fan the event out once the current transaction commits (now, outside a transaction)."""
    if getattr(event, "_fanout_enqueued", False):
        return
    event._fanout_enqueued = True  # type: ignore[attr-defined]
    event_id = event.pk
    transaction.on_commit(lambda: enqueue_fanout(event_id), robust=True)


# --- 2. fan-out -----------------------------------------------------------------------------


def channels_for(event: NotificationEvent) -> tuple[str, ...]:
    if event.kind in COMPONENT_ONLY_KINDS and not email_component_changes(event.organization_id):
        return HOOK_CHANNELS
    return (*EMAIL_CHANNELS, *HOOK_CHANNELS)


def email_component_changes(organization_id: int) -> bool:
    """Whether the organization mails its email subscribers component-only changes."""
    return bool(
        NotificationSettings.objects.filter(organization_id=organization_id)
        .values_list("email_component_changes", flat=True)
        .first()
    )


@transaction.atomic
def set_email_component_changes(organization, *, enabled: bool, actor) -> bool:
    """Staff switch (dashboard). Returns True when the value changed; audited then."""
    from apps.organizations.models import AuditEntry

    settings_row, _ = NotificationSettings.objects.select_for_update().get_or_create(
        organization=organization
    )
    if settings_row.email_component_changes == enabled:
        return False
    settings_row.email_component_changes = enabled
    settings_row.save(update_fields=["email_component_changes", "updated_at"])
    AuditEntry.record(
        organization,
        actor=actor,
        action="notifications.settings",
        data={"email_component_changes": enabled},
    )
    return True


def matching_subscribers(event: NotificationEvent) -> QuerySet[Subscriber]:
    """Active, confirmed subscribers who follow a component the event touches (or everything).

    An event with no component ids is page-wide and reaches everyone.
    """
    subscribers = (
        Subscriber.objects.for_org(event.organization)
        .active()
        .filter(channel__in=channels_for(event))
    )
    if event.component_ids:
        follows = Subscriber.components.through.objects.filter(subscriber_id=OuterRef("pk"))
        touched = follows.filter(component__public_id__in=list(event.component_ids))
        subscribers = subscribers.filter(~Exists(follows) | Exists(touched))
    return subscribers


def _enqueue_batches(delivery_rows: Sequence[tuple[int, str]]) -> None:
    from .tasks import send_email_batch, send_webhook_batch

    email_ids = [pk for pk, channel in delivery_rows if channel == Channel.EMAIL]
    hook_ids = [pk for pk, channel in delivery_rows if channel != Channel.EMAIL]
    size = conf.webhook_batch()
    try:
        if email_ids:
            send_email_batch.apply_async(args=[email_ids])
        for start in range(0, len(hook_ids), size):
            send_webhook_batch.apply_async(args=[hook_ids[start : start + size]])
    except Exception:
        # The rows are pending with a next_attempt_at: retry_due_deliveries sends them.
        logger.exception("Could not enqueue delivery batches; the sweeper will send them")


def fan_out(event_id: int, after_id: int = 0, *, time_budget: float | None = None) -> int | None:
    """Create deliveries for subscribers with id > after_id, chunk by chunk, enqueueing a batch
    per chunk. Returns the id to resume after when the time budget ran out, else None."""
    event = NotificationEvent.objects.select_related("organization").filter(pk=event_id).first()
    if event is None or event.processed_at is not None:
        return None
    if not event.deliver:
        # "Don't notify": the event stays for the record and is never delivered.
        NotificationEvent.objects.filter(pk=event.pk, processed_at__isnull=True).update(
            processed_at=timezone.now()
        )
        return None
    budget = conf.batch_time_budget() if time_budget is None else time_budget
    started = time.monotonic()
    subscribers = matching_subscribers(event).order_by("id")
    chunk_size = conf.fanout_chunk()
    while True:
        chunk = list(subscribers.filter(id__gt=after_id).values_list("id", "channel")[:chunk_size])
        if not chunk:
            NotificationEvent.objects.filter(pk=event.pk, processed_at__isnull=True).update(
                processed_at=timezone.now()
            )
            return None
        create_deliveries(event, chunk)
        # The chunk's pending rows, new or left by an earlier run of this fan-out.
        rows = list(
            Delivery.objects.filter(
                event_id=event.pk,
                subscriber_id__gt=after_id,
                subscriber_id__lte=chunk[-1][0],
                status=Delivery.Status.PENDING,
            )
            .order_by("id")
            .values_list("id", "channel")
        )
        _enqueue_batches(rows)
        after_id = chunk[-1][0]
        if time.monotonic() - started > budget:
            return after_id


def create_deliveries(event: NotificationEvent, chunk: Sequence[tuple[int, str]]) -> None:
    """One pending row per (event, subscriber id, channel) of the chunk; existing rows stay.

    On PostgreSQL one INSERT from two arrays, without building a model instance per row
    (for 10,000 subscribers that was half the fan-out's time); elsewhere bulk_create.
    """
    now = timezone.now()
    due = now + timedelta(seconds=conf.sweep_grace())
    if connection.vendor != "postgresql":
        Delivery.objects.bulk_create(
            [
                Delivery(
                    organization_id=event.organization_id,
                    event_id=event.pk,
                    subscriber_id=subscriber_id,
                    channel=channel,
                    created_at=now,
                    next_attempt_at=due,
                )
                for subscriber_id, channel in chunk
            ],
            ignore_conflicts=True,  # a re-run fan-out finds the rows already there
        )
        return
    table = Delivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (organization_id, event_id, subscriber_id, channel, status, "  # noqa: S608 (table name is ours)
            "attempts, next_attempt_at, lease_owner, last_error, created_at) "
            "SELECT %s, %s, c.id, c.channel, %s, 0, %s, '', '', %s "
            "FROM unnest(%s::bigint[], %s::text[]) AS c(id, channel) "
            "ON CONFLICT (event_id, subscriber_id) DO NOTHING",
            [
                event.organization_id,
                event.pk,
                Delivery.Status.PENDING,
                due,
                now,
                [subscriber_id for subscriber_id, _ in chunk],
                [channel for _, channel in chunk],
            ],
        )


# --- 3. claim, mark, fail -------------------------------------------------------------------


def claim(delivery_ids: Iterable[int], *, owner: str) -> list[int]:
    """Take the lease on the still-pending rows among delivery_ids; returns the claimed ids.

    A row is claimable when pending and not leased, or leased by `owner` (the same Celery task
    redelivered after its worker died). Each claim counts an attempt, which bounds the loops
    task_reject_on_worker_lost can cause.
    """
    now = timezone.now()
    lease = now + timedelta(seconds=conf.lease_seconds())
    with transaction.atomic():
        claimable = Delivery.objects.filter(
            id__in=list(delivery_ids), status=Delivery.Status.PENDING
        ).filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now) | Q(lease_owner=owner))
        ids = list(
            claimable.select_for_update(skip_locked=True)
            .order_by("id")
            .values_list("id", flat=True)
        )
        # A row whose batch keeps dying (a poison message, or a worker killed over and over)
        # stops here instead of looping forever under task_reject_on_worker_lost.
        exhausted = set(
            Delivery.objects.filter(id__in=ids, attempts__gte=MAX_CLAIMS).values_list(
                "id", flat=True
            )
        )
        if exhausted:
            Delivery.objects.filter(id__in=exhausted).update(
                status=Delivery.Status.FAILED,
                last_error=f"Gave up after {MAX_CLAIMS} attempts.",
                leased_until=None,
                lease_owner="",
            )
            ids = [pk for pk in ids if pk not in exhausted]
        if ids:
            Delivery.objects.filter(id__in=ids).update(
                leased_until=lease,
                next_attempt_at=lease,
                lease_owner=owner[:64],
                attempts=F("attempts") + 1,
            )
    return ids


def mark_sent(delivery_id: int) -> bool:
    """Record that the provider accepted the message. Conditional: False if already decided.

    One small UPDATE per message (no ORM query building: this runs once per mail), committed
    at once, so a crash resends at most the message in flight.
    """
    table = Delivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, leased_until = NULL, "  # noqa: S608 (table name is ours)
            "lease_owner = '', last_error = '' WHERE id = %s AND status = %s",
            [Delivery.Status.SENT, timezone.now(), delivery_id, Delivery.Status.PENDING],
        )
        return cursor.rowcount == 1


def mark_sent_many(marks: Sequence[tuple[int, datetime]]) -> int:
    """`mark_sent` for several (delivery id, accepted at) pairs in one statement (PostgreSQL)."""
    table = Delivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS d SET status = %s, sent_at = v.sent_at, leased_until = NULL, "  # noqa: S608 (table name is ours)
            "lease_owner = '', last_error = '' "
            "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::timestamptz[]) AS sent_at) AS v "
            "WHERE d.id = v.id AND d.status = %s",
            [
                Delivery.Status.SENT,
                [pk for pk, _ in marks],
                [at for _, at in marks],
                Delivery.Status.PENDING,
            ],
        )
        return cursor.rowcount


class SyncMarker:
    """Marks each delivery sent in the caller's thread, on its connection (SQLite, tests in a
    transaction, anything inside an atomic block)."""

    def mark(self, delivery_id: int) -> None:
        mark_sent(delivery_id)

    def close(self) -> None:
        pass


# Accepted-but-unmarked messages one sender may hold: what a killed worker process can resend
# besides the message in flight.
SENT_MARK_QUEUE_LIMIT = 10


class ThreadedMarker:
    """Marks deliveries sent from a second thread with its own database connection.

    The sender hands each accepted delivery over and goes on with the next SMTP transaction
    while the mark's round trip and commit happen beside it; the thread writes whatever has
    queued up since its last commit in one UPDATE. The queue is bounded (`limit`), so at most
    that many accepted messages are ever unmarked: a worker killed mid-batch resends at most
    those plus the one in flight, as before. `close()` drains the queue before the task returns
    and re-raises a database error from the thread (the task then retries: rows not marked are
    sent again, the at-least-once outcome of a crash).
    """

    _STOP = object()

    def __init__(self, limit: int = SENT_MARK_QUEUE_LIMIT) -> None:
        self.queue: queue.Queue = queue.Queue(maxsize=limit)
        self.error: BaseException | None = None
        self.marked = 0
        self.thread = threading.Thread(target=self._run, name="sent-marker", daemon=True)
        self.thread.start()

    def mark(self, delivery_id: int) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((delivery_id, timezone.now()))

    def close(self) -> None:
        self.queue.put(self._STOP)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        # Django connections are per thread: this one is the thread's own, closed on the way out.
        stop = False
        try:
            relax_commit_durability()
            while not stop:
                items = [self.queue.get()]
                while True:
                    try:
                        items.append(self.queue.get_nowait())
                    except queue.Empty:
                        break
                stop = any(item is self._STOP for item in items)
                marks = [item for item in items if item is not self._STOP]
                if marks:
                    mark_sent_many(marks)
                    self.marked += len(marks)
        except BaseException as exc:  # handed to the sender's thread by close()/mark()
            self.error = exc
            logger.exception("Marking deliveries sent failed")
            while not stop:  # never leave the sender blocked on a full queue
                stop = self.queue.get() is self._STOP
        finally:
            connection.close()


def sent_marker() -> SyncMarker | ThreadedMarker:
    """The threaded marker on PostgreSQL outside a transaction, else the synchronous one."""
    if (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and conf.threaded_sent_marks()
    ):
        return ThreadedMarker()
    return SyncMarker()


def relax_commit_durability() -> None:
    """Let this connection's commits return before the WAL reaches disk (PostgreSQL only).

    The sent marks are then not fsync-bound (one commit per message). A PostgreSQL crash can
    lose the last fraction of a second of marks, and those messages are sent again: the same
    at-least-once outcome as a worker crash (webhook receivers dedupe on webhook-id, mail
    keeps its Message-ID). Celery closes the connection after each task, so the setting never
    outlives the batch.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")


def mark_skipped(delivery_ids: Iterable[int], reason: str) -> int:
    return Delivery.objects.filter(
        pk__in=list(delivery_ids), status=Delivery.Status.PENDING
    ).update(status=Delivery.Status.SKIPPED, last_error=reason[:500], leased_until=None)


def slack_wait(url: str) -> float:
    """Seconds until this Slack URL may get another message; 0.0 means "send now" and books
    the slot. Shared by every worker through the cache (Redis in production).

    Windows of `slack_min_interval()` seconds, one message each (SET NX on the window's key),
    and never sooner than the interval after the previous window's message. The key holds a
    hash of the URL, never the URL (its last segment is the channel's secret). If the cache is
    down, the message goes out: pacing must never stop delivery (Slack's 429 is retried).
    """
    from django.core.cache import cache

    interval = conf.slack_min_interval()
    if interval <= 0:
        return 0.0
    now = time.time()
    window = int(now // interval)
    prefix = "notifications:slack-pace:" + hashlib.sha256(url.encode()).hexdigest()[:32]
    ttl = max(2, math.ceil(interval * 3))
    try:
        previous = cache.get(f"{prefix}:{window - 1}")
        if previous is not None and now - previous < interval:
            return previous + interval - now
        if cache.add(f"{prefix}:{window}", now, timeout=ttl):
            return 0.0
        current = cache.get(f"{prefix}:{window}")
    except Exception:
        logger.warning("Slack pacing unavailable (cache error); sending anyway", exc_info=True)
        return 0.0
    next_window = (window + 1) * interval - now
    if current is None:
        return next_window
    return max(next_window, current + interval - now)


def defer(delivery_ids: Sequence[int], until: datetime) -> None:
    """Put claimed rows back for later without counting an attempt (Slack pacing): pending,
    leased until `until` so nobody sends them sooner, then due for the sweeper."""
    Delivery.objects.filter(pk__in=list(delivery_ids), status=Delivery.Status.PENDING).update(
        leased_until=until,
        next_attempt_at=until,
        lease_owner="",
        attempts=F("attempts") - 1,
    )


def release(delivery_ids: Iterable[int]) -> None:
    """Give back rows this batch claimed but did not get to (time budget): due now."""
    now = timezone.now()
    Delivery.objects.filter(pk__in=list(delivery_ids), status=Delivery.Status.PENDING).update(
        leased_until=None,
        lease_owner="",
        next_attempt_at=now,
        attempts=F("attempts") - 1,
    )


def retry_delay(schedule: Sequence[int], attempts: int, retry_after: float | None = None) -> float:
    """Seconds until the next attempt after `attempts` failed ones, with ±20% jitter so a
    recovering endpoint is not hit by every retry at once. Honours Retry-After (≤ 1 day)."""
    base = schedule[min(max(attempts, 1), len(schedule)) - 1]
    delay = base * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not cryptography)
    if retry_after:
        delay = max(delay, min(float(retry_after), 86400.0))
    return delay


def record_failure(
    delivery: Delivery,
    error: str,
    *,
    permanent: bool = False,
    retry_after: float | None = None,
) -> str:
    """Schedule a retry (pending, leased until the retry time) or give up (failed).

    Returns the delivery's new status.
    """
    schedule = (
        conf.email_retry_schedule()
        if delivery.channel == Channel.EMAIL
        else conf.webhook_retry_schedule()
    )
    max_attempts = len(schedule) + 1
    pending = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING)
    if permanent or delivery.attempts >= max_attempts:
        pending.update(
            status=Delivery.Status.FAILED,
            last_error=error[:500],
            leased_until=None,
            lease_owner="",
        )
        return Delivery.Status.FAILED
    retry_at = timezone.now() + timedelta(
        seconds=retry_delay(schedule, delivery.attempts, retry_after)
    )
    # The lease doubles as "not before": nobody claims the row until retry_at.
    pending.update(
        last_error=error[:500], leased_until=retry_at, next_attempt_at=retry_at, lease_owner=""
    )
    return Delivery.Status.PENDING


# --- webhook health -------------------------------------------------------------------------


def note_hook_success(subscriber: Subscriber) -> None:
    if subscriber.consecutive_failures:
        Subscriber.objects.filter(pk=subscriber.pk).update(consecutive_failures=0)
        subscriber.consecutive_failures = 0


def note_hook_failure(subscriber: Subscriber) -> None:
    """Count a failed attempt; disable the subscriber after too many in a row."""
    Subscriber.objects.filter(pk=subscriber.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    failures = (
        Subscriber.objects.filter(pk=subscriber.pk)
        .values_list("consecutive_failures", flat=True)
        .first()
    ) or 0
    subscriber.consecutive_failures = failures
    if failures >= conf.disable_after_failures():
        disable_subscriber(
            subscriber,
            reason=f"Disabled after {failures} failed deliveries in a row.",
        )


def disable_subscriber(subscriber: Subscriber, *, reason: str, notify: bool = True) -> bool:
    """Stop delivering to a webhook/Slack subscriber and email its failure-notice address.

    Conditional on the subscriber being active, so concurrent batches send one notice.
    """
    with transaction.atomic():
        changed = Subscriber.objects.filter(pk=subscriber.pk, state=Subscriber.State.ACTIVE).update(
            state=Subscriber.State.DISABLED,
            disabled_reason=reason[:300],
            disabled_at=timezone.now(),
        )
        if not changed:
            return False
        subscriber.state = Subscriber.State.DISABLED
        subscriber.disabled_reason = reason[:300]
        Delivery.objects.filter(subscriber=subscriber, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.SKIPPED, last_error="Subscriber disabled.", leased_until=None
        )
        if notify and subscriber.email:
            from .tasks import send_disabled_notice

            subscriber_id = subscriber.pk
            transaction.on_commit(
                lambda: send_disabled_notice.apply_async(args=[subscriber_id]), robust=True
            )
    logger.info("Disabled subscriber %s: %s", subscriber.public_id, reason)
    return True


# --- 4. sweepers ----------------------------------------------------------------------------


def due_deliveries(limit: int = 5000) -> list[tuple[int, str]]:
    now = timezone.now()
    return list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
        .order_by("next_attempt_at", "id")
        .values_list("id", "channel")[:limit]
    )


def retry_due_deliveries(limit: int = 5000) -> int:
    rows = due_deliveries(limit)
    chunk = conf.fanout_chunk()
    for start in range(0, len(rows), chunk):
        _enqueue_batches(rows[start : start + chunk])
    return len(rows)


def requeue_unprocessed_events(limit: int = 100) -> int:
    cutoff = timezone.now() - timedelta(seconds=conf.unprocessed_event_grace())
    event_ids = list(
        NotificationEvent.objects.filter(processed_at__isnull=True, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )
    for event_id in event_ids:
        enqueue_fanout(event_id)
    return len(event_ids)


# --- 5. subscribing (public page, dashboard) ------------------------------------------------

SLACK_HOOK_PREFIX = "https://hooks.slack.com/"


def _components_for(organization, component_ids: Iterable[str]) -> list:
    from apps.status.models import Component

    ids = list(component_ids)
    if not ids:
        return []
    # SECURITY: only this organization's components; unknown ids are dropped, not trusted.
    return list(Component.objects.for_org(organization).filter(public_id__in=ids))


def _send_confirmation_on_commit(subscriber: Subscriber) -> None:
    from .tasks import send_confirmation

    subscriber_id = subscriber.pk

    def enqueue() -> None:
        try:
            send_confirmation.apply_async(args=[subscriber_id])
        except Exception:
            logger.exception("Could not enqueue the confirmation mail of %s", subscriber_id)

    transaction.on_commit(enqueue)


def _send_already_subscribed_on_commit(subscriber: Subscriber) -> None:
    from .tasks import send_already_subscribed

    subscriber_id = subscriber.pk

    def enqueue() -> None:
        try:
            send_already_subscribed.apply_async(args=[subscriber_id])
        except Exception:
            logger.exception("Could not enqueue the already-subscribed mail of %s", subscriber_id)

    transaction.on_commit(enqueue)


@transaction.atomic
def subscribe_email(
    organization,
    *,
    email: str,
    component_ids: Iterable[str] = (),
    notify_if_subscribed: bool = False,
) -> Subscriber:
    """Start a double opt-in: store the unconfirmed address and mail a confirmation link.

    Nothing else is ever sent before the link is clicked. An address still waiting for its
    click gets the confirmation again (with new links). An address that is already confirmed
    keeps its subscription as it is; with `notify_if_subscribed` (the public form) it gets a
    mail saying so, with its manage link, so the form's "check your inbox" is true for every
    address while the page still reveals nothing about who is subscribed.
    """
    address = email.strip().lower()
    subscriber = (
        Subscriber.objects.for_org(organization)
        .select_for_update()
        .filter(channel=Channel.EMAIL, email=address)
        .first()
    )
    if subscriber is not None and subscriber.is_active:
        if notify_if_subscribed:
            _send_already_subscribed_on_commit(subscriber)
        return subscriber
    if subscriber is None:
        subscriber = Subscriber.objects.create(
            organization=organization, channel=Channel.EMAIL, email=address
        )
    else:
        # Someone unsubscribed earlier (or never confirmed): start over, with new links.
        subscriber.state = Subscriber.State.ACTIVE
        subscriber.confirmed_at = None
        subscriber.disabled_reason = ""
        subscriber.manage_nonce = new_manage_nonce()
        subscriber.save(update_fields=["state", "confirmed_at", "disabled_reason", "manage_nonce"])
    subscriber.components.set(_components_for(organization, component_ids))
    _send_confirmation_on_commit(subscriber)
    return subscriber


def confirm_subscriber(subscriber: Subscriber) -> bool:
    """Idempotent: True the first time."""
    updated = Subscriber.objects.filter(pk=subscriber.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now()
    )
    subscriber.refresh_from_db(fields=["confirmed_at"])
    return updated == 1


def validate_hook_url(url: str, channel: str) -> str:
    """Raise ValidationError unless the URL is fit for the channel (checked again at send)."""
    from django.core.exceptions import ValidationError

    from apps.core import http

    url = url.strip()
    if channel == Channel.SLACK and not url.startswith(SLACK_HOOK_PREFIX):
        raise ValidationError(
            "Use a Slack incoming-webhook URL (it starts with https://hooks.slack.com/).",
            code="not_slack",
        )
    if channel == Channel.WEBHOOK and url.startswith(SLACK_HOOK_PREFIX):
        raise ValidationError("For Slack, use the Slack subscription instead.", code="slack")
    try:
        http.validate_url(url)
    except http.UnsafeURLError as exc:
        raise ValidationError(str(exc), code="unsafe") from exc
    except http.OutboundError as exc:
        raise ValidationError(str(exc), code="unresolvable") from exc
    return url


@transaction.atomic
def subscribe_hook(
    organization,
    *,
    channel: str,
    url: str,
    email: str = "",
    component_ids: Iterable[str] = (),
) -> Subscriber:
    """Add a webhook (with a failure-notice address) or Slack subscriber, active at once."""
    url = validate_hook_url(url, channel)
    existing = (
        Subscriber.objects.for_org(organization)
        .select_for_update()
        .filter(channel=channel, url=url)
        .first()
    )
    if existing is not None and existing.state == Subscriber.State.ACTIVE:
        from django.core.exceptions import ValidationError

        # SECURITY: never hand an existing endpoint's signing secret or manage link to whoever
        # types its URL; the owner has the manage link from when they added it.
        raise ValidationError(
            "This endpoint is already subscribed. Use the manage link you got when you added "
            "it to change or remove it.",
            code="exists",
        )
    if existing is None:
        subscriber = Subscriber.objects.create(
            organization=organization,
            channel=channel,
            url=url,
            email=email.strip().lower(),
            confirmed_at=timezone.now(),
        )
    else:
        # A disabled endpoint added again starts over: new secret and links (the old owner's
        # copies stop working), failure count reset.
        subscriber = existing
        subscriber.email = email.strip().lower()
        subscriber.state = Subscriber.State.ACTIVE
        subscriber.disabled_reason = ""
        subscriber.consecutive_failures = 0
        subscriber.confirmed_at = timezone.now()
        subscriber.webhook_secret = new_webhook_secret()
        subscriber.manage_nonce = new_manage_nonce()
        subscriber.save()
    subscriber.components.set(_components_for(organization, component_ids))
    return subscriber


def set_components(subscriber: Subscriber, component_ids: Iterable[str]) -> None:
    subscriber.components.set(_components_for(subscriber.organization, component_ids))


@transaction.atomic
def unsubscribe(subscriber: Subscriber) -> bool:
    """Stop everything for this subscriber now (idempotent). Pending deliveries are skipped."""
    updated = Subscriber.objects.filter(pk=subscriber.pk, state=Subscriber.State.ACTIVE).update(
        state=Subscriber.State.DISABLED,
        disabled_reason="Unsubscribed.",
        disabled_at=timezone.now(),
    )
    Delivery.objects.filter(subscriber_id=subscriber.pk, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SKIPPED, last_error="Unsubscribed.", leased_until=None
    )
    subscriber.refresh_from_db(fields=["state", "disabled_reason", "disabled_at"])
    return updated == 1


# --- 6. staff: counts and retry (dashboard, API) -------------------------------------------


def delivery_counts(event: NotificationEvent) -> dict[str, int]:
    """{"pending": n, "sent": n, "failed": n, "skipped": n} for one event."""
    from django.db.models import Count

    counts = dict.fromkeys(Delivery.Status.values, 0)
    rows = Delivery.objects.filter(event=event).values("status").annotate(n=Count("id"))
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


@transaction.atomic
def retry_failed_deliveries(event: NotificationEvent, *, actor=None) -> int:
    """Send the event's failed deliveries again (to subscribers still active), on commit."""
    from apps.organizations.models import AuditEntry

    now = timezone.now()
    rows = list(
        Delivery.objects.filter(
            event=event,
            status=Delivery.Status.FAILED,
            subscriber__state=Subscriber.State.ACTIVE,
        )
        .select_for_update()
        .values_list("id", "channel")
    )
    Delivery.objects.filter(id__in=[pk for pk, _ in rows]).update(
        status=Delivery.Status.PENDING,
        attempts=0,
        leased_until=None,
        lease_owner="",
        last_error="",
        next_attempt_at=now + timedelta(seconds=conf.sweep_grace()),
    )
    if rows:
        AuditEntry.record(
            event.organization,
            actor=actor,
            action="notifications.retry",
            target=event,
            data={"deliveries": len(rows)},
        )
        transaction.on_commit(lambda: _enqueue_batches(rows), robust=True)
    return len(rows)


# --- 7. staff dashboard: remove, import, export, per-page counts ---------------------------
# Used by apps.notifications.views_dashboard. Kept apart from the pipeline above: nothing here
# sends anything except through subscribe_email (import) and retry_failed_deliveries.

REMOVED_REASON = "Removed by staff."
# Path segments at least this long are shown shortened: they are usually tokens.
_LONG_SEGMENT = 20


def display_url(url: str) -> str:
    """A webhook or Slack URL fit to show staff: no credentials, query string or fragment, and
    no path tokens.

    SECURITY: the URL often *is* the subscriber's secret (Slack's last path segment, `?token=`
    query strings, `user:pass@`). Staff need to recognise an endpoint, not to call it.
    """
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(unreadable URL)"
    netloc = f"{host}:{port}" if port else host
    segments = parts.path.split("/")
    if url.startswith(SLACK_HOOK_PREFIX):
        # /services/T…/B…/<token>: the workspace and channel ids help, the token must not show.
        segments = [*segments[:4], "…"] if len(segments) > 4 else segments
    else:
        segments = [
            f"{segment[:4]}…" if len(segment) >= _LONG_SEGMENT else segment for segment in segments
        ]
    shown = f"{parts.scheme}://{netloc}{'/'.join(segments)}"
    if parts.query:
        shown += "?…"
    return shown


def display_address(subscriber: Subscriber) -> str:
    return subscriber.email if subscriber.is_email else display_url(subscriber.url)


@transaction.atomic
def remove_subscriber(subscriber: Subscriber, *, actor) -> bool:
    """Stop every notification to this subscriber now, as the API's DELETE does: the row stays
    (state disabled, "Removed by staff.") so past deliveries keep their history. Pending
    deliveries are skipped. Idempotent: False when it was already disabled.
    """
    from apps.organizations.models import AuditEntry

    updated = Subscriber.objects.filter(pk=subscriber.pk, state=Subscriber.State.ACTIVE).update(
        state=Subscriber.State.DISABLED,
        disabled_reason=REMOVED_REASON,
        disabled_at=timezone.now(),
    )
    Delivery.objects.filter(subscriber_id=subscriber.pk, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SKIPPED, last_error="Subscriber removed.", leased_until=None
    )
    subscriber.refresh_from_db(fields=["state", "disabled_reason", "disabled_at"])
    if updated:
        # SECURITY: no `target=subscriber`: its str() is the full URL, secrets included.
        AuditEntry.record(
            subscriber.organization,
            actor=actor,
            action="subscriber.remove",
            data={
                "subscriber": subscriber.public_id,
                "channel": subscriber.channel,
                "address": display_address(subscriber),
            },
        )
    return updated == 1


@transaction.atomic
def import_email_subscribers(
    organization, *, actor, rows: Sequence[tuple[str, Sequence[str]]]
) -> list[Subscriber]:
    """Invite every new (address, component ids) row: all or nothing, in one transaction.

    The same double opt-in as `subscribe_email`, in bulk: rows are stored unconfirmed, with
    components resolved by `_components_for` (this organization's only), and each gets the
    confirmation mail through `_send_confirmation_on_commit`, the task the public form uses.
    Nothing else is sent before its owner clicks. Not one `subscribe_email` call per row:
    that took 33 s for 5,000 addresses on PostgreSQL (a savepoint, a locking read and three
    writes each), this takes a few bulk statements.

    Addresses that already have a subscriber (any state) are left alone: an import never
    restarts an opt-in or re-subscribes someone who left. The caller
    (apps.notifications.csv_import) reports those; a concurrent subscribe that lands between
    that check and the insert raises IntegrityError and the whole import rolls back.
    """
    from apps.organizations.models import AuditEntry

    wanted: dict[str, Sequence[str]] = {}
    for email, component_ids in rows:
        wanted.setdefault(email.strip().lower(), component_ids)
    taken = set(
        Subscriber.objects.for_org(organization)
        .filter(channel=Channel.EMAIL, email__in=list(wanted))
        .values_list("email", flat=True)
    )
    fresh = [address for address in wanted if address not in taken]
    components = {
        component.public_id: component
        for component in _components_for(
            organization, {cid for address in fresh for cid in wanted[address]}
        )
    }
    now = timezone.now()
    subscribers = Subscriber.objects.bulk_create(
        [
            Subscriber(
                organization=organization, channel=Channel.EMAIL, email=address, created_at=now
            )
            for address in fresh
        ],
        batch_size=1000,
    )
    follows = Subscriber.components.through
    follows.objects.bulk_create(
        [
            follows(subscriber_id=subscriber.pk, component_id=components[cid].pk)
            for subscriber in subscribers
            for cid in dict.fromkeys(wanted[subscriber.email])
            if cid in components
        ],
        batch_size=1000,
    )
    for subscriber in subscribers:
        _send_confirmation_on_commit(subscriber)
    AuditEntry.record(
        organization,
        actor=actor,
        action="subscribers.import",
        data={"invited": len(subscribers)},
    )
    return subscribers


def record_subscriber_export(organization, *, actor, count: int) -> None:
    """An export hands out every address: the audit log says who took a copy, and when."""
    from apps.organizations.models import AuditEntry

    AuditEntry.record(
        organization, actor=actor, action="subscribers.export", data={"subscribers": count}
    )


def delivery_counts_by_event(event_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """`delivery_counts` for many events in ONE aggregate query (a list page's events)."""
    from django.db.models import Count

    ids = list(event_ids)
    counts = {event_id: dict.fromkeys(Delivery.Status.values, 0) for event_id in ids}
    if not ids:
        return counts
    rows = (
        Delivery.objects.filter(event_id__in=ids)
        .values("event_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[row["event_id"]][row["status"]] = row["n"]
    return counts


# --- 8. trusted imports (API) ---------------------------------------------------------------
# Email subscribers added as already confirmed by a trusted importer API key
# (`ApiKey.can_import_confirmed`, set by an owner or admin when the key was made): the key
# vouches that the addresses consented elsewhere, e.g. on the status page they are moving
# from, so they are stored confirmed and get no mail at all. Each one is audited, naming the
# key. Same row lock and uniqueness rule as `subscribe_email`.

IMPORT_AUDIT_ACTION = "subscriber.import_confirmed"

UNTRUSTED_MESSAGE = (
    "This API key is not trusted to import confirmed subscribers. Leave out "
    "`already_confirmed` to send the address a confirmation mail, or have an owner or admin "
    "create a trusted importer key (only for addresses that already consented)."
)
DISABLED_MESSAGE = (
    "This address has a subscription that was stopped (unsubscribed, removed or bouncing). "
    "An import does not restart it: leave out `already_confirmed` to send a confirmation mail, "
    "so its owner decides."
)
RACE_MESSAGE = "Another request subscribed this address at the same moment; try again."


@transaction.atomic
def import_confirmed_email(
    organization: Organization,
    *,
    email: str,
    component_ids: Iterable[str] = (),
    api_key: ApiCredential,
    actor: str,
) -> Subscriber:
    """Store `email` as a confirmed subscriber of `organization`; no mail is sent.

    An address that already has a subscriber is handled as `subscribe_email` would, minus the
    mail:
    - confirmed and active: left exactly as it is (components too), nothing audited;
    - active and waiting for its confirmation click: confirmed now, with the given components
      (its links stay valid: the same person holds them);
    - stopped (unsubscribed, removed by staff, disabled after bounces): refused with a 409.
      `subscribe_email` restarts the opt-in there, which asks the person again; an import
      vouching for a consent they withdrew here would override their choice.
    """
    # SECURITY: checked here too, not only in the API view, so no caller can skip it. The key
    # must belong to the organization it imports into.
    if not api_key.is_trusted_importer or api_key.organization_id != organization.pk:
        raise PermissionDenied(UNTRUSTED_MESSAGE)
    address = email.strip().lower()
    now = timezone.now()
    subscriber = (
        Subscriber.objects.for_org(organization)
        .select_for_update()
        .filter(channel=Subscriber.Channel.EMAIL, email=address)
        .first()
    )
    if subscriber is not None and subscriber.state != Subscriber.State.ACTIVE:
        raise ValidationError(DISABLED_MESSAGE, code="exists")
    if subscriber is not None and subscriber.confirmed_at is not None:
        return subscriber
    if subscriber is None:
        was = "new"
        try:
            # A savepoint: a concurrent subscribe of the same address (the unique constraint)
            # becomes a 409 to retry, and the caller's transaction stays usable.
            with transaction.atomic():
                subscriber = Subscriber.objects.create(
                    organization=organization,
                    channel=Subscriber.Channel.EMAIL,
                    email=address,
                    confirmed_at=now,
                )
        except IntegrityError as exc:
            raise ValidationError(RACE_MESSAGE, code="conflict") from exc
    else:
        was = "unconfirmed"
        subscriber.confirmed_at = now
        subscriber.save(update_fields=["confirmed_at"])
    components = _components_for(organization, component_ids)
    subscriber.components.set(components)
    from apps.organizations.models import AuditEntry

    # The same shape as services.remove_subscriber's entry (ids and address in `data`); the
    # actor label names the key too, and `api_key` survives a rename.
    AuditEntry.record(
        organization,
        actor=actor,
        action=IMPORT_AUDIT_ACTION,
        data={
            "subscriber": subscriber.public_id,
            "channel": subscriber.channel,
            "address": address,
            "was": was,
            "components": sorted(component.public_id for component in components),
            "api_key": api_key.public_id,
            "api_key_prefix": api_key.prefix,
        },
    )
    return subscriber
