"""Subscriber mail: parts, sender, subject, one thread per incident, RFC 8058 headers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.incidents.notifications import EventKind as Kind
from apps.notifications import tokens
from apps.notifications.models import NotificationEvent
from tests.factories import IncidentFactory, IncidentUpdateFactory, MaintenanceFactory

from .factories import EmailSubscriberFactory, NotificationEventFactory


@pytest.fixture
def publish(django_capture_on_commit_callbacks):
    def publish(**kwargs) -> NotificationEvent:
        with django_capture_on_commit_callbacks(execute=True):
            return NotificationEventFactory(**kwargs)

    return publish


@pytest.fixture
def incident(org):
    return IncidentFactory(
        organization=org,
        name="Elevated API errors",
        next_update_due=timezone.now() + timedelta(minutes=30),
    )


@pytest.fixture
def reader(org):
    return EmailSubscriberFactory(organization=org, email="reader@example.com")


def post(publish, incident, kind, status, body):
    update = IncidentUpdateFactory(incident=incident, status=status, body=body)
    return publish(organization=incident.organization, kind=kind, incident=incident, update=update)


def test_it_sends_plain_text_and_html_from_the_organization(publish, incident, reader):
    post(publish, incident, Kind.INCIDENT_OPENED, "investigating", "We are looking into it.")
    message = mail.outbox[0]

    assert message.from_email.startswith("Acme Cloud <")
    assert message.subject == "[Acme Cloud] Investigating: Elevated API errors"
    assert "We are looking into it." in message.body
    assert message.body.startswith("New incident: Investigating")
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "We are looking into it." in html


def test_it_links_to_the_incident_and_says_when_the_next_update_is_due(publish, incident, reader):
    post(publish, incident, Kind.INCIDENT_OPENED, "investigating", "Looking.")
    body = mail.outbox[0].body

    assert f"{incident.organization.public_url}incidents/{incident.public_id}/" in body
    assert "Next update expected by" in body


def test_every_update_of_an_incident_lands_in_one_thread(publish, incident, reader):
    post(publish, incident, Kind.INCIDENT_OPENED, "investigating", "Looking.")
    post(publish, incident, Kind.INCIDENT_UPDATED, "identified", "Found it.")
    post(publish, incident, Kind.INCIDENT_RESOLVED, "resolved", "Fixed.")
    _first, second, third = mail.outbox
    root = f"<incident/{incident.public_id}@status.localhost>"

    assert [m.subject for m in mail.outbox] == [
        "[Acme Cloud] Investigating: Elevated API errors",
        "[Acme Cloud] Identified: Elevated API errors",
        "[Acme Cloud] Resolved: Elevated API errors",
    ]
    assert {m.extra_headers["In-Reply-To"] for m in mail.outbox} == {root}
    assert {m.extra_headers["References"] for m in mail.outbox} == {root}
    assert len({m.extra_headers["Message-ID"] for m in mail.outbox}) == 3
    assert third.body.startswith("Resolved")
    assert "Found it." in second.body


def test_another_incident_gets_its_own_thread(publish, org, incident, reader):
    other = IncidentFactory(organization=org, name="Slow dashboard")
    post(publish, incident, Kind.INCIDENT_OPENED, "investigating", "Looking.")
    post(publish, other, Kind.INCIDENT_OPENED, "investigating", "Looking.")

    assert mail.outbox[0].extra_headers["References"] != mail.outbox[1].extra_headers["References"]


def test_it_carries_one_click_unsubscribe_headers(publish, incident, reader):
    post(publish, incident, Kind.INCIDENT_OPENED, "investigating", "Looking.")
    message = mail.outbox[0]
    url = tokens.unsubscribe_url(reader)

    assert message.extra_headers["List-Unsubscribe"] == f"<{url}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "List-Id" in message.extra_headers
    assert url in message.body
    assert tokens.manage_url(reader) in message.body
    rendered = message.message().as_string()
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in rendered


def test_maintenance_mail_says_when(publish, org, reader):
    maintenance = MaintenanceFactory(organization=org, name="Database upgrade")
    post(publish, maintenance, Kind.MAINTENANCE_SCHEDULED, "scheduled", "We will upgrade.")
    message = mail.outbox[0]

    assert message.subject == "[Acme Cloud] Scheduled: Database upgrade"
    assert "Scheduled:" in message.body


def test_an_organization_name_with_a_comma_is_quoted(publish, org, incident, reader):
    org.name = "Acme, Inc."
    org.save()
    post(publish, incident, Kind.INCIDENT_OPENED, "investigating", "Looking.")

    assert mail.outbox[0].from_email.startswith('"Acme, Inc." <')


def test_a_tampered_link_matches_no_subscriber(org, reader):
    token = tokens.make_token(reader)

    assert tokens.subscriber_for_token(org, token) == reader
    assert tokens.subscriber_for_token(org, f"{reader.public_id}-{'0' * 32}") is None
    assert tokens.subscriber_for_token(org, token.replace("-", "-x")) is None
    assert tokens.subscriber_for_token(org, "nonsense") is None


def test_a_link_of_another_organization_does_not_work_here(org, other_org, reader):
    assert tokens.subscriber_for_token(other_org, tokens.make_token(reader)) is None


def test_rotating_the_nonce_revokes_old_links(org, reader):
    token = tokens.make_token(reader)
    reader.manage_nonce = "rotated"
    reader.save()

    assert tokens.subscriber_for_token(org, token) is None


def test_the_pre_rendered_fast_path_builds_the_same_message(org, incident, reader):
    from email import message_from_bytes

    from apps.notifications.channels.email import EventMail

    update = IncidentUpdateFactory(incident=incident, body="Ünïcode body, still 8-bit.")
    event = NotificationEventFactory(
        organization=org, kind=Kind.INCIDENT_OPENED, incident=incident, update=update
    )
    mail_for_event = EventMail(event)
    fast = message_from_bytes(mail_for_event.raw_message(reader))
    slow_bytes = mail_for_event.message(reader).message().as_bytes(linesep="\r\n")
    slow = message_from_bytes(slow_bytes)
    names = ["To", "From", "Subject", "Message-ID", "References", "List-Unsubscribe"]

    # (the slow path may fold a long header onto a second line: same value)
    assert [fast[n].strip() for n in names] == [slow[n].strip() for n in names]
    fast_parts = [p.get_payload(decode=True) for p in fast.walk() if not p.is_multipart()]
    slow_parts = [p.get_payload(decode=True) for p in slow.walk() if not p.is_multipart()]
    assert fast_parts == slow_parts
    assert tokens.unsubscribe_url(reader).encode() in fast_parts[0]


def test_over_smtp_each_subscriber_gets_their_own_links(org, incident, settings, publish):
    from .smtp_sink import SMTPSink

    readers = EmailSubscriberFactory.create_batch(3, organization=org)
    with SMTPSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        post(publish, incident, Kind.INCIDENT_OPENED, "investigating", "Looking.")
    received = {m.recipients[0]: m.message() for m in sink.state.messages}

    assert sorted(received) == sorted(r.email for r in readers)
    for reader in readers:
        message = received[reader.email]
        assert message["To"] == reader.email
        assert message["List-Unsubscribe"] == f"<{tokens.unsubscribe_url(reader)}>"
        assert (
            tokens.manage_url(reader) in message.get_payload()[0].get_payload(decode=True).decode()
        )


def test_odd_names_do_not_break_the_headers(publish, org, reader):
    org.name = 'Acme "Cloud"'
    org.save()
    incident = IncidentFactory(organization=org, name="Errors\nin the API")
    post(publish, incident, Kind.INCIDENT_OPENED, "investigating", "Looking.")
    message = mail.outbox[0]

    assert message.subject == '[Acme "Cloud"] Investigating: Errors in the API'
    assert message.extra_headers["List-Id"].startswith('"Acme Cloud status"')


def test_link_tokens_are_the_salted_hmac_of_the_subscriber(reader, settings):
    """The cached keyed HMAC gives what salted_hmac gives, and follows SECRET_KEY."""
    from django.utils.crypto import salted_hmac

    def expected() -> str:
        value = f"{reader.public_id}:{reader.manage_nonce}"
        mac = salted_hmac(tokens.SALT, value, algorithm="sha256").hexdigest()[:32]
        return f"{reader.public_id}-{mac}"

    assert tokens.make_token(reader) == expected()
    before = tokens.make_token(reader)
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert tokens.make_token(reader) == expected() != before


def test_a_provider_backend_gets_each_subscribers_own_message(publish, incident, settings):
    """django-anymail (a provider's HTTP API) instead of SMTP: configuration only."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    readers = EmailSubscriberFactory.create_batch(2, organization=incident.organization)

    event = post(publish, incident, Kind.INCIDENT_OPENED, "investigating", "Looking.")

    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.email for r in readers)
    for message in mail.outbox:
        reader = next(r for r in readers if r.email == message.to[0])
        assert message.extra_headers["List-Unsubscribe"] == f"<{tokens.unsubscribe_url(reader)}>"
        assert message.anymail_status.status == {"sent"}
    assert set(event.deliveries.values_list("status", flat=True)) == {"sent"}


