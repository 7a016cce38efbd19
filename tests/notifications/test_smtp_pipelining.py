"""Pre-rendered mail over SMTP: pipelined (RFC 2920) when the server offers it, else sendmail."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.incidents.notifications import EventKind
from apps.notifications.channels import smtp
from apps.notifications.models import Delivery, NotificationEvent
from tests.factories import IncidentFactory, IncidentUpdateFactory

from .factories import EmailSubscriberFactory, NotificationEventFactory
from .smtp_sink import SMTPSink

MESSAGE = (
    "From: a@example.com\r\nSubject: Errors\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\nLine one\r\n.starts with a dot\r\n..two dots\r\n"
    "Caf\u00e9 \u2014 8-bit text\r\n.\r\nlast line"
).encode()


@pytest.fixture
def sink():
    with SMTPSink() as sink:
        yield sink


def session_for(sink: SMTPSink) -> tuple[smtplib.SMTP, smtp.Session]:
    connection = smtplib.SMTP("127.0.0.1", sink.port, timeout=5)
    return connection, smtp.Session(connection, "updates@status.example.com")


def errors(outcomes: list[smtp.Outcome]) -> dict:
    return {o.key: (type(o.error).__name__ if o.error else None) for o in outcomes}


@pytest.mark.parametrize("pipelining", [True, False])
def test_messages_arrive_byte_for_byte(sink, pipelining):
    sink.state.pipelining = pipelining
    connection, session = session_for(sink)
    outcomes = []
    with connection:
        assert session.pipelining is pipelining
        for n in range(3):
            outcomes += session.submit(n, f"reader{n}@example.com", MESSAGE)
        outcomes += session.finish()

    assert errors(outcomes) == {0: None, 1: None, 2: None}
    assert [m.recipients for m in sink.state.messages] == [
        [f"reader{n}@example.com"] for n in range(3)
    ]
    assert [m.sender for m in sink.state.messages] == ["updates@status.example.com"] * 3
    # Dot-stuffing undone by the server; the missing final CRLF added.
    assert all(m.data == MESSAGE + b"\r\n" for m in sink.state.messages)


def test_an_outcome_comes_once_the_next_message_is_on_its_way(sink):
    connection, session = session_for(sink)
    with connection:
        first = session.submit("a", "a@example.com", MESSAGE)
        # The server said 354; the content waits to travel with the next envelope.
        assert first == [] and sink.state.count() == 0
        second = session.submit("b", "b@example.com", MESSAGE)
        assert errors(second) == {"a": None}
        assert errors(session.finish()) == {"b": None}
        assert session.finish() == []
    assert sink.state.count() == 2


def test_a_refused_address_fails_alone_and_the_session_goes_on(sink):
    sink.state.refuse = {"gone@example.com"}
    connection, session = session_for(sink)
    with connection:
        outcomes = session.submit(1, "first@example.com", MESSAGE)
        outcomes += session.submit(2, "gone@example.com", MESSAGE)
        outcomes += session.submit(3, "third@example.com", MESSAGE)
        outcomes += session.finish()

    assert errors(outcomes) == {1: None, 2: "SMTPRecipientsRefused", 3: None}
    refused = next(o.error for o in outcomes if o.key == 2)
    assert refused.recipients["gone@example.com"][0] == 550
    assert [m.recipients for m in sink.state.messages] == [
        ["first@example.com"],
        ["third@example.com"],
    ]


def test_a_message_rejected_after_its_content_fails_alone(sink):
    sink.state.reject_content = {"spam-trap@example.com"}
    connection, session = session_for(sink)
    with connection:
        outcomes = session.submit(1, "spam-trap@example.com", MESSAGE)
        outcomes += session.submit(2, "reader@example.com", MESSAGE)
        outcomes += session.finish()

    assert errors(outcomes) == {1: "SMTPDataError", 2: None}
    assert next(o.error for o in outcomes if o.key == 1).smtp_code == 554
    assert [m.recipients for m in sink.state.messages] == [["reader@example.com"]]


def test_a_server_going_away_raises_and_leaves_the_rest_unconfirmed(sink):
    sink.state.close_after = 2
    _connection, session = session_for(sink)
    reported = []
    with pytest.raises(smtplib.SMTPServerDisconnected):
        for n in range(5):
            reported += session.submit(n, f"reader{n}@example.com", MESSAGE)
    # Message 1's 250 came in the same read as the 421 for message 2's MAIL: drain() has it.
    assert errors(reported) == {0: None}
    assert errors(session.drain()) == {1: None}
    assert session.drain() == []
    assert sink.state.count() == 2


def chunked_session(sink: SMTPSink) -> tuple[smtplib.SMTP, smtp.Session, list[bytes]]:
    """A session with a server offering CHUNKING, and every write it makes."""
    sink.state.chunking = True
    connection, session = session_for(sink)
    writes: list[bytes] = []
    send = connection.send

    def recording_send(data: bytes) -> None:
        writes.append(data)
        send(data)

    connection.send = recording_send  # type: ignore[method-assign]
    return connection, session, writes


def test_with_chunking_a_group_of_messages_goes_out_in_one_write_byte_for_byte(sink):
    connection, session, writes = chunked_session(sink)
    with connection:
        assert session.chunking and session.group_size == smtp.CHUNKED_GROUP == 5
        for n in range(5):
            assert session.begin(n, f"reader{n}@example.com", MESSAGE)
        # Nothing written until the group is complete.
        assert writes == [] and sink.state.count() == 0
        outcomes = session.collect()
        assert len(writes) == 1
        assert writes[0].count(b"BDAT %d LAST\r\n" % len(MESSAGE + b"\r\n")) == 5
        outcomes += session.submit(5, "reader5@example.com", MESSAGE)
        assert len(writes) == 2

    assert errors(outcomes) == {n: None for n in range(6)}
    assert [m.recipients for m in sink.state.messages] == [
        [f"reader{n}@example.com"] for n in range(6)
    ]
    # BDAT carries the bytes as they are (no dot-stuffing), ended with CRLF as with DATA.
    assert all(m.data == MESSAGE + b"\r\n" for m in sink.state.messages)


def test_with_chunking_refused_and_rejected_messages_fail_alone_within_a_group(sink):
    sink.state.refuse = {"gone@example.com"}
    sink.state.reject_content = {"spam-trap@example.com"}
    connection, session, _writes = chunked_session(sink)
    recipients = ["first@example.com", "gone@example.com", "spam-trap@example.com", "last@x.org"]
    with connection:
        for n, recipient in enumerate(recipients):
            session.begin(n, recipient, MESSAGE)
        outcomes = session.collect()

    assert errors(outcomes) == {
        0: None,
        1: "SMTPRecipientsRefused",
        2: "SMTPDataError",
        3: None,
    }
    refused = next(o.error for o in outcomes if o.key == 1)
    assert refused.recipients["gone@example.com"][0] == 550
    assert next(o.error for o in outcomes if o.key == 2).smtp_code == 554
    assert [m.recipients for m in sink.state.messages] == [["first@example.com"], ["last@x.org"]]


def test_with_chunking_a_server_going_away_leaves_the_rest_of_the_group_unconfirmed(sink):
    sink.state.close_after = 2
    connection, session, _writes = chunked_session(sink)
    for n in range(5):
        session.begin(n, f"reader{n}@example.com", MESSAGE)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        session.collect()
    # The two the server accepted are known; messages 2-4 were never confirmed.
    assert errors(session.drain()) == {0: None, 1: None}
    assert sink.state.count() == 2
    connection.close()


def test_with_chunking_a_non_ascii_address_waits_for_the_group_then_goes_alone(sink):
    connection, session, _writes = chunked_session(sink)
    with connection:
        session.begin(1, "first@example.com", MESSAGE)
        # Not pipelined (sendmail, SMTPUTF8): the group's replies are read first.
        assert not session.begin(2, "jos\u00e9@example.com", MESSAGE)
        assert errors(session.drain()) == {1: None, 2: None}
        assert not session.replies_due()
        outcomes = session.submit(3, "third@example.com", MESSAGE)

    assert errors(outcomes) == {3: None}
    assert [m.recipients for m in sink.state.messages] == [
        ["first@example.com"],
        ["jos\u00e9@example.com"],
        ["third@example.com"],
    ]


def test_an_internationalized_address_needs_smtputf8_and_fails_alone_without_it(sink):
    connection, session = session_for(sink)
    with connection:
        # The first one's content waits for the next group; the second goes with sendmail,
        # after the first one's reply was read (and its outcome kept, not dropped).
        outcomes = session.submit(0, "reader@example.com", MESSAGE)
        outcomes += session.submit(1, "jos\u00e9@example.com", MESSAGE)
        outcomes += session.finish()
    assert errors(outcomes) == {0: None, 1: None}
    assert [m.recipients for m in sink.state.messages] == [
        ["reader@example.com"],
        ["jos\u00e9@example.com"],
    ]

    sink.state.smtputf8 = False
    connection, session = session_for(sink)
    with connection:
        outcomes = session.submit(2, "jos\u00e9@example.com", MESSAGE)
        outcomes += session.submit(3, "reader@example.com", MESSAGE)
        outcomes += session.finish()
    assert errors(outcomes) == {2: "SMTPNotSupportedError", 3: None}
    assert sink.state.messages[-1].recipients == ["reader@example.com"]


def test_content_for_data_stuffs_dots_and_ends_the_message():
    assert smtp.content_for_data(b".a\r\nb\r\n.") == b"..a\r\nb\r\n..\r\n.\r\n"
    assert smtp.content_for_data(b"x\r\n") == b"x\r\n.\r\n"


@pytest.fixture
def open_incident_over_smtp(org, sink, settings, django_capture_on_commit_callbacks):
    """Open an incident with Django's SMTP backend pointed at the sink; returns its event."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""

    def open_incident() -> NotificationEvent:
        incident = IncidentFactory(
            organization=org,
            name="Elevated API errors",
            next_update_due=timezone.now() + timedelta(minutes=30),
        )
        update = IncidentUpdateFactory(incident=incident, status="investigating", body="Looking.")
        with django_capture_on_commit_callbacks(execute=True):
            return NotificationEventFactory(
                organization=org,
                kind=EventKind.INCIDENT_OPENED,
                incident=incident,
                update=update,
            )

    return open_incident


