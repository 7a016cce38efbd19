"""Email batches over a small pool of SMTP connections (channels/smtp_pool.py).

Several sessions at once, each rotated after its share of messages; a connection that breaks
or hangs resends what it did not confirm on a new one without losing the other connections'
deliveries; the sessions and every database write stay in the task's thread (a constant number
of queries besides one mark per ten messages)."""

from __future__ import annotations

import smtplib
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.incidents.notifications import EventKind
from apps.notifications import ledger
from apps.notifications.channels import email, smtp, smtp_pool
from apps.notifications.models import Delivery, NotificationEvent
from tests.factories import IncidentFactory, IncidentUpdateFactory

from .factories import EmailSubscriberFactory, NotificationEventFactory
from .smtp_sink import SMTPSink

Status = Delivery.Status


@pytest.fixture(params=[False, True], ids=["data", "bdat"])
def sink(request):
    """Every batch behaviour holds with DATA and with BDAT (a server offering CHUNKING)."""
    with SMTPSink() as sink:
        sink.state.chunking = request.param
        yield sink


@pytest.fixture
def over_smtp(sink, settings, monkeypatch):
    """Django's SMTP backend pointed at the sink; one extra connection per 10 messages."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.NOTIFICATIONS_SMTP_CONNECTIONS = 3
    settings.NOTIFICATIONS_SMTP_MESSAGES_PER_CONNECTION = 0
    monkeypatch.setattr(email, "MESSAGES_PER_EXTRA_CONNECTION", 10)
    return settings


@pytest.fixture
def open_incident(org, over_smtp, django_capture_on_commit_callbacks):
    """Open an incident and run its fan-out and email batch (eager Celery); returns the event."""

    def open_incident() -> NotificationEvent:
        incident = IncidentFactory(
            organization=org,
            name="Elevated API errors",
            next_update_due=timezone.now() + timedelta(minutes=30),
        )
        update = IncidentUpdateFactory(incident=incident, status="investigating", body="Looking.")
        with django_capture_on_commit_callbacks(execute=True):
            return NotificationEventFactory(
                organization=org, kind=EventKind.INCIDENT_OPENED, incident=incident, update=update
            )

    return open_incident


def received(sink: SMTPSink) -> Counter:
    return Counter(r for m in sink.state.messages for r in m.recipients)


def test_a_batch_sends_over_several_connections_at_once(org, sink, open_incident, monkeypatch):
    readers = EmailSubscriberFactory.create_batch(30, organization=org)
    threads: set[str] = set()
    real_begin = email.smtp.Session.begin

    def begin(self, key, recipient, message):
        threads.add(threading.current_thread().name)
        return real_begin(self, key, recipient, message)

    monkeypatch.setattr(email.smtp.Session, "begin", begin)
    event = open_incident()

    assert received(sink) == Counter(r.email for r in readers)  # each once
    assert sink.state.sessions == 3
    # All three sessions are driven from the batch's own thread (no thread per connection).
    assert threads == {threading.main_thread().name}
    assert set(event.deliveries.values_list("status", flat=True)) == {Status.SENT}


def test_a_small_batch_uses_one_connection(org, sink, open_incident):
    EmailSubscriberFactory.create_batch(5, organization=org)
    open_incident()
    assert sink.state.sessions == 1 and sink.state.count() == 5


def test_connections_end_after_their_share_and_never_hit_the_providers_cap(
    org, sink, open_incident, over_smtp, monkeypatch
):
    readers = EmailSubscriberFactory.create_batch(7, organization=org)
    over_smtp.NOTIFICATIONS_SMTP_CONNECTIONS = 1
    over_smtp.NOTIFICATIONS_SMTP_MESSAGES_PER_CONNECTION = 2
    sink.state.close_after = 2  # the provider's cap: a third message would get a 421
    monkeypatch.setattr(email, "RECONNECTS", 0)  # so a 421 would leave mail unsent
    event = open_incident()

    assert received(sink) == Counter(r.email for r in readers)
    assert sink.state.sessions == 4  # 2 + 2 + 2 + 1, each ended with QUIT
    assert set(event.deliveries.values_list("status", flat=True)) == {Status.SENT}


def test_a_dropped_connection_is_reopened_and_sends_what_it_did_not_confirm(
    org, sink, open_incident
):
    readers = EmailSubscriberFactory.create_batch(30, organization=org)
    sink.state.close_after = 4  # every session ends with a 421 after 4 messages
    event = open_incident()

    assert received(sink) == Counter(r.email for r in readers)  # all of them, each once
    assert set(event.deliveries.values_list("status", flat=True)) == {Status.SENT}


def test_a_hung_connection_times_out_without_losing_the_others_deliveries(
    org, sink, open_incident, over_smtp
):
    readers = EmailSubscriberFactory.create_batch(30, organization=org)
    over_smtp.EMAIL_TIMEOUT = 0.5
    sink.state.hang_sessions = {1: 2}  # the first connection hangs after 2 messages
    event = open_incident()

    # The hung session's unconfirmed message went again on a new connection; the two other
    # connections' messages were never held up or lost.
    assert received(sink) == Counter(r.email for r in readers)
    assert set(event.deliveries.values_list("status", flat=True)) == {Status.SENT}
    # Three connections to start with; whether the hung one's message needed a fourth depends
    # on whether the other two had already taken the rest of the queue when it timed out.
    assert sink.state.sessions in (3, 4)


def test_a_connection_refused_by_the_server_leaves_its_mail_to_the_others(org, sink, open_incident):
    readers = EmailSubscriberFactory.create_batch(30, organization=org)
    sink.state.max_sessions = 2  # a cap on sessions at once: the third connection gets a 421
    event = open_incident()

    assert received(sink) == Counter(r.email for r in readers)
    assert set(event.deliveries.values_list("status", flat=True)) == {Status.SENT}


def test_refused_addresses_fail_alone_on_every_connection(org, sink, open_incident):
    readers = EmailSubscriberFactory.create_batch(30, organization=org)
    refused = {r.email for r in readers[::7]}
    sink.state.refuse = refused
    event = open_incident()

    statuses = dict(event.deliveries.values_list("subscriber__email", "status"))
    assert {a for a, s in statuses.items() if s == Status.FAILED} == refused
    assert {a for a, s in statuses.items() if s == Status.SENT} == {
        r.email for r in readers
    } - refused
    assert set(received(sink)) == {r.email for r in readers} - refused


def test_when_every_connection_gives_up_the_rest_waits_for_a_retry(org, sink, open_incident):
    EmailSubscriberFactory.create_batch(30, organization=org)
    sink.state.close_after = 2
    sink.state.max_sessions = 3  # each connection sends 2, then nobody may reconnect
    event = open_incident()

    rows = list(event.deliveries.all())
    sent = [d for d in rows if d.status == Status.SENT]
    waiting = [d for d in rows if d.status == Status.PENDING]
    assert len(sent) == sink.state.count() == 6
    assert len(waiting) == 24
    assert all(d.next_attempt_at > timezone.now() and d.last_error for d in waiting)


def test_a_batchs_queries_do_not_grow_with_its_messages_beyond_one_mark_per_ten(
    org, sink, over_smtp
):
    """Claim, load and the sent marks; no query per message (marks are written ten at a time;
    on PostgreSQL by the marker's own connection)."""
    from apps.incidents.notifications import snapshot

    incident = IncidentFactory(organization=org)
    update = IncidentUpdateFactory(incident=incident)
    counts = {}
    for size in (20, 60):
        readers = EmailSubscriberFactory.create_batch(size, organization=org)
        event = NotificationEvent.objects.create(
            organization=org,
            kind=EventKind.INCIDENT_OPENED,
            subject_type="incidents.incident",
            subject_id=incident.public_id,
            snapshot=snapshot(incident, update),
        )
        ids = [
            Delivery.objects.create(organization=org, event=event, subscriber=r, channel="email").pk
            for r in readers
        ]
        with CaptureQueriesContext(connection) as queries:
            assert email.send_batch(ids, owner=f"size-{size}") == []
        counts[size] = len(queries)
        assert set(event.deliveries.values_list("status", flat=True)) == {Status.SENT}
    # 40 more messages: 4 more mark statements, nothing else.
    assert counts[60] - counts[20] == 40 // ledger.SENT_MARK_QUEUE_LIMIT
    assert counts[20] <= 20 // ledger.SENT_MARK_QUEUE_LIMIT + 12


class HeldSession:
    """A session that holds every message until the end (its content waits, as a pipelined
    session's last one does); `fail` makes that last step fail."""

    group_size = 1

    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.held: list = []

    def flush(self) -> None:
        pass

    def replies_due(self) -> bool:
        return False

    def begin(self, key, recipient, content):
        self.held.append(key)
        return False

    def begin_finish(self):
        if self.fail:
            raise smtplib.SMTPServerDisconnected("gone at the last message")
        return False

    def drain(self):
        if self.fail:
            return []
        held, self.held = self.held, []
        return [smtp.Outcome(key) for key in held]


class FakeConnection(smtp_pool.Connection):
    def fileno(self) -> int:  # never selected: HeldSession has no reply due
        raise AssertionError("no reply is ever due")


def test_a_connection_lost_at_the_very_end_still_resends_and_ends():
    sessions = iter([HeldSession(fail=True), HeldSession(fail=False)])
    pool = smtp_pool.Pool(
        1,
        lambda: FakeConnection(next(sessions), lambda: None),
        messages_per_connection=0,
        reconnects=3,
    )
    messages = iter(
        [smtp_pool.Message(1, "a@example.com", b"x"), smtp_pool.Message(2, "b@example.com", b"x")]
    )
    results: list[smtp_pool.Result] = []

    assert pool.run(lambda: next(messages, None), results.append) is None
    assert sorted(r.key for r in results) == [1, 2]
    assert all(r.error is None and r.lost is None for r in results)


def test_every_message_taken_is_settled_when_every_connection_gives_up():
    pool = smtp_pool.Pool(
        2,
        lambda: FakeConnection(HeldSession(fail=True), lambda: None),
        messages_per_connection=0,
        reconnects=1,
    )
    messages = iter([smtp_pool.Message(n, f"r{n}@example.com", b"x") for n in range(5)])
    results: list[smtp_pool.Result] = []

    error = pool.run(lambda: next(messages, None), results.append)

    assert error is not None and error.startswith("Mail server error")
    assert sorted(r.key for r in results) == [0, 1, 2, 3, 4]
    assert all(r.lost for r in results)


def test_an_unexpected_error_opening_a_connection_fails_the_batch_for_a_retry():
    def connect():
        raise RuntimeError("EMAIL_HOST is misconfigured")

    pool = smtp_pool.Pool(2, connect, messages_per_connection=0, reconnects=3)
    messages = iter([smtp_pool.Message(n, f"r{n}@example.com", b"x") for n in range(3)])
    results: list[smtp_pool.Result] = []

    error = pool.run(lambda: next(messages, None), results.append)

    assert error == "RuntimeError: EMAIL_HOST is misconfigured"
    # The messages taken (built ahead) are settled as lost; the caller fails the rest.
    assert results and all(r.lost == error for r in results)
