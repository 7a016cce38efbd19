"""Discussion events for the organization's webhooks and Slack: only those that opted in, never
email subscribers; the affected threshold announced once per threshold (issue 11)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.forum import services as forum
from apps.forum.notifications import EventKind
from apps.notifications import pipeline
from apps.notifications import services as notifications
from apps.notifications.models import NotificationEvent, Subscriber
from apps.organizations.models import AuditEntry
from apps.organizations.principals import Customer, Member
from tests.factories import ComponentFactory, UserFactory
from tests.notifications.factories import (
    EmailSubscriberFactory,
    SlackSubscriberFactory,
    WebhookSubscriberFactory,
)


def events(kind: str) -> list[NotificationEvent]:
    return list(NotificationEvent.objects.filter(kind=kind))


@pytest.fixture
def hooks(org):
    return {
        "opted_in": WebhookSubscriberFactory(organization=org, discussion_events=True),
        "slack": SlackSubscriberFactory(organization=org, discussion_events=True),
        "not_opted_in": WebhookSubscriberFactory(organization=org),
        "email": EmailSubscriberFactory(organization=org),
    }


def test_a_new_comment_reaches_only_the_hooks_that_opted_in(hooks, incident, customer, org):
    forum.post_comment(incident, actor=Customer(customer, org), body="Is EU down?")

    [event] = events(EventKind.COMMENT_CREATED)
    assert set(pipeline.matching_subscribers(event)) == {hooks["opted_in"], hooks["slack"]}


def test_a_hook_following_other_components_does_not_hear_of_this_incident(org, incident, customer):
    api, web = ComponentFactory(organization=org), ComponentFactory(organization=org)
    incident.components.add(api)
    follows_web = WebhookSubscriberFactory(organization=org, discussion_events=True)
    follows_web.components.set([web])
    follows_api = WebhookSubscriberFactory(organization=org, discussion_events=True)
    follows_api.components.set([api])

    forum.post_comment(incident, actor=Customer(customer, org), body="Hello")

    [event] = events(EventKind.COMMENT_CREATED)
    assert list(pipeline.matching_subscribers(event)) == [follows_api]


def test_a_flag_is_an_event_with_its_reason(hooks, incident, customer, org, editor):
    comment = forum.post_comment(incident, actor=Member.of(editor, org), body="Fixed.")

    forum.flag_comment(comment, actor=Customer(customer, org), reason="spam")

    [event] = events(EventKind.COMMENT_FLAGGED)
    assert event.snapshot["flag"] == {"reason": "spam"}
    assert event.snapshot["comment"] == comment.public_id


def test_the_affected_threshold_is_announced_once(org, owner, incident):
    forum.update_forum_settings(org, actor=Member.of(owner, org), affected_alert_threshold=3)
    people = UserFactory.create_batch(4)

    for person in people[:2]:
        forum.mark_affected(incident, actor=Customer(person, org))
    assert events(EventKind.AFFECTED_THRESHOLD) == []
    forum.mark_affected(incident, actor=Customer(people[2], org))
    forum.mark_affected(incident, actor=Customer(people[3], org))
    forum.unmark_affected(incident, actor=Customer(people[3], org))
    forum.unmark_affected(incident, actor=Customer(people[2], org))
    forum.mark_affected(incident, actor=Customer(people[2], org))

    [event] = events(EventKind.AFFECTED_THRESHOLD)
    assert (event.snapshot["affected"], event.snapshot["threshold"]) == (3, 3)


def test_a_threshold_of_zero_never_fires(org, owner, incident):
    forum.update_forum_settings(org, actor=Member.of(owner, org), affected_alert_threshold=0)

    forum.mark_affected(incident, actor=Customer(UserFactory(), org))

    assert events(EventKind.AFFECTED_THRESHOLD) == []


# --- staff opt a hook in (dashboard) --------------------------------------------------------


def test_staff_opt_a_webhook_in_from_the_subscriber_list(client, owner, org):
    hook = WebhookSubscriberFactory(organization=org, url="https://ops.example.com/hook")
    client.force_login(owner)
    url = f"/dashboard/{org.slug}/subscribers/{hook.public_id}/discussion-events/"

    response = client.post(url, {"enabled": "1"}, follow=True)

    hook.refresh_from_db()
    assert hook.discussion_events
    page = response.content.decode()
    assert "now also receives discussion events" in page
    assert "Stop discussion events" in page
    assert AuditEntry.objects.filter(action="subscriber.discussion_events").exists()

    client.post(url, {"enabled": "0"})
    hook.refresh_from_db()
    assert not hook.discussion_events


def test_an_email_subscriber_cannot_be_opted_in(client, owner, org):
    reader = EmailSubscriberFactory(organization=org)
    client.force_login(owner)

    response = client.post(
        f"/dashboard/{org.slug}/subscribers/{reader.public_id}/discussion-events/",
        {"enabled": "1"},
    )

    assert response.status_code == 404
    with pytest.raises(ValidationError, match="webhooks and Slack only"):
        notifications.set_discussion_events(reader, enabled=True, actor=Member.of(owner, org))
    reader.refresh_from_db()
    assert not reader.discussion_events


def test_a_viewer_may_not_opt_a_hook_in(client, viewer, org):
    hook = WebhookSubscriberFactory(organization=org)
    client.force_login(viewer)

    response = client.post(
        f"/dashboard/{org.slug}/subscribers/{hook.public_id}/discussion-events/", {"enabled": "1"}
    )

    assert response.status_code == 403
    hook.refresh_from_db()
    assert not hook.discussion_events


# --- the management API ----------------------------------------------------------------------


def test_the_api_adds_a_webhook_with_discussion_events(api, api_key, org, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    response = api(api_key).post(
        "/api/v1/subscribers/",
        {"channel": "webhook", "url": "http://127.0.0.1:9/hook", "discussion_events": True},
        content_type="application/json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["discussion_events"] is True
    assert Subscriber.objects.for_org(org).get().discussion_events


def test_the_api_refuses_discussion_events_for_an_email_subscriber(api, api_key, org):
    response = api(api_key).post(
        "/api/v1/subscribers/",
        {"channel": "email", "email": "reader@example.com", "discussion_events": True},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "webhook and Slack subscribers only" in str(response.json()["discussion_events"])
    assert not Subscriber.objects.for_org(org).exists()