def test_a_batch_over_smtp_marks_the_refused_address_failed_and_sends_the_rest(
    org, sink, open_incident_over_smtp
):
    readers = EmailSubscriberFactory.create_batch(3, organization=org)
    sink.state.refuse = {readers[1].email}
    event = open_incident_over_smtp()

    assert sorted(m.recipients[0] for m in sink.state.messages) == sorted(
        [readers[0].email, readers[2].email]
    )
    statuses = dict(event.deliveries.values_list("subscriber_id", "status"))
    assert statuses == {
        readers[0].pk: Delivery.Status.SENT,
        readers[1].pk: Delivery.Status.FAILED,
        readers[2].pk: Delivery.Status.SENT,
    }
    assert "550" in event.deliveries.get(subscriber=readers[1]).last_error
    assert mail.outbox == []  # the SMTP backend was used, not the test outbox


def test_a_batch_opens_a_new_session_when_the_server_ends_one(org, sink, open_incident_over_smtp):
    readers = EmailSubscriberFactory.create_batch(5, organization=org)
    sink.state.close_after = 2  # messages per session, as some providers allow
    event = open_incident_over_smtp()

    assert sorted(m.recipients[0] for m in sink.state.messages) == sorted(r.email for r in readers)
    assert sink.state.sessions == 3
    assert set(event.deliveries.values_list("status", flat=True)) == {Delivery.Status.SENT}


