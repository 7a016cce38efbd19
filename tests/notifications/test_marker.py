"""Sent marks: synchronous inside a transaction, from a second thread on PostgreSQL otherwise."""

from __future__ import annotations

import os
import threading
import time

import pytest
from django.db import connection

from apps.notifications import ledger
from apps.notifications.models import Delivery

from .factories import EmailSubscriberFactory, NotificationEventFactory

Status = Delivery.Status


def test_inside_a_transaction_marks_synchronously(org):
    # pytest-django's `db` runs each test in a transaction: the thread could not see its rows.
    assert connection.in_atomic_block
    marker = ledger.sent_marker()
    assert isinstance(marker, ledger.SyncMarker)
    event = NotificationEventFactory(organization=org)
    delivery = Delivery.objects.create(
        organization=org, event=event, subscriber=EmailSubscriberFactory(organization=org)
    )
    marker.mark(delivery.pk)
    marker.close()
    delivery.refresh_from_db()
    assert delivery.status == Status.SENT and delivery.sent_at is not None


def test_threaded_marker_bounds_the_unmarked_and_drains_on_close(monkeypatch):
    """At most `limit` accepted deliveries wait for their mark; close() waits for all."""
    written: list[int] = []
    gate = threading.Event()

    def slow_marks(marks):
        gate.wait(5)
        written.extend(pk for pk, _ in marks)
        return len(marks)

    monkeypatch.setattr(ledger, "mark_sent_many", slow_marks)
    monkeypatch.setattr(ledger, "relax_commit_durability", lambda: None)
    marker = ledger.ThreadedMarker(limit=3)
    marker.mark(1)  # taken by the thread, which then blocks in slow_marks
    time.sleep(0.1)
    for pk in (2, 3, 4):
        marker.mark(pk)
    blocked = threading.Thread(target=marker.mark, args=(5,))
    blocked.start()
    time.sleep(0.1)
    assert blocked.is_alive(), "a full queue must hold the sender back"
    gate.set()
    blocked.join(5)
    marker.close()
    assert sorted(written) == [1, 2, 3, 4, 5]


def test_threaded_marker_error_reaches_the_sender_without_deadlock(monkeypatch):
    def broken(marks):
        raise RuntimeError("database went away")

    monkeypatch.setattr(ledger, "mark_sent_many", broken)
    monkeypatch.setattr(ledger, "relax_commit_durability", lambda: None)
    marker = ledger.ThreadedMarker(limit=2)
    marker.mark(1)
    time.sleep(0.1)
    with pytest.raises(RuntimeError):
        for pk in range(2, 20):  # the thread keeps draining: this never blocks for good
            marker.mark(pk)
    with pytest.raises(RuntimeError):
        marker.close()
    assert not marker.thread.is_alive()


@pytest.mark.services
@pytest.mark.skipif(
    not os.environ.get("CANDOR_TEST_SERVICES"), reason="needs PostgreSQL (CANDOR_TEST_SERVICES=1)"
)
def test_threaded_marker_on_postgresql(transactional_db):
    assert connection.vendor == "postgresql"
    event = NotificationEventFactory()
    org = event.organization
    deliveries = [
        Delivery.objects.create(
            organization=org, event=event, subscriber=EmailSubscriberFactory(organization=org)
        )
        for _ in range(5)
    ]
    Delivery.objects.filter(pk=deliveries[0].pk).update(status=Status.FAILED)
    marker = ledger.sent_marker()
    assert isinstance(marker, ledger.ThreadedMarker)
    for delivery in deliveries:
        marker.mark(delivery.pk)
    marker.close()
    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert statuses[deliveries[0].pk] == Status.FAILED  # conditional: decided rows stay
    assert all(statuses[d.pk] == Status.SENT for d in deliveries[1:])
    assert marker.marked == 5
    assert not Delivery.objects.filter(status=Status.SENT, sent_at__isnull=True).exists()