def test_a_provider_refusing_one_message_fails_it_alone(publish, incident, settings, monkeypatch):
    from anymail.exceptions import AnymailAPIError
    from anymail.message import AnymailRecipientStatus

    from apps.notifications.channels.email import EventMail

    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    bounced, broken, fine = EmailSubscriberFactory.create_batch(
        3, organization=incident.organization
    )
    real_message = EventMail.message

    def message(self, subscriber, connection=None):
        built = real_message(self, subscriber, connection)
        if subscriber.pk == bounced.pk:
            status = AnymailRecipientStatus(message_id=None, status="rejected")
            built.anymail_test_response = {"recipient_status": {bounced.email: status}}
        elif subscriber.pk == broken.pk:
            built.anymail_test_response = AnymailAPIError("The provider answered 422.")
        return built

    monkeypatch.setattr(EventMail, "message", message)
    event = post(publish, incident, Kind.INCIDENT_OPENED, "investigating", "Looking.")

    rows = {d.subscriber_id: d for d in event.deliveries.all()}
    assert rows[fine.pk].status == "sent"
    assert rows[bounced.pk].status == "failed"  # refused address: permanent
    assert "Address refused" in rows[bounced.pk].last_error
    assert rows[broken.pk].status == "pending"  # retried on the schedule
    assert "The provider answered 422." in rows[broken.pk].last_error