def test_what_a_vanished_server_did_not_confirm_waits_for_a_retry(
    org, sink, open_incident_over_smtp
):
    readers = EmailSubscriberFactory.create_batch(4, organization=org)
    sink.state.close_after = 2
    sink.state.max_sessions = 1  # and then it refuses new connections
    event = open_incident_over_smtp()

    received = {m.recipients[0] for m in sink.state.messages}
    rows = {d.subscriber_id: d for d in event.deliveries.all()}
    assert len(received) == 2
    for reader in readers:
        delivery = rows[reader.pk]
        if reader.email in received:
            assert delivery.status == Delivery.Status.SENT
        else:
            # Not confirmed by the server: pending again, with a retry time and the reason.
            assert delivery.status == Delivery.Status.PENDING
            assert delivery.next_attempt_at > timezone.now()
            assert "Could not connect to the mail server" in delivery.last_error


def test_a_batch_gives_up_reconnecting_after_a_few_sessions(org, sink, open_incident_over_smtp):
    from apps.notifications.channels import email

    EmailSubscriberFactory.create_batch(email.RECONNECTS + 3, organization=org)
    sink.state.close_after = 1
    event = open_incident_over_smtp()

    statuses = list(event.deliveries.values_list("status", "last_error"))
    sent = [s for s, _ in statuses if s == Delivery.Status.SENT]
    waiting = [e for s, e in statuses if s == Delivery.Status.PENDING]
    assert len(sent) == sink.state.sessions == email.RECONNECTS + 1
    assert len(waiting) == 2
    assert all("Mail server error" in error for error in waiting)


def test_a_stalled_server_costs_a_timeout_not_the_task(
    org, sink, settings, open_incident_over_smtp
):
    import time

    from apps.notifications.channels import email

    EmailSubscriberFactory.create_batch(2, organization=org)
    settings.EMAIL_TIMEOUT = 0.3
    sink.state.delay = 1.0  # the server takes a second to answer each message's content
    started = time.monotonic()
    event = open_incident_over_smtp()
    elapsed = time.monotonic() - started

    rows = list(event.deliveries.all())
    assert {d.status for d in rows} == {Delivery.Status.PENDING}
    assert all("timed out" in d.last_error for d in rows)
    # One timeout per connection tried, not the task's time limit.
    assert elapsed < (email.RECONNECTS + 1) * 0.3 + 2
