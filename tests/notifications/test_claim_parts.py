"""Email batches claim their rows in parts (issue 13, fan-out): the next part is claimed and
loaded while the one before it is sent, and a claim or a renewal writes no indexed column."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from apps.notifications import conf, ledger, pipeline
from apps.notifications.channels import email
from apps.notifications.models import Delivery

from .factories import EmailSubscriberFactory, NotificationEventFactory
from .test_pipeline import incident, opened, publish  # noqa: F401 (fixtures)

Status = Delivery.Status


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


def _owners(ids: list[int]) -> dict[int, str]:
    return dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "lease_owner"))


def test_parts_are_claimed_one_at_a_time_in_line(org, settings):
    settings.NOTIFICATIONS_CLAIM_PART = 2
    ids = _rows(org, 5)
    parts = email.ClaimedParts(ids, owner="batch-1", threaded=False)

    first = next(parts)

    assert first.pk == ids[0]
    owners = _owners(ids)
    assert [owners[pk] for pk in ids] == ["batch-1", "batch-1", "", "", ""]
    assert [d.pk for d in parts] == ids[1:]
    assert set(_owners(ids).values()) == {"batch-1"}


def test_a_row_another_batch_holds_is_left_out(org, settings):
    settings.NOTIFICATIONS_CLAIM_PART = 2
    ids = _rows(org, 4)
    assert ledger.claim([ids[2]], owner="batch-2") == [ids[2]]

    sent = [d.pk for d in email.ClaimedParts(ids, owner="batch-1", threaded=False)]

    assert sent == [ids[0], ids[1], ids[3]]
    assert _owners(ids)[ids[2]] == "batch-2"


def test_rest_names_every_row_not_handed_out_and_hand_over_releases_only_its_own(org, settings):
    settings.NOTIFICATIONS_CLAIM_PART = 2
    ids = _rows(org, 5)
    ledger.claim([ids[4]], owner="batch-2")
    batch = email.Batch(ids, owner="batch-1", claim=False)
    parts = email.ClaimedParts(ids, owner="batch-1", threaded=False)
    next(parts)

    rest = parts.rest()
    batch.hand_over_ids(rest)

    assert rest == ids[1:]  # the claimed ids[1], then the parts never claimed
    assert list(parts) == []  # no more claims after rest()
    rows = {d.pk: d for d in Delivery.objects.filter(pk__in=ids)}
    assert rows[ids[1]].lease_owner == "" and rows[ids[1]].attempts == 0  # released
    assert rows[ids[2]].attempts == 0  # never claimed, not touched
    assert rows[ids[4]].lease_owner == "batch-2" and rows[ids[4]].attempts == 1  # not ours


def test_a_batch_in_parts_sends_everything_once(org, incident, publish, settings):  # noqa: F811
    settings.NOTIFICATIONS_CLAIM_PART = 2
    EmailSubscriberFactory.create_batch(5, organization=org)

    event = publish(**opened(incident))

    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        event.deliveries.values_list("subscriber__email", flat=True)
    )
    assert len(mail.outbox) == 5
    assert set(event.deliveries.values_list("status", flat=True)) == {Status.SENT}
    assert set(event.deliveries.values_list("attempts", flat=True)) == {1}


def test_out_of_time_in_parts_hands_the_unclaimed_parts_over(org, incident, publish, settings):  # noqa: F811
    settings.NOTIFICATIONS_CLAIM_PART = 1
    settings.NOTIFICATIONS_BATCH_TIME_BUDGET = 0
    EmailSubscriberFactory.create_batch(3, organization=org)

    event = publish(**opened(incident))

    # One message a task (the budget is spent after the first), each row claimed once.
    assert len(mail.outbox) == 3
    assert set(event.deliveries.values_list("attempts", flat=True)) == {1}


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


def test_claim_part_zero_claims_the_whole_batch_at_once(org, settings):
    settings.NOTIFICATIONS_CLAIM_PART = 0
    ids = _rows(org, 3)

    parts = email.ClaimedParts(ids, owner="batch-1", threaded=False)
    next(parts)

    assert set(_owners(ids).values()) == {"batch-1"}
    assert conf.claim_part() == 0


# --- PostgreSQL: the claiming thread --------------------------------------------------------


@pytest.mark.services
@pytest.mark.skipif(
    not os.environ.get("CANDOR_TEST_SERVICES"), reason="needs PostgreSQL (CANDOR_TEST_SERVICES=1)"
)
def test_the_claiming_thread_works_one_part_ahead(transactional_db, settings):
    assert connection.vendor == "postgresql"
    settings.NOTIFICATIONS_CLAIM_PART = 2
    event = NotificationEventFactory()
    ids = _rows(event.organization, 7)
    parts = email.ClaimedParts(ids, owner="batch-1")
    assert parts.thread is not None

    taken = [next(parts).pk]  # the first part, claimed by the thread
    deadline = timezone.now() + timedelta(seconds=5)
    while parts.claimed < 2 and timezone.now() < deadline:
        threading.Event().wait(0.02)
    threading.Event().wait(0.2)  # it must not go further than one part ahead

    owners = _owners(ids)
    assert [owners[pk] for pk in ids] == ["batch-1"] * 4 + [""] * 3
    taken += [d.pk for d in parts]
    parts.close()

    assert taken == ids
    assert set(_owners(ids).values()) == {"batch-1"}
    assert not parts.thread.is_alive()


@pytest.mark.services
@pytest.mark.skipif(
    not os.environ.get("CANDOR_TEST_SERVICES"), reason="needs PostgreSQL (CANDOR_TEST_SERVICES=1)"
)
def test_rest_stops_the_claiming_thread(transactional_db, settings):
    settings.NOTIFICATIONS_CLAIM_PART = 2
    event = NotificationEventFactory()
    ids = _rows(event.organization, 6)
    batch = email.Batch(ids, owner="batch-1", claim=False)
    parts = email.ClaimedParts(ids, owner="batch-1")
    next(parts)

    rest = parts.rest()
    batch.hand_over_ids(rest)

    assert rest == ids[1:]
    assert not parts.thread.is_alive()
    owners = _owners(ids)
    assert owners[ids[0]] == "batch-1" and all(owners[pk] == "" for pk in ids[1:])


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
