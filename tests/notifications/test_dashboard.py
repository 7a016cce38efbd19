"""Staff dashboard for subscribers and deliveries: list, search, remove, export, notifications
log, per-event deliveries and the retry button."""

from __future__ import annotations

import csv
import io

import pytest
from django.core import mail

from apps.incidents.notifications import EventKind
from apps.notifications.models import Delivery, Subscriber
from apps.organizations.models import AuditEntry
from tests.factories import ComponentFactory, IncidentFactory

from .factories import (
    DeliveryFactory,
    EmailSubscriberFactory,
    NotificationEventFactory,
    SlackSubscriberFactory,
    WebhookSubscriberFactory,
)

Status = Delivery.Status


def url(org, path: str = "") -> str:
    return f"/dashboard/{org.slug}/{path}"


@pytest.fixture
def incident(org):
    return IncidentFactory(organization=org, name="Elevated API errors")


@pytest.fixture
def event(org, incident):
    return NotificationEventFactory(
        organization=org, kind=EventKind.INCIDENT_OPENED, incident=incident
    )


# --- subscribers list ------------------------------------------------------------------------


def test_it_lists_subscribers_with_their_components_and_state(client, viewer, org):
    api = ComponentFactory(organization=org, name="API")
    EmailSubscriberFactory(organization=org, email="ada@example.com", components=[api])
    EmailSubscriberFactory(organization=org, email="grace@example.com", confirmed_at=None)
    SlackSubscriberFactory(
        organization=org, state=Subscriber.State.DISABLED, disabled_reason="Unsubscribed."
    )
    client.force_login(viewer)

    response = client.get(url(org, "subscribers/"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "ada@example.com" in page
    assert "API" in page
    assert "All components" in page
    assert "Pending confirmation" in page
    assert "Unsubscribed." in page
    assert "Remove" not in page  # viewers read only
    assert "Export CSV" not in page


def test_webhook_urls_are_shown_without_their_secrets(client, editor, org):
    WebhookSubscriberFactory(
        organization=org, url="https://user:pw@hooks.example.com/candor?token=s3cr3t-t0ken"
    )
    SlackSubscriberFactory(
        organization=org, url="https://hooks.slack.com/services/T01/B02/XyZsecretSlackToken1234"
    )
    client.force_login(editor)

    page = client.get(url(org, "subscribers/")).content.decode()

    assert "https://hooks.example.com/candor?…" in page
    assert "https://hooks.slack.com/services/T01/B02/…" in page
    assert "s3cr3t" not in page
    assert "pw@" not in page
    assert "XyZsecret" not in page


def test_search_and_filters(client, viewer, org):
    EmailSubscriberFactory(organization=org, email="ada@example.com")
    EmailSubscriberFactory(organization=org, email="grace@example.com", confirmed_at=None)
    WebhookSubscriberFactory(organization=org, url="https://ops.example.net/hook?token=abc")
    client.force_login(viewer)

    by_address = client.get(url(org, "subscribers/"), {"q": "ADA@"}).content.decode()
    pending = client.get(url(org, "subscribers/"), {"state": "pending"}).content.decode()
    hooks = client.get(url(org, "subscribers/"), {"channel": "webhook"}).content.decode()
    by_host = client.get(url(org, "subscribers/"), {"q": "ops.example"}).content.decode()

    assert "ada@example.com" in by_address
    assert "grace@example.com" not in by_address
    assert "grace@example.com" in pending
    assert "ada@example.com" not in pending
    assert "ops.example.net" in hooks
    assert "ada@example.com" not in hooks
    assert "ops.example.net" in by_host


def test_search_cannot_probe_the_hidden_part_of_a_url(client, viewer, org):
    WebhookSubscriberFactory(organization=org, url="https://ops.example.net/hook?token=abc")
    client.force_login(viewer)

    page = client.get(url(org, "subscribers/"), {"q": "token=a"}).content.decode()

    assert "ops.example.net" not in page
    assert "No subscribers match" in page


def test_the_list_shows_only_this_organizations_subscribers(client, viewer, org, other_org):
    EmailSubscriberFactory(organization=other_org, email="elsewhere@example.com")
    client.force_login(viewer)

    page = client.get(url(org, "subscribers/")).content.decode()

    assert "elsewhere@example.com" not in page
    assert "No subscribers yet" in page


def test_the_subscriber_list_has_a_bounded_query_count(
    client, viewer, org, django_assert_max_num_queries
):
    components = [ComponentFactory(organization=org) for _ in range(3)]
    EmailSubscriberFactory.create_batch(40, organization=org, components=components[:2])
    WebhookSubscriberFactory.create_batch(10, organization=org, components=components[2:])
    client.force_login(viewer)

    with django_assert_max_num_queries(12):
        response = client.get(url(org, "subscribers/"))

    assert response.content.decode().count('data-label="Subscriber"') == 50


# --- remove ----------------------------------------------------------------------------------


def test_an_editor_removes_a_subscriber_after_confirming(client, editor, org, event):
    subscriber = EmailSubscriberFactory(organization=org, email="ada@example.com")
    pending = DeliveryFactory(event=event, subscriber=subscriber, status=Status.PENDING)
    client.force_login(editor)
    remove_url = url(org, f"subscribers/{subscriber.public_id}/remove/")

    asked = client.get(remove_url)
    removed = client.post(remove_url)

    assert asked.status_code == 200
    assert "Remove this subscriber?" in asked.content.decode()
    assert removed.status_code == 302
    subscriber.refresh_from_db()
    pending.refresh_from_db()
    assert subscriber.state == Subscriber.State.DISABLED
    assert subscriber.disabled_reason == "Removed by staff."
    assert pending.status == Status.SKIPPED
    entry = AuditEntry.objects.get(action="subscriber.remove")
    assert entry.actor == editor
    assert entry.data["address"] == "ada@example.com"


def test_removing_a_webhook_keeps_its_secret_out_of_the_audit_log(client, editor, org):
    subscriber = WebhookSubscriberFactory(
        organization=org, url="https://hooks.example.com/x?token=s3cr3t"
    )
    client.force_login(editor)

    client.post(url(org, f"subscribers/{subscriber.public_id}/remove/"))

    entry = AuditEntry.objects.get(action="subscriber.remove")
    assert "s3cr3t" not in f"{entry.target_label} {entry.data}"


def test_removing_twice_is_harmless(client, editor, org):
    subscriber = EmailSubscriberFactory(organization=org)
    client.force_login(editor)
    remove_url = url(org, f"subscribers/{subscriber.public_id}/remove/")

    client.post(remove_url)
    again = client.post(remove_url)

    assert again.status_code == 302
    assert AuditEntry.objects.filter(action="subscriber.remove").count() == 1


def test_another_organizations_subscriber_is_404(client, editor, org, other_org):
    subscriber = EmailSubscriberFactory(organization=other_org)
    client.force_login(editor)

    response = client.post(url(org, f"subscribers/{subscriber.public_id}/remove/"))

    assert response.status_code == 404
    subscriber.refresh_from_db()
    assert subscriber.state == Subscriber.State.ACTIVE


# --- export ----------------------------------------------------------------------------------


def read_export(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_export_streams_every_subscriber_as_csv(client, editor, org, other_org):
    api = ComponentFactory(organization=org, name="API")
    EmailSubscriberFactory(organization=org, email="ada@example.com", components=[api])
    EmailSubscriberFactory(organization=org, email="grace@example.com", confirmed_at=None)
    WebhookSubscriberFactory(organization=org, url="https://hooks.example.com/c?token=s3cr3t")
    EmailSubscriberFactory(organization=other_org, email="elsewhere@example.com")
    client.force_login(editor)

    response = client.get(url(org, "subscribers/export.csv"))

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_export(response)
    assert [row["address"] for row in rows] == [
        "ada@example.com",
        "grace@example.com",
        "https://hooks.example.com/c?…",
    ]
    assert rows[0]["components"] == "API"
    assert rows[0]["state"] == "active"
    assert rows[0]["confirmed"] != ""
    assert rows[1]["state"] == "pending"
    assert rows[1]["confirmed"] == ""
    assert rows[2]["channel"] == "webhook"
    assert rows[2]["components"] == ""
    assert AuditEntry.objects.get(action="subscribers.export").data == {"subscribers": 3}


def test_export_defuses_spreadsheet_formulas(client, editor, org):
    EmailSubscriberFactory(organization=org, email="=1+2@example.com")
    client.force_login(editor)

    rows = read_export(client.get(url(org, "subscribers/export.csv")))

    assert rows[0]["address"] == "'=1+2@example.com"


# --- notifications and deliveries ------------------------------------------------------------


def test_the_notifications_page_shows_counts_per_event(client, viewer, org, incident, event):
    DeliveryFactory.create_batch(3, event=event, status=Status.SENT)
    DeliveryFactory(event=event, status=Status.FAILED, last_error="SMTP 550")
    NotificationEventFactory(organization=org, incident=incident, deliver=False)
    client.force_login(viewer)

    response = client.get(url(org, "notifications/"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Elevated API errors" in page
    assert "3 sent" in page
    assert "1 failed" in page
    assert "Posted with “don't notify”" in page


def test_the_notifications_page_has_one_counts_query_for_50_events(
    client, viewer, org, incident, django_assert_max_num_queries
):
    subscribers = EmailSubscriberFactory.create_batch(2, organization=org)
    for event in NotificationEventFactory.create_batch(50, organization=org, incident=incident):
        for subscriber in subscribers:
            DeliveryFactory(event=event, subscriber=subscriber)
    client.force_login(viewer)

    with django_assert_max_num_queries(12):
        response = client.get(url(org, "notifications/"), {"page": 2})

    assert response.content.decode().count("2 sent") == 25


def test_only_events_with_failures(client, viewer, org, incident, event):
    DeliveryFactory(event=event, status=Status.FAILED)
    quiet = IncidentFactory(organization=org, name="Quiet one")
    NotificationEventFactory(organization=org, incident=quiet)
    client.force_login(viewer)

    page = client.get(url(org, "notifications/"), {"failed": "on"}).content.decode()

    assert "Elevated API errors" in page
    assert "Quiet one" not in page


def test_an_event_page_lists_its_deliveries_with_errors(client, viewer, org, event):
    DeliveryFactory(event=event, status=Status.SENT)
    DeliveryFactory(
        event=event,
        status=Status.FAILED,
        last_error="HTTP 500 from endpoint",
        subscriber=WebhookSubscriberFactory(organization=org, url="https://h.example.com/x"),
    )
    client.force_login(viewer)

    everything = client.get(url(org, f"notifications/{event.public_id}/")).content.decode()
    only_failed = client.get(
        url(org, f"notifications/{event.public_id}/"), {"status": "failed"}
    ).content.decode()

    assert "HTTP 500 from endpoint" in everything
    assert "Failed (1)" in everything
    assert "Retry failed deliveries" not in everything  # viewers read only
    assert "https://h.example.com/x" in only_failed
    assert only_failed.count('data-label="Subscriber"') == 1


def test_an_editor_retries_failed_deliveries(
    client, editor, org, event, django_capture_on_commit_callbacks
):
    failed = DeliveryFactory(event=event, status=Status.FAILED, last_error="SMTP 451")
    DeliveryFactory(event=event, status=Status.SENT)
    client.force_login(editor)
    page = client.get(url(org, f"notifications/{event.public_id}/")).content.decode()
    assert "Retry failed deliveries (1)" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(org, f"notifications/{event.public_id}/retry/"))

    assert response.status_code == 302
    failed.refresh_from_db()
    # Retried through the pipeline (eager Celery): the mail went out this time.
    assert failed.status == Status.SENT
    assert len(mail.outbox) == 1
    assert AuditEntry.objects.get(action="notifications.retry").actor == editor


def test_retry_with_nothing_failed_says_so(client, editor, org, event):
    DeliveryFactory(event=event, status=Status.SENT)
    client.force_login(editor)

    response = client.post(url(org, f"notifications/{event.public_id}/retry/"), follow=True)

    assert "Nothing to retry" in response.content.decode()


def test_another_organizations_event_is_404(client, editor, org, other_org):
    theirs = NotificationEventFactory(organization=other_org)
    client.force_login(editor)

    assert client.get(url(org, f"notifications/{theirs.public_id}/")).status_code == 404
    assert client.post(url(org, f"notifications/{theirs.public_id}/retry/")).status_code == 404


# --- roles -----------------------------------------------------------------------------------


def _pages(org, subscriber, event):
    return {
        "reads": [url(org, "subscribers/"), url(org, "notifications/"),
                  url(org, f"notifications/{event.public_id}/")],
        "writes": [
            url(org, f"subscribers/{subscriber.public_id}/remove/"),
            url(org, "subscribers/import/"),
            url(org, f"notifications/{event.public_id}/retry/"),
        ],
        "manage_pages": [
            url(org, f"subscribers/{subscriber.public_id}/remove/"),
            url(org, "subscribers/import/"),
            url(org, "subscribers/export.csv"),
        ],
    }  # fmt: skip


def test_a_viewer_reads_every_page_and_writes_nothing(client, viewer, org, event):
    subscriber = EmailSubscriberFactory(organization=org)
    pages = _pages(org, subscriber, event)
    client.force_login(viewer)

    assert [client.get(page).status_code for page in pages["reads"]] == [200, 200, 200]
    assert [client.post(page).status_code for page in pages["writes"]] == [403, 403, 403]
    assert [client.get(page).status_code for page in pages["manage_pages"]] == [403, 403, 403]
    subscriber.refresh_from_db()
    assert subscriber.state == Subscriber.State.ACTIVE


def test_an_editor_opens_every_page(client, editor, org, event):
    subscriber = EmailSubscriberFactory(organization=org)
    pages = _pages(org, subscriber, event)
    client.force_login(editor)

    codes = [client.get(page).status_code for page in pages["reads"] + pages["manage_pages"]]

    assert codes == [200] * 6


def test_an_outsider_gets_404_everywhere(client, outsider, org, event):
    subscriber = EmailSubscriberFactory(organization=org)
    pages = _pages(org, subscriber, event)
    every = pages["reads"] + pages["writes"] + pages["manage_pages"]
    client.force_login(outsider)

    assert {client.get(page).status_code for page in every} == {404}
    assert {client.post(page).status_code for page in every} == {404}


def test_failures_to_disabled_subscribers_offer_no_retry(client, editor, org, event):
    gone = EmailSubscriberFactory(organization=org, state=Subscriber.State.DISABLED)
    DeliveryFactory(event=event, subscriber=gone, status=Status.FAILED, last_error="SMTP 550")
    client.force_login(editor)

    page = client.get(url(org, f"notifications/{event.public_id}/")).content.decode()

    assert "Retry failed deliveries" not in page
    assert "they are not retried" in page
