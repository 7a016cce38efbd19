"""Pre-rendered mail over SMTP: pipelined (RFC 2920) when the server offers it, else sendmail."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

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


def sender_for(sink: SMTPSink) -> tuple[smtplib.SMTP, smtp.Sender]:
    connection = smtplib.SMTP("127.0.0.1", sink.port, timeout=5)
    return connection, smtp.Sender(connection, "updates@status.example.com")


@pytest.mark.parametrize("pipelining", [True, False])
def test_messages_arrive_byte_for_byte(sink, pipelining):
    sink.state.pipelining = pipelining
    connection, sender = sender_for(sink)
    with connection:
        assert sender.pipelining is pipelining
        for n in range(3):
            sender.send(f"reader{n}@example.com", MESSAGE)

    assert [m.recipients for m in sink.state.messages] == [
        [f"reader{n}@example.com"] for n in range(3)
    ]
    assert [m.sender for m in sink.state.messages] == ["updates@status.example.com"] * 3
    # Dot-stuffing undone by the server; the missing final CRLF added.
    assert all(m.data == MESSAGE + b"\r\n" for m in sink.state.messages)


def test_a_refused_address_fails_alone_and_the_connection_goes_on(sink):
    sink.state.refuse = {"gone@example.com"}
    connection, sender = sender_for(sink)
    with connection:
        sender.send("first@example.com", MESSAGE)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            sender.send("gone@example.com", MESSAGE)
        sender.send("third@example.com", MESSAGE)

    assert refused.value.recipients["gone@example.com"][0] == 550
    assert [m.recipients for m in sink.state.messages] == [
        ["first@example.com"],
        ["third@example.com"],
    ]


def test_content_for_data_stuffs_dots_and_ends_the_message():
    assert smtp.content_for_data(b".a\r\nb\r\n.") == b"..a\r\nb\r\n..\r\n.\r\n"
    assert smtp.content_for_data(b"x\r\n") == b"x\r\n.\r\n"


def test_a_batch_over_smtp_marks_the_refused_address_failed_and_sends_the_rest(
    org, settings, django_capture_on_commit_callbacks
):
    readers = EmailSubscriberFactory.create_batch(3, organization=org)
    incident = IncidentFactory(
        organization=org,
        name="Elevated API errors",
        next_update_due=timezone.now() + timedelta(minutes=30),
    )
    with SMTPSink() as sink:
        sink.state.refuse = {readers[1].email}
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        update = IncidentUpdateFactory(incident=incident, status="investigating", body="Looking.")
        with django_capture_on_commit_callbacks(execute=True):
            event = NotificationEventFactory(
                organization=org,
                kind=NotificationEvent.Kind.INCIDENT_OPENED,
                incident=incident,
                update=update,
            )

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