def test_each_maintenance_mail_says_its_state_in_one_thread(publish, org, reader):
    maintenance = MaintenanceFactory(organization=org, name="Database upgrade")
    post(publish, maintenance, Kind.MAINTENANCE_SCHEDULED, "scheduled", "We will upgrade.")
    publish(organization=org, kind=Kind.MAINTENANCE_REMINDER, incident=maintenance)
    post(publish, maintenance, Kind.MAINTENANCE_STARTED, "in_progress", "Started.")
    post(publish, maintenance, Kind.MAINTENANCE_UPDATED, "verifying", "Checking.")
    post(publish, maintenance, Kind.MAINTENANCE_COMPLETED, "completed", "Done.")
    root = f"<incident/{maintenance.public_id}@status.localhost>"

    assert [m.subject for m in mail.outbox] == [
        "[Acme Cloud] Scheduled: Database upgrade",
        "[Acme Cloud] Starting soon: Database upgrade",
        "[Acme Cloud] In progress: Database upgrade",
        "[Acme Cloud] Verifying: Database upgrade",
        "[Acme Cloud] Completed: Database upgrade",
    ]
    assert {m.extra_headers["In-Reply-To"] for m in mail.outbox} == {root}
    assert {m.extra_headers["References"] for m in mail.outbox} == {root}


def test_the_subject_has_the_status_the_update_was_posted_with(publish, incident, reader):
    update = IncidentUpdateFactory(incident=incident, status="identified", body="Found it.")
    incident.status = "resolved"  # it moved on before the mail went out
    incident.save(update_fields=["status"])
    publish(organization=incident.organization, kind=Kind.INCIDENT_UPDATED, incident=incident,
            update=update)  # fmt: skip

    assert mail.outbox[0].subject == "[Acme Cloud] Identified: Elevated API errors"


def test_the_mail_heading_names_the_incident_without_the_subject_prefix(publish, incident, reader):
    post(publish, incident, Kind.INCIDENT_RESOLVED, "resolved", "Fixed.")
    message = mail.outbox[0]
    html, _mimetype = message.alternatives[0]

    assert message.body.startswith("Resolved\nAcme Cloud · Elevated API errors\n")
    assert '<h2 style="margin:0 0 12px;font-size:16px;" dir="auto">Elevated API errors</h2>' in html
