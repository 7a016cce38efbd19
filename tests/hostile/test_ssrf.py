"""SSRF through every URL field (issue #14): every field that makes Candor post to a URL.

Those fields (all sent through apps.core.http.post, the one outbound HTTP function):
- webhook and Slack subscribers: the public subscribe form and the management API;
- the staff Slack URL of the notification settings (update reminders, apps.incidents.reminders).
Nothing else fetches a user-supplied URL: the status page import takes uploaded files, custom
domains are checked through DNS TXT records only, alert hooks are inbound, and the organization's
website and support URLs are only links (tests/test_outbound_http.py fails if another module
imports an HTTP client).

Each dangerous URL is refused at input with an error on the URL field and nothing stored; a URL
stored before the rules (or whose DNS changed since) is refused at send time without any
connection to the target; a redirect to an internal address is never followed.

No real DNS: getaddrinfo is replaced by a table (and IP literals in every spelling are decoded
by the C library's numeric parser only, which never touches the network).
"""

from __future__ import annotations

import socket

import pytest
from django.urls import reverse

from apps.core import http
from apps.notifications.models import NotificationSettings, Subscriber
from tests.notifications.receiver import http_receiver

INTERNAL = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://[::1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://017700000001/",
    "http://127.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://0.0.0.0/",
    "http://internal.example.com/",  # resolves to 127.0.0.1 (see the table below)
    "http://mixed.example.com/",  # one public and one private answer
    "http://93.184.216.34@127.0.0.1/",
    "file:///etc/passwd",
    "gopher://93.184.216.34:70/_GET%20/",
    "ftp://93.184.216.34/",
    "dict://127.0.0.1:6379/info",
]

# The names the tests resolve; anything else that is not an IP literal fails to resolve.
DNS = {
    "localhost": ["127.0.0.1", "::1"],
    "internal.example.com": ["127.0.0.1"],
    "mixed.example.com": ["93.184.216.34", "10.0.0.5"],
    "hooks.example.com": ["93.184.216.34"],
    "hooks.slack.com": ["52.0.0.1"],
}


@pytest.fixture
def connects(monkeypatch):
    """Fake DNS, and a record of every connection attempt (there must be none)."""
    attempts: list[tuple] = []
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host, port, *args, **kwargs):
        try:
            return real_getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
            )
        except socket.gaierror:
            pass
        if host not in DNS:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port),
            )
            for address in DNS[host]
        ]

    def no_connection(address, *args, **kwargs):
        attempts.append(address)
        raise ConnectionRefusedError("tests never connect here")

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", no_connection)
    return attempts


# --- refused at input ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", INTERNAL)
def test_the_public_webhook_form_refuses_internal_urls(client, org, connects, url):
    response = client.post(
        "/s/acme/subscribe/",
        {"channel": "webhook", "webhook-url": url, "webhook-email": "ops@example.com"},
    )

    assert response.status_code == 400
    assert response.context["forms"]["webhook"].errors["url"]
    assert not Subscriber.objects.exists()
    assert connects == []


