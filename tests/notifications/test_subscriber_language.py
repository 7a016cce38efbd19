"""Subscribers keep the language they signed up in, and every mail they get is written in it."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import translation

from apps.incidents.notifications import EventKind as Kind
from apps.notifications import registry, services, tokens
from apps.notifications.channels.email import EventMail
from apps.notifications.models import Subscriber
from tests.factories import IncidentFactory, IncidentUpdateFactory

from .factories import EmailSubscriberFactory, NotificationEventFactory, SlackSubscriberFactory

PAGE = "/s/acme/"


def html_of(message) -> str:
    html, _mimetype = message.alternatives[0]
    return html


@pytest.fixture
def subscribe(client, django_capture_on_commit_callbacks):
    def subscribe(email: str, language: str):
        client.cookies["candor_language"] = language
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(f"{PAGE}subscribe/", {"channel": "email", "email-email": email})

    return subscribe


def test_signing_up_on_the_german_page_stores_german(subscribe, org):
    response = subscribe("leser@example.com", "de")

    assert response.status_code == 200
    assert Subscriber.objects.get(email="leser@example.com").language == "de"


def test_the_confirmation_mail_is_in_the_stored_language(subscribe, org):
    subscribe("leser@example.com", "de")

    assert '<html lang="de">' in html_of(mail.outbox[0])


def test_the_already_subscribed_mail_keeps_the_language_they_chose(subscribe, org):
    EmailSubscriberFactory(organization=org, email="reader@example.com", language="ja")
    subscribe("reader@example.com", "fr")

    assert Subscriber.objects.get(email="reader@example.com").language == "ja"
    assert '<html lang="ja">' in html_of(mail.outbox[0])


def test_subscribers_added_without_a_page_get_the_organizations_default(org):
    org.default_language = "fr"
    org.save(update_fields=["default_language"])

    subscriber = services.subscribe_email(org, email="api@example.com")

    assert subscriber.language == "fr"


def test_a_slack_subscriber_signed_up_in_spanish_is_stored_in_spanish(org, monkeypatch):
    def public_address(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(socket, "getaddrinfo", public_address)
    subscriber = services.subscribe_hook(
        org,
        channel=Subscriber.Channel.SLACK,
        url="https://hooks.slack.com/services/T0/B0/abcdef",
        language="es",
    )

    assert subscriber.language == "es"


def manage_url(subscriber: Subscriber) -> str:
    return f"{PAGE}manage/{tokens.make_token(subscriber)}/"


def test_the_manage_page_changes_the_language(client, org):
    subscriber = EmailSubscriberFactory(organization=org)

    response = client.post(manage_url(subscriber), {"language": "ja"})

    assert response.status_code == 200
    assert "日本語" in response.content.decode()
    assert b'role="status"' in response.content
    subscriber.refresh_from_db()
    assert subscriber.language == "ja"


def test_the_manage_page_refuses_a_language_the_page_does_not_offer(client, org):
    org.languages = ["en", "de"]
    org.save(update_fields=["languages"])
    subscriber = EmailSubscriberFactory(organization=org)

    unknown = client.post(manage_url(subscriber), {"language": "xx"})
    not_offered = client.post(manage_url(subscriber), {"language": "ja"})

    assert unknown.status_code == 400
    assert not_offered.status_code == 400
    assert b"errorlist" in not_offered.content
    subscriber.refresh_from_db()
    assert subscriber.language == "en"


def test_the_manage_page_offers_only_the_pages_languages(client, org):
    org.languages = ["en", "de"]
    org.save(update_fields=["languages"])
    subscriber = EmailSubscriberFactory(organization=org)

    page = client.get(manage_url(subscriber)).content.decode()

    assert 'value="de"' in page
    assert 'value="ja"' not in page


@pytest.fixture
def incident(org):
    return IncidentFactory(organization=org, name="Elevated API errors")


def test_a_batch_renders_each_mail_in_its_subscribers_language(
    org, incident, settings, django_capture_on_commit_callbacks, monkeypatch
):
    from .smtp_sink import SMTPSink

    english = EmailSubscriberFactory.create_batch(2, organization=org, language="en")
    japanese = EmailSubscriberFactory.create_batch(2, organization=org, language="ja")
    renderings: list[str] = []
    split = EventMail._split_template

    def counted(self):
        renderings.append(self.language)
        return split(self)

    monkeypatch.setattr(EventMail, "_split_template", counted)
    update = IncidentUpdateFactory(incident=incident, status="investigating", body="Looking.")
    with SMTPSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        with django_capture_on_commit_callbacks(execute=True):
            NotificationEventFactory(
                organization=org, kind=Kind.INCIDENT_OPENED, incident=incident, update=update
            )
    received = {m.recipients[0]: m.message() for m in sink.state.messages}

    def lang_of(address: str) -> str:
        html = received[address].get_payload()[1].get_payload(decode=True).decode()
        return html.split('<html lang="', 1)[1].split('"', 1)[0]

    assert [lang_of(s.email) for s in english] == ["en", "en"]
    assert [lang_of(s.email) for s in japanese] == ["ja", "ja"]
    # Pre-rendered once per language of the batch, not once per subscriber.
    assert sorted(renderings) == ["en", "ja"]


def test_an_unknown_stored_language_gets_english(org, incident):
    reader = EmailSubscriberFactory(organization=org, language="tlh-x")
    update = IncidentUpdateFactory(incident=incident, status="investigating", body="Looking.")
    event = NotificationEventFactory(
        organization=org, kind=Kind.INCIDENT_OPENED, incident=incident, update=update
    )

    message = EventMail(event, reader.language).message(reader)

    assert '<html lang="en">' in html_of(message)
    assert message.subject == "[Acme Cloud] Investigating: Elevated API errors"


def test_a_slack_message_is_built_once_per_language(org, incident, monkeypatch):
    from apps.notifications.channels import webhook

    update = IncidentUpdateFactory(incident=incident, status="investigating", body="Looking.")
    event = NotificationEventFactory(
        organization=org, kind=Kind.INCIDENT_OPENED, incident=incident, update=update
    )
    built: list[str | None] = []
    message = webhook.slack.message

    def counted(event):
        built.append(translation.get_language())
        return message(event)

    monkeypatch.setattr(webhook.slack, "message", counted)
    bodies: dict = {}
    for language in ["de", "en", "de"]:
        subscriber = SlackSubscriberFactory(organization=org, language=language)
        delivery = SimpleNamespace(event=event, subscriber=subscriber)
        webhook.build_request(delivery, bodies, {org.pk: org.public_url})

    assert built == ["de", "en"]


def test_mail_times_use_the_languages_format_and_name_the_zone():
    moment = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    berlin = ZoneInfo("Europe/Berlin")

    with translation.override("en"):
        english = registry.format_time(moment, berlin)
    with translation.override("de"):
        german = registry.format_time(moment, berlin)

    assert english == "Mon 7 Dec 2026, 09:30 CET"
    # Django's own German formats and month names (its catalogs ship with it).
    assert german == "7. Dezember 2026 09:30 CET"
