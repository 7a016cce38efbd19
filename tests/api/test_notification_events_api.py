"""Management API for what the dashboard's Notifications pages show and do: the outbox with
delivery counts, an event's deliveries, retrying failed ones, and the notification settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.incidents.notifications import EventKind as Kind
from apps.notifications.models import Delivery, NotificationSettings, Subscriber
from apps.organizations.models import AuditEntry
from apps.status.notifications import EventKind as ComponentKind
from tests.factories import IncidentFactory, IncidentUpdateFactory
from tests.notifications.factories import (
    DeliveryFactory,
    EmailSubscriberFactory,
    NotificationEventFactory,
    WebhookSubscriberFactory,
)

EVENTS = "/api/v1/notification-events/"
SETTINGS = "/api/v1/notification-settings/"
JSON = "application/json"
Status = Delivery.Status


def detail(event, path: str = "") -> str:
    return f"{EVENTS}{event.public_id}/{path}"


@pytest.fixture
def incident(org):
    return IncidentFactory(organization=org, name="Elevated API errors")


@pytest.fixture
def event(org, incident):
    return NotificationEventFactory(organization=org, kind=Kind.INCIDENT_OPENED, incident=incident)


def counts(pending=0, sent=0, failed=0, skipped=0) -> dict[str, int]:
    return {"pending": pending, "sent": sent, "failed": failed, "skipped": skipped}


# --- events list and detail --------------------------------------------------------------------


def test_it_lists_events_newest_first_with_their_delivery_counts(api, read_only_key, org, incident):
    update = IncidentUpdateFactory(incident=incident)
    older = NotificationEventFactory(
        organization=org,
        incident=incident,
        created_at=timezone.now() - timedelta(hours=1),
    )
    newer = NotificationEventFactory(
        organization=org,
        kind=Kind.INCIDENT_UPDATED,
        incident=incident,
        update=update,
        component_ids=["k3x9ftq2b7lm"],
        deliver=False,
    )
    DeliveryFactory.create_batch(2, event=older, status=Status.SENT)
    DeliveryFactory(event=older, status=Status.FAILED, last_error="SMTP 550")
    DeliveryFactory(event=older, status=Status.SKIPPED)

    response = api(read_only_key).get(EVENTS)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [newer.public_id, older.public_id]
    assert rows[0] == {
        "id": newer.public_id,
        "kind": "incident.updated",
        "incident": incident.public_id,
        "update": update.public_id,
        "components": ["k3x9ftq2b7lm"],
        "deliver": False,
        "created_at": newer.created_at.isoformat().replace("+00:00", "Z"),
        "processed_at": None,
        "delivery_counts": counts(),
    }
    assert rows[1]["delivery_counts"] == counts(sent=2, failed=1, skipped=1)
    assert rows[1]["update"] is None


def test_a_component_event_has_no_incident(api, api_key, org):
    NotificationEventFactory(
        organization=org,
        kind=ComponentKind.COMPONENT_STATUS_CHANGED,
        component_ids=["k3x9ftq2b7lm"],
    )

    row = api(api_key).get(EVENTS).json()["results"][0]

    assert row["kind"] == "component.status_changed"
    assert row["incident"] is None
    assert row["components"] == ["k3x9ftq2b7lm"]


def _queries_to_list(client) -> tuple[int, list]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(EVENTS)
    return len(captured), response.json()["results"]


def test_listing_20_events_takes_as_many_queries_as_listing_2(api, api_key, org, incident):
    subscribers = EmailSubscriberFactory.create_batch(2, organization=org)
    client = api(api_key)
    client.get(EVENTS)  # the key's last-used stamp is written here, not in the measured calls
    for event in NotificationEventFactory.create_batch(2, organization=org, incident=incident):
        for subscriber in subscribers:
            DeliveryFactory(event=event, subscriber=subscriber)
    queries_for_2, rows_for_2 = _queries_to_list(client)
    for event in NotificationEventFactory.create_batch(
        18, organization=org, incident=incident, update=IncidentUpdateFactory(incident=incident)
    ):
        for subscriber in subscribers:
            DeliveryFactory(event=event, subscriber=subscriber, status=Status.FAILED)

    queries_for_20, rows_for_20 = _queries_to_list(client)

    assert len(rows_for_2) == 2
    assert len(rows_for_20) == 20
    assert queries_for_20 == queries_for_2
    assert {row["delivery_counts"]["failed"] for row in rows_for_20[:18]} == {2}
    assert {row["delivery_counts"]["sent"] for row in rows_for_20[18:]} == {2}


def test_listing_20_events_takes_at_most_5_queries(
    api, api_key, org, incident, django_assert_max_num_queries
):
    # Key lookup, key last-used stamp, the page, the page's counts (one aggregate), and one
    # spare; never one query per event.
    for event in NotificationEventFactory.create_batch(20, organization=org, incident=incident):
        DeliveryFactory(event=event)
    client = api(api_key)

    with django_assert_max_num_queries(5):
        response = client.get(EVENTS)

    assert len(response.json()["results"]) == 20


def test_filters_by_kind_incident_and_failures(api, api_key, org, incident, event):
    other_incident = IncidentFactory(organization=org)
    resolved = NotificationEventFactory(
        organization=org, kind=Kind.INCIDENT_RESOLVED, incident=other_incident
    )
    DeliveryFactory(event=event, status=Status.FAILED)
    DeliveryFactory(event=resolved, status=Status.SENT)
    client = api(api_key)

    by_kind = client.get(EVENTS, {"kind": "incident.resolved"}).json()["results"]
    by_incident = client.get(EVENTS, {"incident": incident.public_id}).json()["results"]
    failed = client.get(EVENTS, {"failed": "true"}).json()["results"]
    not_failed = client.get(EVENTS, {"failed": "false"}).json()["results"]

    assert [row["id"] for row in by_kind] == [resolved.public_id]
    assert [row["id"] for row in by_incident] == [event.public_id]
    assert [row["id"] for row in failed] == [event.public_id]
    assert [row["id"] for row in not_failed] == [resolved.public_id]


def test_filters_by_creation_time(api, api_key, org):
    now = timezone.now()
    last_week = NotificationEventFactory(organization=org, created_at=now - timedelta(days=7))
    yesterday = NotificationEventFactory(organization=org, created_at=now - timedelta(days=1))
    NotificationEventFactory(organization=org, created_at=now)
    client = api(api_key)

    window = client.get(
        EVENTS,
        {
            "created_after": (now - timedelta(days=8)).isoformat(),
            "created_before": (now - timedelta(hours=1)).isoformat(),
        },
    ).json()["results"]
    recent = client.get(EVENTS, {"created_after": (now - timedelta(days=2)).isoformat()}).json()[
        "results"
    ]

    assert [row["id"] for row in window] == [yesterday.public_id, last_week.public_id]
    assert len(recent) == 2
    assert last_week.public_id not in [row["id"] for row in recent]


def test_bad_filter_values_are_400s_naming_the_parameter(api, api_key):
    client = api(api_key)

    bad_kind = client.get(EVENTS, {"kind": "incident.exploded"})
    bad_date = client.get(EVENTS, {"created_after": "last tuesday"})

    assert bad_kind.status_code == 400
    assert "kind" in bad_kind.json()
    assert bad_date.status_code == 400
    assert "created_after" in bad_date.json()


def test_an_event_in_detail_has_its_counts(api, read_only_key, org, event):
    DeliveryFactory(event=event, status=Status.PENDING)
    DeliveryFactory.create_batch(3, event=event, status=Status.SENT)

    response = api(read_only_key).get(detail(event))

    assert response.status_code == 200
    assert response.json()["id"] == event.public_id
    assert response.json()["incident"] == event.snapshot["incident"]["id"]
    assert response.json()["delivery_counts"] == counts(pending=1, sent=3)


# --- deliveries ----------------------------------------------------------------------------------


def test_it_lists_an_events_deliveries_without_secrets(api, read_only_key, org, event):
    hook = WebhookSubscriberFactory(
        organization=org, url="https://hooks.example.com/candor?token=s3cr3t-in-url"
    )
    sent = DeliveryFactory(event=event, status=Status.SENT, sent_at=timezone.now(), attempts=1)
    failed = DeliveryFactory(
        event=event, subscriber=hook, status=Status.FAILED, attempts=5, last_error="HTTP 500"
    )
    DeliveryFactory(event=NotificationEventFactory(organization=org))  # another event's

    response = api(read_only_key).get(detail(event, "deliveries/"))

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["subscriber"] for row in rows] == [sent.subscriber.public_id, hook.public_id]
    assert rows[1] == {
        "subscriber": hook.public_id,
        "channel": "webhook",
        "status": "failed",
        "attempts": 5,
        "last_error": "HTTP 500",
        "sent_at": None,
        "next_attempt_at": failed.next_attempt_at.isoformat().replace("+00:00", "Z"),
    }
    assert rows[0]["sent_at"] is not None
    body = response.content.decode()
    assert hook.webhook_secret not in body
    assert "s3cr3t-in-url" not in body
    assert "whsec_" not in body


def test_deliveries_filter_by_status(api, api_key, event):
    DeliveryFactory.create_batch(2, event=event, status=Status.SENT)
    failed = DeliveryFactory(event=event, status=Status.FAILED)
    client = api(api_key)

    only_failed = client.get(detail(event, "deliveries/"), {"status": "failed"})
    bad_status = client.get(detail(event, "deliveries/"), {"status": "lost"})

    rows = only_failed.json()["results"]
    assert [row["subscriber"] for row in rows] == [failed.subscriber.public_id]
    assert bad_status.status_code == 400
    assert "status" in bad_status.json()


def test_deliveries_are_paginated_by_cursor(api, api_key, event):
    deliveries = DeliveryFactory.create_batch(3, event=event)
    client = api(api_key)

    first = client.get(detail(event, "deliveries/"), {"limit": 2}).json()
    second = client.get(first["next"]).json()

    ids = [row["subscriber"] for row in first["results"] + second["results"]]
    assert ids == [delivery.subscriber.public_id for delivery in deliveries]
    assert second["next"] is None


def test_listing_50_deliveries_takes_a_constant_number_of_queries(
    api, api_key, event, django_assert_max_num_queries
):
    DeliveryFactory.create_batch(50, event=event)
    client = api(api_key)

    with django_assert_max_num_queries(5):
        response = client.get(detail(event, "deliveries/"))

    assert len(response.json()["results"]) == 50


# --- retry ---------------------------------------------------------------------------------------


def test_retry_sends_failed_deliveries_again_like_the_dashboard(
    api, api_key, org, event, django_capture_on_commit_callbacks
):
    failed = DeliveryFactory(event=event, status=Status.FAILED, attempts=5, last_error="SMTP 451")
    DeliveryFactory(event=event, status=Status.SENT)

    with django_capture_on_commit_callbacks(execute=True):
        response = api(api_key).post(detail(event, "retry/"))

    assert response.status_code == 200
    # Counted right after the retry, before the queued send ran.
    assert response.json() == {"retried": 1, "delivery_counts": counts(pending=1, sent=1)}
    failed.refresh_from_db()
    # Sent by the pipeline (eager Celery) once the retry committed.
    assert failed.status == Status.SENT
    assert len(mail.outbox) == 1
    entry = AuditEntry.objects.get(action="notifications.retry")
    assert entry.organization == org
    assert entry.actor is None
    assert entry.actor_label == f"API key “{api_key.name}” ({api_key.prefix}…)"
    assert entry.target_id == event.public_id
    assert entry.data == {"deliveries": 1}


def test_retry_leaves_failures_to_departed_subscribers_alone(api, api_key, org, event):
    gone = EmailSubscriberFactory(organization=org, state=Subscriber.State.DISABLED)
    DeliveryFactory(event=event, subscriber=gone, status=Status.FAILED)

    response = api(api_key).post(detail(event, "retry/"))

    assert response.status_code == 200
    assert response.json() == {"retried": 0, "delivery_counts": counts(failed=1)}
    assert not AuditEntry.objects.filter(action="notifications.retry").exists()


def test_a_retry_sent_again_with_its_idempotency_key_is_answered_once(api, api_key, event):
    DeliveryFactory(event=event, status=Status.FAILED)
    client = api(api_key)
    headers = {"HTTP_IDEMPOTENCY_KEY": "retry-7f3a"}

    first = client.post(detail(event, "retry/"), **headers)
    again = client.post(detail(event, "retry/"), **headers)

    assert first.json()["retried"] == 1
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert AuditEntry.objects.filter(action="notifications.retry").count() == 1


def test_a_read_only_key_cannot_retry(api, read_only_key, event):
    failed = DeliveryFactory(event=event, status=Status.FAILED)

    response = api(read_only_key).post(detail(event, "retry/"))

    assert response.status_code == 403
    assert response.json() == {"detail": "This API key is read-only; use a key with write scope."}
    failed.refresh_from_db()
    assert failed.status == Status.FAILED
    assert not AuditEntry.objects.filter(action="notifications.retry").exists()


# --- another organization ----------------------------------------------------------------------


def test_another_organizations_key_gets_404_and_empty_lists(api, other_api_key, org, event):
    failed = DeliveryFactory(event=event, status=Status.FAILED)
    client = api(other_api_key)

    assert client.get(detail(event)).status_code == 404
    assert client.get(detail(event, "deliveries/")).status_code == 404
    assert client.post(detail(event, "retry/")).status_code == 404
    assert client.get(EVENTS).json()["results"] == []
    assert (
        client.get(EVENTS, {"incident": event.snapshot["incident"]["id"]}).json()["results"] == []
    )
    failed.refresh_from_db()
    assert failed.status == Status.FAILED


def test_a_missing_event_and_another_organizations_event_get_the_same_404(api, api_key, other_org):
    theirs = NotificationEventFactory(organization=other_org)
    client = api(api_key)

    missing = client.get(f"{EVENTS}nosuchevent1/")
    foreign = client.get(detail(theirs))

    assert missing.status_code == foreign.status_code == 404
    assert missing.json() == foreign.json()


# --- settings ------------------------------------------------------------------------------------


def test_settings_read_the_defaults_before_anything_changed(api, read_only_key):
    response = api(read_only_key).get(SETTINGS)

    assert response.status_code == 200
    assert response.json() == {"email_component_changes": False}


def test_settings_change_through_the_service_with_an_audit_entry(api, api_key, org):
    client = api(api_key)

    response = client.patch(SETTINGS, {"email_component_changes": True}, content_type=JSON)

    assert response.status_code == 200
    assert response.json() == {"email_component_changes": True}
    assert client.get(SETTINGS).json() == {"email_component_changes": True}
    assert NotificationSettings.objects.get(organization=org).email_component_changes is True
    entry = AuditEntry.objects.get(action="notifications.settings")
    assert entry.organization == org
    assert entry.actor_label == f"API key “{api_key.name}” ({api_key.prefix}…)"
    assert entry.data == {"email_component_changes": True}


def test_settings_patched_to_their_current_value_write_no_audit_entry(api, api_key):
    client = api(api_key)

    unchanged = client.patch(SETTINGS, {"email_component_changes": False}, content_type=JSON)
    empty = client.patch(SETTINGS, {}, content_type=JSON)

    assert unchanged.json() == empty.json() == {"email_component_changes": False}
    assert not AuditEntry.objects.filter(action="notifications.settings").exists()


def test_settings_refuse_unknown_fields_and_wrong_types(api, api_key, org):
    client = api(api_key)

    unknown = client.patch(SETTINGS, {"email_component_change": True}, content_type=JSON)
    wrong_type = client.patch(SETTINGS, {"email_component_changes": "yes"}, content_type=JSON)
    null = client.patch(SETTINGS, {"email_component_changes": None}, content_type=JSON)

    assert unknown.status_code == 400
    assert unknown.json()["email_component_change"] == ["Unknown field."]
    assert wrong_type.status_code == 400
    assert wrong_type.json()["email_component_changes"] == ["Must be true or false."]
    assert null.status_code == 400
    assert "email_component_changes" in null.json()
    assert not NotificationSettings.objects.filter(organization=org).exists()
    assert not AuditEntry.objects.filter(action="notifications.settings").exists()


def test_a_read_only_key_cannot_change_settings(api, read_only_key, org):
    response = api(read_only_key).patch(
        SETTINGS, {"email_component_changes": True}, content_type=JSON
    )

    assert response.status_code == 403
    assert not NotificationSettings.objects.filter(organization=org).exists()


def test_settings_are_the_keys_organizations(api, api_key, other_api_key, org):
    api(api_key).patch(SETTINGS, {"email_component_changes": True}, content_type=JSON)

    theirs = api(other_api_key).get(SETTINGS)

    assert theirs.json() == {"email_component_changes": False}


def test_settings_need_a_key(client, db):
    assert client.get(SETTINGS).status_code == 401
