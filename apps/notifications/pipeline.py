"""The notification pipeline: emit, fan-out and batching, sweepers, staff retries.

Flow (shared/DESIGN.md "Notification pipeline"):
1. an app calls `emit(kind, organization, subject, snapshot, deliver=...)` inside the
   transaction of the change it announces: the outbox row is written there, and `fanout_event`
   is enqueued when the transaction commits (no signal);
2. `fan_out` asks the kind's renderer (apps.notifications.registry) for the audience, walks it
   in id order, bulk-creates Delivery rows (unique per event and subscriber, so re-running is
   harmless) and enqueues one batch task per chunk;
3. a batch task (apps.notifications.channels) claims its rows, renders through the registry,
   sends, and marks each row in the ledger (apps.notifications.ledger);
4. beat: `retry_due_deliveries` resends due rows, `requeue_unprocessed_events` restarts fan-outs
   that never finished (crash, lost broker message).

Tasks are enqueued by name (apps.notifications.enqueue): tasks.py imports this module, never
the other way round.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Model, Q, QuerySet
from django.utils import timezone

from apps.organizations.models import AuditEntry, Organization

from . import conf, registry
from .enqueue import task
from .models import Delivery, NotificationEvent, Subscriber

if TYPE_CHECKING:
    from apps.organizations.principals import Principal

logger = logging.getLogger(__name__)

Channel = Subscriber.Channel


# --- 1. emit and enqueue --------------------------------------------------------------------


def emit(
    kind: str,
    organization: Organization,
    subject: Model | None,
    snapshot: dict[str, Any],
    *,
    deliver: bool = True,
    component_ids: Iterable[str] = (),
) -> NotificationEvent:
    """Write the outbox row for a notifiable change and fan it out when the transaction
    commits. Call it inside the change's transaction (CONVENTIONS §2).

    `subject` is what the event is about (stored as its model label and public id), `snapshot`
    what it says (JSON, read by the kind's renderer), `component_ids` the public ids of the
    components it touches (empty: page-wide). With `deliver=False` ("don't notify") the event is
    kept for the record and never delivered.
    """
    event = NotificationEvent.objects.create(
        organization=organization,
        kind=kind,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=getattr(subject, "public_id", "") if subject is not None else "",
        snapshot=snapshot,
        component_ids=list(component_ids),
        deliver=deliver,
    )
    enqueue_event_on_commit(event)
    return event


def enqueue_fanout(event_id: int, after_id: int = 0) -> bool:
    """Send the fan-out task to the broker. Never raises: a failure leaves the event for the
    `requeue_unprocessed_events` beat task (the outbox row is the durable record)."""
    try:
        task("notifications.fanout_event").apply_async(args=[event_id, after_id])
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


def matching_subscribers(event: NotificationEvent) -> QuerySet[Subscriber]:
    """The organization's active, confirmed subscribers the event's kind reaches (its
    renderer's audience rule: by default the followers of the components it touches)."""
    subscribers = Subscriber.objects.for_org(event.organization).active()
    return registry.renderer_for(event).audience(event, subscribers)


def _enqueue_batches(delivery_rows: Sequence[tuple[int, str]]) -> None:
    email_ids = [pk for pk, channel in delivery_rows if channel == Channel.EMAIL]
    hook_ids = [pk for pk, channel in delivery_rows if channel != Channel.EMAIL]
    size = conf.webhook_batch()
    try:
        if email_ids:
            task("notifications.send_email_batch").apply_async(args=[email_ids])
        for start in range(0, len(hook_ids), size):
            task("notifications.send_webhook_batch").apply_async(
                args=[hook_ids[start : start + size]]
            )
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


# --- 3. sweepers ----------------------------------------------------------------------------


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
    if rows:
        # Not due again before the grace has passed once more: a queued batch that has not
        # started yet (a long queue) is enqueued once per grace, not on every sweep.
        Delivery.objects.filter(
            id__in=[pk for pk, _ in rows], status=Delivery.Status.PENDING
        ).update(next_attempt_at=timezone.now() + timedelta(seconds=conf.sweep_grace()))
    chunk = conf.fanout_chunk()
    for start in range(0, len(rows), chunk):
        _enqueue_batches(rows[start : start + chunk])
    return len(rows)


def _requeue_due(event_id: int) -> bool:
    """Whether the sweeper should enqueue this event's fan-out again now (see
    conf.event_requeue_spacing). With the cache down, yes: the broker is probably down with it,
    and enqueueing then fails harmlessly."""
    try:
        return bool(
            cache.add(
                f"notifications:event-requeued:{event_id}",
                1,
                timeout=conf.event_requeue_spacing(),
            )
        )
    except Exception:
        logger.warning("requeue of event %s: cache unavailable, requeueing anyway", event_id)
        return True


def requeue_unprocessed_events(limit: int = 100) -> int:
    cutoff = timezone.now() - timedelta(seconds=conf.unprocessed_event_grace())
    event_ids = list(
        NotificationEvent.objects.filter(processed_at__isnull=True, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )
    requeued = 0
    for event_id in event_ids:
        if _requeue_due(event_id):
            enqueue_fanout(event_id)
            requeued += 1
    return requeued


def waiting_events(organization: Organization | None = None) -> int:
    """Events written more than `conf.waiting_event_minutes()` ago and still not fanned out
    (of one organization, or all). More than zero means no worker is consuming the queue."""
    cutoff = timezone.now() - timedelta(minutes=conf.waiting_event_minutes())
    events = NotificationEvent.objects.filter(processed_at__isnull=True, created_at__lte=cutoff)
    if organization is not None:
        events = events.filter(organization=organization)
    return events.count()


# --- 4. staff: counts and retry (dashboard, API) -------------------------------------------


def delivery_counts(event: NotificationEvent) -> dict[str, int]:
    """{"pending": n, "sent": n, "failed": n, "skipped": n} for one event."""
    counts = dict.fromkeys(Delivery.Status.values, 0)
    rows = Delivery.objects.filter(event=event).values("status").annotate(n=Count("id"))
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def delivery_counts_by_event(event_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """`delivery_counts` for many events in ONE aggregate query (a list page's events)."""
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


@transaction.atomic
def retry_failed_deliveries(event: NotificationEvent, *, actor: Principal) -> int:
    """Send the event's failed deliveries again (to subscribers still active), on commit.

    A staff action (dashboard, API), so it needs `subscribers.manage` like the other staff
    actions on subscribers (apps.notifications.subscribers.MANAGE)."""
    actor.require("subscribers.manage", event.organization)
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
