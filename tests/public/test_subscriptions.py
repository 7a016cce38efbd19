"""Subscribing on the public page: double opt-in, webhooks, Slack, manage, one-click unsubscribe."""

from __future__ import annotations

import socket

import pytest
from django.core import mail

from apps.notifications import tokens
from apps.notifications.models import Subscriber
from tests.factories import ComponentFactory
from tests.notifications.factories import EmailSubscriberFactory, WebhookSubscriberFactory

PAGE = "/s/acme/"


@pytest.fixture
def public_dns(monkeypatch):
    """hooks.example.com and hooks.slack.com resolve to a public address (no network)."""

    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


@pytest.fixture
def subscribe(client, django_capture_on_commit_callbacks):
    """POST a channel's form and run what its commit triggers (the confirmation mail)."""

    def subscribe(channel, **data):
        fields = {f"{channel}-{name}": value for name, value in data.items()}
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(f"{PAGE}subscribe/", {"channel": channel, **fields})

    return subscribe


def test_it_shows_the_three_ways_to_subscribe(client, org):
    ComponentFactory(organization=org, name="API")
    response = client.get(f"{PAGE}subscribe/")

    assert response.status_code == 200
    assert b"By email" in response.content
    assert b"By webhook" in response.content
    assert b"In Slack" in response.content
    assert b"API" in response.content


def test_email_subscription_needs_confirmation_first(subscribe, org):
    api = ComponentFactory(organization=org, name="API")
    response = subscribe("email", email="Reader@Example.com", components=[api.public_id])

    assert response.status_code == 200
    assert b"Check your inbox" in response.content
    subscriber = Subscriber.objects.get(email="reader@example.com")
    assert subscriber.confirmed_at is None
    assert list(subscriber.components.all()) == [api]
    assert len(mail.outbox) == 1
    assert tokens.confirm_url(subscriber) in mail.outbox[0].body


def test_the_confirmation_link_asks_then_confirms(client, org):
    subscriber = EmailSubscriberFactory(organization=org, confirmed_at=None)
    url = f"{PAGE}subscribe/confirm/{tokens.make_token(subscriber)}/"

    assert client.get(url).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is None  # a link scanner's GET confirms nothing
    response = client.post(url)
    subscriber.refresh_from_db()
    assert response.status_code == 200
    assert subscriber.confirmed_at is not None


def page_for(response, email: str) -> str:
    """The answer with the address taken out, to compare answers for different addresses."""
    return response.content.decode().replace(email, "ADDRESS")


def test_a_held_address_gets_the_same_check_your_inbox_page_as_a_new_one(subscribe, org):
    EmailSubscriberFactory(organization=org, email="confirmed@example.com")
    EmailSubscriberFactory(organization=org, email="pending@example.com", confirmed_at=None)

    new = subscribe("email", email="new@example.com")
    confirmed = subscribe("email", email="confirmed@example.com")
    pending = subscribe("email", email="pending@example.com")

    assert new.status_code == confirmed.status_code == pending.status_code == 200
    assert "We sent a message to <strong>new@example.com</strong>" in new.content.decode()
    assert page_for(confirmed, "confirmed@example.com") == page_for(new, "new@example.com")
    assert page_for(pending, "pending@example.com") == page_for(new, "new@example.com")


def test_a_confirmed_address_is_told_it_is_subscribed_with_its_manage_link(subscribe, org):
    subscriber = EmailSubscriberFactory(organization=org, email="reader@example.com")
    confirmed_at = subscriber.confirmed_at

    subscribe("email", email="reader@example.com")

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["reader@example.com"]
    assert "already subscribed" in message.subject
    assert tokens.manage_url(subscriber) in message.body
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at == confirmed_at  # the subscription itself is untouched


def test_a_pending_address_gets_its_confirmation_again(subscribe, org):
    EmailSubscriberFactory(organization=org, email="reader@example.com", confirmed_at=None)

    subscribe("email", email="reader@example.com")

    subscriber = Subscriber.objects.get(email="reader@example.com")
    assert len(mail.outbox) == 1
    assert tokens.confirm_url(subscriber) in mail.outbox[0].body


def test_the_already_subscribed_mail_is_rate_limited_like_a_confirmation(subscribe, org):
    EmailSubscriberFactory(organization=org, email="reader@example.com")
    for _ in range(3):
        subscribe("email", email="reader@example.com")

    response = subscribe("email", email="reader@example.com")

    assert response.status_code == 429
    assert len(mail.outbox) == 3


def test_repeated_attempts_for_one_address_are_rate_limited(subscribe, org):
    for _ in range(3):
        subscribe("email", email="victim@example.org")
    response = subscribe("email", email="victim@example.org")

    assert response.status_code == 429
    assert len(mail.outbox) <= 3


def test_disposable_and_invalid_addresses_are_refused(subscribe, org):
    assert subscribe("email", email="x@mailinator.com").status_code == 400
    assert subscribe("email", email="not an address").status_code == 400
    assert not Subscriber.objects.exists()


