"""The delivery ledger: claim a batch's rows, mark each sent, record failures and retries.

Every change to a `Delivery` row a sender makes goes through here (CONVENTIONS §3: claim with a
conditional UPDATE, mark right after the provider accepted, schedule retries in the database),
and the webhook/Slack subscriber's health (failure count, disabling). Channels import this
module; it imports no channel, no task and no pipeline code.
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

from django.core.cache import cache
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from . import conf
from .enqueue import enqueue_on_commit
from .models import Delivery, Subscriber

logger = logging.getLogger(__name__)

Channel = Subscriber.Channel
# Claims per delivery before giving up, whatever happened: above every retry schedule's length.
MAX_CLAIMS = 15


def id_in(ids: Iterable[int]) -> Q:
    """`id IN ids` for a batch's rows. On PostgreSQL the ids travel as one array parameter: a
    list of 1,000 placeholders cost the client and the server a parse of each, and the claim
    and load of an email batch (four such statements) took 0.3 to 2 s of a batch on the loaded
    benchmark machine, when its messages were all sent in under a second."""
    ids = list(ids)
    if connection.vendor == "postgresql":
        return Q(id__in=RawSQL("SELECT unnest(%s::bigint[])", [ids]))
    return Q(id__in=ids)


def claim(delivery_ids: Iterable[int], *, owner: str) -> list[int]:
    """Take the lease on the still-pending rows among delivery_ids; returns the claimed ids.

    A row is claimable when pending and not leased, or leased by `owner` (the same Celery task
    redelivered after its worker died). Each claim counts an attempt, which bounds the loops
    task_reject_on_worker_lost can cause.
    """
    now = timezone.now()
    lease = now + timedelta(seconds=conf.lease_seconds())
    with transaction.atomic():
        claimable = Delivery.objects.filter(id_in(delivery_ids), status=Delivery.Status.PENDING)
        claimable = claimable.filter(
            Q(leased_until__isnull=True) | Q(leased_until__lte=now) | Q(lease_owner=owner)
        )
        rows = list(
            claimable.select_for_update(skip_locked=True)
            .order_by("id")
            .values_list("id", "attempts")
        )
        # A row whose batch keeps dying (a poison message, or a worker killed over and over)
        # stops here instead of looping forever under task_reject_on_worker_lost.
        exhausted = [pk for pk, attempts in rows if attempts >= MAX_CLAIMS]
        if exhausted:
            Delivery.objects.filter(id_in(exhausted)).update(
                status=Delivery.Status.FAILED,
                last_error=f"Gave up after {MAX_CLAIMS} attempts.",
                leased_until=None,
                lease_owner="",
            )
        ids = [pk for pk, attempts in rows if attempts < MAX_CLAIMS]
        if ids:
            # Only columns no index holds (next_attempt_at stays: the sweeper skips a leased
            # row by its lease), so on PostgreSQL the claim and every renewal can be a HOT
            # update (the table keeps room on each page for it, migration 0009): no new entry
            # in each of the row's indexes, which moving next_attempt_at wrote.
            Delivery.objects.filter(id_in(ids)).update(
                leased_until=lease,
                lease_owner=owner[:64],
                attempts=F("attempts") + 1,
            )
    return ids


def renew_lease(delivery_ids: Sequence[int], *, owner: str) -> int:
    """Extend the lease on the rows among delivery_ids that `owner` still holds (pending, not
    yet marked, failed or deferred: those clear lease_owner). Returns how many it extended.

    Only leased_until changes (no indexed column, see claim). Rows another transaction holds
    at that moment are skipped, not waited for (SKIP LOCKED): the batch's sent marker updates
    the same rows from its own connection, ten at a time and in the order the server accepted
    them, and a renewal waiting on those while the marker waited on the renewal's rows was a
    deadlock (seen on the loaded benchmark machine: the batch's task was retried and resent
    its unmarked messages). A row skipped is being marked sent, or is renewed at the next beat.
    """
    until = timezone.now() + timedelta(seconds=conf.lease_seconds())
    held = Delivery.objects.filter(
        id_in(delivery_ids), status=Delivery.Status.PENDING, lease_owner=owner[:64]
    )
    with transaction.atomic():
        unlocked = held.select_for_update(skip_locked=True).values("pk")
        return Delivery.objects.filter(pk__in=unlocked).update(leased_until=until)


class LeaseKeeper:
    """Renews a running batch's lease every conf.lease_heartbeat() seconds from a thread with
    its own database connection, so the lease can be short (conf.lease_seconds): while the
    process lives its rows stay claimed however long a send takes; once it dies, they are free
    within seconds. A renewal that fails (database hiccup) is logged and tried again at the
    next beat; the lease outlasts several missed ones.
    """

    def __init__(self, delivery_ids: Sequence[int], *, owner: str) -> None:
        self.delivery_ids = list(delivery_ids)
        self.owner = owner
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _run(self) -> None:
        from django.db import connections

        try:
            while not self.stopped.wait(conf.lease_heartbeat()):
                # Renewed until the batch ends, even when nothing is held yet (the claim may
                # still be running on a busy machine) or any more: one small UPDATE a beat.
                try:
                    renew_lease(self.delivery_ids, owner=self.owner)
                except Exception:
                    logger.warning(
                        "could not renew the lease of batch %s", self.owner, exc_info=True
                    )
        finally:
            connections.close_all()  # this thread's connection only (connections are per thread)


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


def mark_sent_many(marks: Sequence[tuple[int, float]], cursor: CursorWrapper | None = None) -> int:
    """`mark_sent` for several (delivery id, accepted at: a Unix time) pairs in one statement
    (PostgreSQL), on `cursor` if given (the threaded marker keeps one: a new cursor per
    statement cost a third of the statement's CPU). The arrays travel as text literals
    ('{1,2,3}'), made with one join here: adapting lists of ints and datetimes element by
    element cost more CPU than the statement's round trip (an email batch writes a statement
    per five marks)."""
    if cursor is None:
        with connection.cursor() as cursor:
            return mark_sent_many(marks, cursor)
    table = Delivery._meta.db_table
    ids = "{" + ",".join([str(pk) for pk, _ in marks]) + "}"
    times = "{" + ",".join([repr(at) for _, at in marks]) + "}"
    cursor.execute(
        f"UPDATE {table} AS d SET status = %s, sent_at = to_timestamp(v.at), "  # noqa: S608 (table name is ours)
        "leased_until = NULL, lease_owner = '', last_error = '' "
        "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::float8[]) AS at) AS v "
        "WHERE d.id = v.id AND d.status = %s",
        [Delivery.Status.SENT, ids, times, Delivery.Status.PENDING],
    )
    return cursor.rowcount


# Accepted-but-unmarked messages the synchronous marker holds: what a crash can resend besides
# the messages in flight (the threaded marker's bound is ThreadedMarker's).
SENT_MARK_QUEUE_LIMIT = 10


class SyncMarker:
    """Marks deliveries sent in the caller's thread, on its connection: up to `limit` marks
    wait and are written in one UPDATE, so a batch of 1,000 writes 100 statements instead of
    1,000: a crash resends at most `limit` accepted messages. Each mark keeps the time it was
    made (the provider's acceptance), whenever its statement runs."""

    def __init__(self, limit: int = SENT_MARK_QUEUE_LIMIT) -> None:
        self.limit = limit
        self.waiting: list[tuple[int, float]] = []
        self.cursor: CursorWrapper | None = None

    def mark(self, delivery_id: int) -> None:
        self.waiting.append((delivery_id, time.time()))
        if len(self.waiting) >= self.limit:
            self.flush()

    def flush(self) -> None:
        if not self.waiting:
            return
        marks, self.waiting = self.waiting, []
        if connection.vendor == "postgresql":
            if self.cursor is None:
                self.cursor = connection.cursor()
            mark_sent_many(marks, self.cursor)
            return
        Delivery.objects.filter(
            pk__in=[pk for pk, _ in marks], status=Delivery.Status.PENDING
        ).update(
            status=Delivery.Status.SENT,
            sent_at=timezone.now(),
            leased_until=None,
            lease_owner="",
            last_error="",
        )

    def close(self) -> None:
        self.flush()
        if self.cursor is not None:
            self.cursor.close()


# Marks the threaded marker's sender hands over at once (see ThreadedMarker).
SENT_MARK_CHUNK = 5


class ThreadedMarker:
    """Marks deliveries sent from a second thread with its own database connection.

    The sender collects accepted deliveries and hands them over `chunk` at a time, going on
    with the next SMTP transactions while the mark's round trip and commit happen beside it;
    the thread writes whatever was handed over since its last commit in one UPDATE. Handing
    over each mark alone woke the thread (and wrote a statement) every two or three messages,
    which cost the sender more CPU than its SMTP work. One chunk may wait while the thread
    writes another, so at most 3 x chunk - 1 accepted messages (14) are ever unmarked: a
    worker killed mid-batch resends at most those plus the ones in flight. `close()` hands
    over the rest, waits for the thread and re-raises a database error from it (the task then
    retries: rows not marked are sent again, the at-least-once outcome of a crash).
    """

    _STOP = object()

    def __init__(self, chunk: int = SENT_MARK_CHUNK) -> None:
        self.chunk = chunk
        self.waiting: list[tuple[int, float]] = []  # the sender's, not handed over yet
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.marked = 0
        self.cursor: CursorWrapper | None = None
        self.thread = threading.Thread(target=self._run, name="sent-marker", daemon=True)
        self.thread.start()

    def mark(self, delivery_id: int) -> None:
        if self.error is not None:
            raise self.error
        self.waiting.append((delivery_id, time.time()))
        if len(self.waiting) >= self.chunk:
            self.queue.put(self.waiting)
            self.waiting = []

    def close(self) -> None:
        if self.waiting:
            self.queue.put(self.waiting)
            self.waiting = []
        self.queue.put(self._STOP)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def write(self, marks: list[tuple[int, float]]) -> None:
        """One UPDATE for `marks`, on the thread's one cursor."""
        if self.cursor is None:
            self.cursor = connection.cursor()
        mark_sent_many(marks, self.cursor)

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
                marks = [mark for item in items if item is not self._STOP for mark in item]
                if marks:
                    self.write(marks)
                    self.marked += len(marks)
        except BaseException as exc:  # handed to the sender's thread by close()/mark()
            self.error = exc
            logger.exception("Marking deliveries sent failed")
            while not stop:  # never leave the sender blocked on a full queue
                stop = self.queue.get() is self._STOP
        finally:
            if self.cursor is not None:
                self.cursor.close()
            connection.close()


Marker = SyncMarker | ThreadedMarker


def sent_marker() -> Marker:
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
    return Delivery.objects.filter(id_in(delivery_ids), status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SKIPPED, last_error=reason[:500], leased_until=None
    )


def slack_wait(url: str) -> float:
    """Seconds until this Slack URL may get another message; 0.0 means "send now" and books
    the slot. Shared by every worker through the cache (Redis in production).

    Windows of `slack_min_interval()` seconds, one message each (SET NX on the window's key),
    and never sooner than the interval after the previous window's message. The key holds a
    hash of the URL, never the URL (its last segment is the channel's secret). If the cache is
    down, the message goes out: pacing must never stop delivery (Slack's 429 is retried).
    """
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


def release(delivery_ids: Iterable[int], *, owner: str) -> None:
    """Give back rows this batch claimed but did not get to (time budget): due now. Only rows
    `owner` still holds: a row whose lease ran out and that another batch claimed since keeps
    that batch's lease and attempt count."""
    now = timezone.now()
    Delivery.objects.filter(
        id_in(delivery_ids), status=Delivery.Status.PENDING, lease_owner=owner[:64]
    ).update(
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
            enqueue_on_commit(
                "notifications.send_disabled_notice",
                subscriber.pk,
                what=f"the disabled notice of {subscriber.pk}",
            )
    logger.info("Disabled subscriber %s: %s", subscriber.public_id, reason)
    return True