@pytest.mark.parametrize("url", INTERNAL)
def test_the_api_refuses_internal_webhook_urls(api, admin_key, org, connects, url):
    response = api(admin_key).post(
        "/api/v1/subscribers/",
        {"channel": "webhook", "url": url, "email": "ops@example.com"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "url" in response.json(), response.json()
    assert not Subscriber.objects.exists()
    assert connects == []


SLACK_LOOKALIKES = [
    "http://hooks.slack.com/services/T0/B0/x",  # not https
    "https://hooks.slack.com.internal.example.com/services/x",
    "https://hooks.slack.com@127.0.0.1/services/x",
    "https://127.0.0.1/hooks.slack.com/services/x",
    "https://hooks.slack.com:6379/services/x",
    *INTERNAL[:6],
]


@pytest.mark.parametrize("url", SLACK_LOOKALIKES)
def test_the_public_slack_form_refuses_anything_but_slack(client, org, connects, url):
    response = client.post("/s/acme/subscribe/", {"channel": "slack", "slack-url": url})

    assert response.status_code == 400
    assert response.context["forms"]["slack"].errors["url"]
    assert not Subscriber.objects.exists()
    assert connects == []


@pytest.mark.parametrize("url", SLACK_LOOKALIKES)
def test_the_staff_slack_url_refuses_anything_but_slack(client, owner, org, connects, url):
    client.force_login(owner)

    response = client.post(
        reverse("notifications:settings", args=[org.slug]),
        {"update_cadence_minutes": 30, "staff_slack_url": url},
    )

    assert response.status_code == 400
    assert response.context["settings_form"].errors["staff_slack_url"]
    assert NotificationSettings.for_org(org).staff_slack_url == ""
    assert connects == []


def test_a_public_url_is_accepted_by_the_same_forms(client, owner, org, connects):
    """The refusals above are about the address, not the form: good URLs pass."""
    webhook = client.post(
        "/s/acme/subscribe/",
        {
            "channel": "webhook",
            "webhook-url": "https://hooks.example.com/candor",
            "webhook-email": "ops@example.com",
        },
    )
    client.force_login(owner)
    staff = client.post(
        reverse("notifications:settings", args=[org.slug]),
        {"update_cadence_minutes": 30, "staff_slack_url": "https://hooks.slack.com/services/T/B/x"},
    )

    assert webhook.status_code == 200
    assert Subscriber.objects.get().url == "https://hooks.example.com/candor"
    assert staff.status_code == 302
    assert NotificationSettings.for_org(org).staff_slack_url.startswith("https://hooks.slack.com/")
    assert connects == []


# --- refused at send time -----------------------------------------------------------------------


@pytest.mark.parametrize("url", [u for u in INTERNAL if u.startswith("http")])
def test_a_stored_internal_url_is_refused_at_send_time_without_connecting(connects, url):
    with pytest.raises(http.UnsafeURLError):
        http.post(url, b"{}", {"Content-Type": "application/json"})
    assert connects == []


def test_a_name_that_turned_internal_after_subscribing_is_never_reached(connects, monkeypatch):
    """DNS changed after the form checked it (rebinding): the send re-checks."""
    monkeypatch.setitem(DNS, "hooks.example.com", ["10.1.2.3"])
    with pytest.raises(http.UnsafeURLError):
        http.post("https://hooks.example.com/candor", b"{}")
    assert connects == []


def test_a_webhook_delivery_to_an_internal_url_fails_without_connecting(
    org, connects, django_capture_on_commit_callbacks
):
    from apps.incidents.services import open_incident
    from apps.notifications.models import Delivery
    from apps.organizations.principals import Member
    from tests.factories import MembershipFactory
    from tests.notifications.factories import WebhookSubscriberFactory

    # Stored before the rules, straight through the ORM.
    WebhookSubscriberFactory(organization=org, url="http://169.254.169.254/latest/meta-data/")
    editor = MembershipFactory(organization=org, role="editor").user
    with django_capture_on_commit_callbacks(execute=True):
        open_incident(
            org,
            actor=Member.of(editor, org),
            name="Database slow",
            status="investigating",
            body="Looking into it.",
        )

    delivery = Delivery.objects.get()
    assert delivery.status == "failed"
    assert connects == []


def test_a_redirect_to_an_internal_address_is_not_followed(settings):
    """A real local receiver (loopback allowed for this test only) answers 302 to the metadata
    address: the response is returned as a failure and nothing else is contacted."""
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    with http_receiver() as receiver:
        receiver.statuses = [302]
        receiver.extra_headers = {"Location": "http://169.254.169.254/latest/meta-data/"}
        response = http.post(receiver.url, b"{}")

    assert response.status == 302 and not response.ok
    assert len(receiver.requests) == 1
