"""Sent marks: in the batch's own thread, ten to a statement (from a second thread on PostgreSQL
outside a transaction when NOTIFICATIONS_THREADED_SENT_MARKS is on)."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta

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
    """Marks go over `chunk` at a time; while the thread writes one chunk another may wait, so
    at most 3 x chunk - 1 accepted deliveries wait for their mark; close() waits for all."""
    written: list[list[int]] = []
    gate = threading.Event()

    def slow_marks(self, marks):
        gate.wait(5)
        written.append([pk for pk, _ in marks])

    monkeypatch.setattr(ledger.ThreadedMarker, "write", slow_marks)
    monkeypatch.setattr(ledger, "relax_commit_durability", lambda: None)
    marker = ledger.ThreadedMarker(chunk=2)
    for pk in (1, 2):  # one chunk, taken by the thread, which then blocks in slow_marks
        marker.mark(pk)
    time.sleep(0.1)
    for pk in (3, 4, 5):  # a chunk waiting, one mark held: 5 unmarked in all (3 x 2 - 1)
        marker.mark(pk)
    blocked = threading.Thread(target=marker.mark, args=(6,))
    blocked.start()
    time.sleep(0.1)
    assert blocked.is_alive(), "a chunk waiting and one being written must hold the sender back"
    gate.set()
    blocked.join(5)
    marker.mark(7)
    marker.close()
    assert sorted(pk for chunk in written for pk in chunk) == [1, 2, 3, 4, 5, 6, 7]
    assert written[0] == [1, 2]  # marks are written a chunk (or more) at a time


def test_threaded_marker_error_reaches_the_sender_without_deadlock(monkeypatch):
    def broken(self, marks):
        raise RuntimeError("database went away")

    monkeypatch.setattr(ledger.ThreadedMarker, "write", broken)
    monkeypatch.setattr(ledger, "relax_commit_durability", lambda: None)
    marker = ledger.ThreadedMarker(chunk=1)
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
def test_threaded_marker_on_postgresql(transactional_db, settings):
    settings.NOTIFICATIONS_THREADED_SENT_MARKS = True
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


@pytest.mark.services
@pytest.mark.skipif(
    not os.environ.get("CANDOR_TEST_SERVICES"), reason="needs PostgreSQL (CANDOR_TEST_SERVICES=1)"
)
def test_marks_in_the_batchs_thread_keep_the_time_each_was_accepted(transactional_db):
    event = NotificationEventFactory()
    org = event.organization
    deliveries = [
        Delivery.objects.create(
            organization=org, event=event, subscriber=EmailSubscriberFactory(organization=org)
        )
        for _ in range(12)
    ]
    Delivery.objects.filter(pk=deliveries[1].pk).update(status=Status.FAILED)
    marker = ledger.sent_marker()
    assert isinstance(marker, ledger.SyncMarker)
    marker.mark(deliveries[0].pk)
    time.sleep(0.05)
    for delivery in deliveries[1:10]:
        marker.mark(delivery.pk)  # the tenth mark writes the ten in one statement
    assert Delivery.objects.filter(status=Status.SENT).count() == 9
    for delivery in deliveries[10:]:
        marker.mark(delivery.pk)
    marker.close()

    rows = {d.pk: d for d in Delivery.objects.all()}
    assert rows[deliveries[1].pk].status == Status.FAILED  # conditional: decided rows stay
    assert all(rows[d.pk].status == Status.SENT for d in deliveries if d != deliveries[1])
    # Each row says when it was marked, not when its statement ran.
    assert rows[deliveries[2].pk].sent_at - rows[deliveries[0].pk].sent_at >= timedelta(
        seconds=0.05
    )
