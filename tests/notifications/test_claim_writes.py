"""What a claim and a lease renewal write (issue 13, fan-out): no indexed column, so on
PostgreSQL they can be HOT updates; a renewal never waits for the batch's own sent marker; a
release gives back only the rows the releasing batch holds."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.notifications import ledger, pipeline
from apps.notifications.models import Delivery

from .factories import EmailSubscriberFactory, NotificationEventFactory


def _rows(org, count: int) -> list[int]:
    event = NotificationEventFactory(organization=org)
    return [
        Delivery.objects.create(
            organization=org,
            event=event,
            subscriber=EmailSubscriberFactory(organization=org),
            channel="email",
        ).pk
        for _ in range(count)
    ]


def test_claim_and_renewal_leave_next_attempt_at_alone(org):
    ids = _rows(org, 2)
    due = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "next_attempt_at"))

    ledger.claim(ids, owner="batch-1")
    ledger.renew_lease(ids, owner="batch-1")

    rows = Delivery.objects.filter(pk__in=ids)
    assert {d.pk: d.next_attempt_at for d in rows} == due
    assert all(d.leased_until > timezone.now() for d in rows)


def test_the_sweeper_skips_a_leased_row_and_takes_it_when_the_lease_ends(org, monkeypatch):
    ids = _rows(org, 1)
    Delivery.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now())
    monkeypatch.setattr(pipeline, "_enqueue_batches", lambda rows: None)
    ledger.claim(ids, owner="batch-1")

    assert pipeline.retry_due_deliveries() == 0

    Delivery.objects.filter(pk__in=ids).update(leased_until=timezone.now() - timedelta(seconds=1))
    assert pipeline.retry_due_deliveries() == 1


def test_release_gives_back_only_the_owners_rows(org):
    ids = _rows(org, 2)
    ledger.claim([ids[0]], owner="batch-1")
    ledger.claim([ids[1]], owner="batch-2")

    ledger.release(ids, owner="batch-1")

    rows = {d.pk: d for d in Delivery.objects.filter(pk__in=ids)}
    assert rows[ids[0]].lease_owner == "" and rows[ids[0]].attempts == 0
    assert rows[ids[1]].lease_owner == "batch-2" and rows[ids[1]].attempts == 1


@pytest.mark.services
@pytest.mark.skipif(
    not os.environ.get("CANDOR_TEST_SERVICES"), reason="needs PostgreSQL (CANDOR_TEST_SERVICES=1)"
)
def test_deliveries_leave_room_for_hot_claims(transactional_db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE relname = %s", [Delivery._meta.db_table]
        )
        options = cursor.fetchone()[0]
    assert "fillfactor=50" in options


@pytest.mark.services
@pytest.mark.skipif(
    not os.environ.get("CANDOR_TEST_SERVICES"), reason="needs PostgreSQL (CANDOR_TEST_SERVICES=1)"
)
def test_renewal_skips_a_row_the_marker_holds_instead_of_waiting(transactional_db):
    """The sent marker and the lease keeper update the same rows from two connections: the
    renewal must never wait for the marker (it deadlocked when each waited for the other)."""
    from django.db import connections, transaction

    event = NotificationEventFactory()
    ids = _rows(event.organization, 3)
    ledger.claim(ids, owner="batch-1")
    locked = threading.Event()
    done = threading.Event()

    def marker_holds_a_row() -> None:
        try:
            with transaction.atomic():
                Delivery.objects.filter(pk=ids[1]).update(last_error="")
                locked.set()
                done.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=marker_holds_a_row)
    holder.start()
    try:
        assert locked.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # a wait would fail the test, not hang
        renewed = ledger.renew_lease(ids, owner="batch-1")
    finally:
        done.set()
        holder.join()

    assert renewed == 2
    assert ledger.renew_lease(ids, owner="batch-1") == 3