def test_a_webhook_subscription_shows_its_signing_secret(subscribe, org, public_dns):
    response = subscribe("webhook", url="https://hooks.example.com/candor", email="ops@example.com")

    assert response.status_code == 200
    subscriber = Subscriber.objects.get(channel="webhook")
    assert subscriber.confirmed_at is not None
    assert subscriber.webhook_secret.encode() in response.content


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "ftp://example.com/hook",
        "http://user:pass@example.com/hook",
    ],
)
def test_webhooks_to_private_addresses_or_odd_schemes_are_refused(subscribe, org, url):
    response = subscribe("webhook", url=url, email="ops@example.com")

    assert response.status_code == 400
    assert not Subscriber.objects.exists()


def test_slack_needs_a_slack_url(subscribe, org, public_dns):
    refused = subscribe("slack", url="https://hooks.example.com/services/x")
    accepted = subscribe("slack", url="https://hooks.slack.com/services/T0/B0/abc")

    assert refused.status_code == 400
    assert accepted.status_code == 200
    assert Subscriber.objects.get().channel == "slack"


def test_the_manage_page_changes_components(client, org):
    api, web = ComponentFactory(organization=org), ComponentFactory(organization=org)
    subscriber = EmailSubscriberFactory(organization=org, components=[api])
    url = f"{PAGE}manage/{tokens.make_token(subscriber)}/"

    assert client.get(url).status_code == 200
    response = client.post(url, {"components": [web.public_id]})
    assert response.status_code == 200
    assert list(subscriber.components.all()) == [web]


def test_the_manage_page_of_a_webhook_keeps_the_secret_visible(client, org):
    subscriber = WebhookSubscriberFactory(organization=org)
    response = client.get(f"{PAGE}manage/{tokens.make_token(subscriber)}/")

    assert subscriber.webhook_secret.encode() in response.content


def test_unsubscribe_get_only_asks(client, org):
    subscriber = EmailSubscriberFactory(organization=org)
    response = client.get(f"{PAGE}unsubscribe/{tokens.make_token(subscriber)}/")
    subscriber.refresh_from_db()

    assert response.status_code == 200
    assert b"Unsubscribe" in response.content
    assert subscriber.state == Subscriber.State.ACTIVE


def test_one_click_unsubscribe_works_without_cookies_or_csrf(org):
    from django.test import Client

    subscriber = EmailSubscriberFactory(organization=org)
    client = Client(enforce_csrf_checks=True)
    url = f"{PAGE}unsubscribe/{tokens.make_token(subscriber)}/"
    response = client.post(url, "List-Unsubscribe=One-Click", content_type="text/plain")
    again = client.post(url, {"List-Unsubscribe": "One-Click"})
    subscriber.refresh_from_db()

    assert response.status_code == 200
    assert again.status_code == 200
    assert subscriber.state == Subscriber.State.DISABLED


def test_a_tampered_link_is_refused(client, org):
    subscriber = EmailSubscriberFactory(organization=org)
    token = f"{subscriber.public_id}-{'0' * 32}"

    assert client.post(f"{PAGE}unsubscribe/{token}/").status_code == 404
    assert client.get(f"{PAGE}manage/{token}/").status_code == 404
    subscriber.refresh_from_db()
    assert subscriber.state == Subscriber.State.ACTIVE


def test_a_link_for_another_organizations_page_is_refused(client, org, other_org):
    subscriber = EmailSubscriberFactory(organization=other_org)

    response = client.post(f"{PAGE}unsubscribe/{tokens.make_token(subscriber)}/")
    assert response.status_code == 404


def test_resubscribing_after_unsubscribing_starts_a_new_opt_in(subscribe, client, org):
    subscriber = EmailSubscriberFactory(organization=org, email="back@example.com")
    old_token = tokens.make_token(subscriber)
    client.post(f"{PAGE}unsubscribe/{old_token}/")
    subscribe("email", email="back@example.com")
    subscriber.refresh_from_db()

    assert subscriber.state == Subscriber.State.ACTIVE
    assert subscriber.confirmed_at is None
    assert tokens.subscriber_for_token(org, old_token) is None
    assert len(mail.outbox) == 1


def test_an_active_endpoint_added_again_does_not_reveal_its_secret(subscribe, org, public_dns):
    hook = WebhookSubscriberFactory(organization=org, url="https://hooks.example.com/candor")
    response = subscribe("webhook", url="https://hooks.example.com/candor", email="x@example.com")

    assert response.status_code == 400
    assert b"already subscribed" in response.content
    assert hook.webhook_secret.encode() not in response.content


def test_a_disabled_endpoint_added_again_gets_a_new_secret(subscribe, org, public_dns):
    hook = WebhookSubscriberFactory(
        organization=org, url="https://hooks.example.com/candor", state="disabled"
    )
    response = subscribe("webhook", url="https://hooks.example.com/candor", email="x@example.com")
    fresh = Subscriber.objects.get(pk=hook.pk)

    assert response.status_code == 200
    assert fresh.state == Subscriber.State.ACTIVE
    assert fresh.webhook_secret != hook.webhook_secret
    assert hook.webhook_secret.encode() not in response.content
