"""'Don't notify' means nothing is delivered for that change, on every path and every channel.

Before the fix, a component change made by an incident posted with deliver_notifications=False
still wrote a COMPONENT_STATUS_CHANGED event with deliver=True, and the fan-out created webhook,
Slack and (when the organization enables it) email deliveries for it. These tests count
Delivery rows per channel after the on-commit fan-out ran, not only event rows.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.incidents import services
from apps.incidents.notifications import EventKind
from apps.notifications.models import Delivery, NotificationEvent, Subscriber
from apps.notifications.services import set_email_component_changes
from apps.status.models import ComponentStatus
from apps.status.notifications import EventKind as ComponentKind
from tests.factories import ComponentFactory, member
from tests.notifications.factories import (
    EmailSubscriberFactory,
    SlackSubscriberFactory,
    WebhookSubscriberFactory,
)

CHANNELS = (Subscriber.Channel.EMAIL, Subscriber.Channel.WEBHOOK, Subscriber.Channel.SLACK)
JSON = "application/json"


@pytest.fixture
def database(org):
    return ComponentFactory(organization=org, name="Database")


@pytest.fixture(autouse=True)
def _subscribers(org, owner):
    # Component-only changes reach email subscribers only when the organization asks for it:
    # turn it on so every channel would receive a component event.
    set_email_component_changes(org, enabled=True, actor=member(owner))
    EmailSubscriberFactory(organization=org)
    WebhookSubscriberFactory(organization=org, url="https://127.0.0.1:9/hook")
    SlackSubscriberFactory(organization=org, url="https://127.0.0.1:9/slack")


def deliveries() -> dict[str, int]:
    return {channel: Delivery.objects.filter(channel=channel).count() for channel in CHANNELS}


def delivered_kinds() -> set[str]:
    return set(Delivery.objects.values_list("event__kind", flat=True))


def test_a_notified_incident_reaches_every_channel_with_its_component_change(
    org, editor, database, django_capture_on_commit_callbacks
):
    # The control: with notifications on, each channel gets the incident and the component
    # change, so the zeros below are not an artefact of the set-up.
    with django_capture_on_commit_callbacks(execute=True):
        services.open_incident(
            org, actor=member(editor), name="Database down", status="investigating",
            body="Looking.",
            components={database: ComponentStatus.MAJOR_OUTAGE}, deliver_notifications=True,
        )  # fmt: skip

    assert deliveries() == {"email": 2, "webhook": 2, "slack": 2}
    assert delivered_kinds() == {
        EventKind.INCIDENT_OPENED,
        ComponentKind.COMPONENT_STATUS_CHANGED,
    }


def test_opening_without_notifying_delivers_nothing_and_keeps_the_events_for_the_record(
    org, editor, database, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.open_incident(
            org, actor=member(editor), name="Database down", status="investigating",
            body="Looking.",
            components={database: ComponentStatus.MAJOR_OUTAGE}, deliver_notifications=False,
        )  # fmt: skip

    assert deliveries() == {"email": 0, "webhook": 0, "slack": 0}
    component_event = NotificationEvent.objects.get(kind=ComponentKind.COMPONENT_STATUS_CHANGED)
    assert component_event.deliver is False
    assert component_event.snapshot["old_status"] == "operational"
    assert component_event.snapshot["new_status"] == "major_outage"


def test_update_resolve_and_reopen_without_notifying_deliver_nothing(
    org, editor, database, django_capture_on_commit_callbacks
):
    incident = services.open_incident(
        org, actor=member(editor), name="Database down", status="investigating", body="Looking.",
        components={database: ComponentStatus.MAJOR_OUTAGE}, deliver_notifications=False,
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(
            incident, actor=member(editor), status="identified", body="Found it.",
            components={database: ComponentStatus.PARTIAL_OUTAGE}, deliver_notifications=False,
        )  # fmt: skip
        services.resolve_incident(incident, actor=member(editor), deliver_notifications=False)
        services.reopen_incident(
            incident, actor=member(editor), body="Back again.",
            components={database: ComponentStatus.DEGRADED_PERFORMANCE},
            deliver_notifications=False,
        )  # fmt: skip

    database.refresh_from_db()
    assert database.status == ComponentStatus.DEGRADED_PERFORMANCE
    assert NotificationEvent.objects.filter(
        kind=ComponentKind.COMPONENT_STATUS_CHANGED
    ).count() == 4  # fmt: skip
    assert deliveries() == {"email": 0, "webhook": 0, "slack": 0}


def test_maintenance_steps_without_notifying_deliver_nothing(
    org, editor, database, django_capture_on_commit_callbacks
):
    start = timezone.now() + timedelta(hours=1)
    maintenance = services.schedule_maintenance(
        org, actor=member(editor), name="Database upgrade", body="Upgrading.", scheduled_for=start,
        scheduled_until=start + timedelta(hours=1), components=[database],
        deliver_notifications=False,
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        services.start_maintenance(maintenance, actor=member(editor), deliver_notifications=False)
        services.complete_maintenance(
            maintenance, actor=member(editor), deliver_notifications=False
        )

    database.refresh_from_db()
    assert database.status == ComponentStatus.OPERATIONAL
    assert NotificationEvent.objects.filter(
        kind=ComponentKind.COMPONENT_STATUS_CHANGED
    ).count() == 2  # fmt: skip
    assert deliveries() == {"email": 0, "webhook": 0, "slack": 0}


def test_the_api_without_notifying_delivers_nothing(
    api, api_key, database, django_capture_on_commit_callbacks
):
    client = api(api_key)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/incidents/",
            {
                "name": "Database down",
                "deliver_notifications": False,
                "components": {database.public_id: "major_outage"},
            },
            content_type=JSON,
        )
    assert created.status_code == 201, created.content
    database.refresh_from_db()
    assert database.status == ComponentStatus.MAJOR_OUTAGE
    assert deliveries() == {"email": 0, "webhook": 0, "slack": 0}


def test_the_dashboard_without_the_notify_box_delivers_nothing(
    client, org, editor, database, django_capture_on_commit_callbacks
):
    client.force_login(editor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("incidents:new", args=[org.slug]),
            {
                "name": "Database down",
                "status": "investigating",
                "impact": "auto",
                "body": "Looking.",
                f"component_{database.public_id}": "major_outage",
            },
        )
    assert response.status_code == 302
    database.refresh_from_db()
    assert database.status == ComponentStatus.MAJOR_OUTAGE
    assert deliveries() == {"email": 0, "webhook": 0, "slack": 0}
