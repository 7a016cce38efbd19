"""A published postmortem reaches subscribers: email with the summary, webhooks with the text."""

from __future__ import annotations

import json

import pytest
from django.core import mail

from apps.incidents import services
from apps.incidents.models import ActionItem
from apps.incidents.notifications import incident_object
from apps.notifications.channels import slack
from apps.notifications.models import NotificationEvent
from tests.factories import ComponentFactory, IncidentFactory, member
from tests.incidents.factories import PostmortemFactory

from .factories import EmailSubscriberFactory, WebhookSubscriberFactory
from .receiver import http_receiver

pytestmark = pytest.mark.django_db
SUMMARY = "From 10:02 to 10:47 UTC nobody could sign in. <We are sorry & we mean it.>"


@pytest.fixture
def written(org, editor):
    api = ComponentFactory(organization=org, name="API")
    incident = IncidentFactory(organization=org, name="Sign-in failures", status="resolved")
    incident.components.add(api)
    postmortem = services.save_postmortem(
        incident, actor=member(editor), summary=SUMMARY, cause="An expired certificate."
    )
    services.add_action_item(
        postmortem, actor=member(editor), title="Alert before certificates expire",
        status=ActionItem.Status.DONE,
    )  # fmt: skip
    return incident


def publish(incident, actor, capture, **kwargs):
    with capture(execute=True):
        services.publish_postmortem(incident, actor=member(actor), **kwargs)


def test_an_email_subscriber_gets_the_summary_and_a_link(
    org, editor, written, django_capture_on_commit_callbacks
):
    reader = EmailSubscriberFactory(organization=org)
    publish(written, editor, django_capture_on_commit_callbacks, notify_subscribers=True)

    [message] = mail.outbox
    assert message.to == [reader.email]
    assert message.subject == "[Acme Cloud] Postmortem: Sign-in failures"
    text = message.body
    assert "What happened, and what we are changing" in text
    assert SUMMARY in text  # plain text, as written
    assert f"{org.public_url}incidents/{written.public_id}/" in text
    assert "Follow the incident" not in text
    html = message.alternatives[0][0]
    assert "&lt;We are sorry &amp; we mean it.&gt;" in html
    assert "Read the postmortem" in html


def test_publishing_without_notifying_sends_nothing(
    org, editor, written, django_capture_on_commit_callbacks
):
    EmailSubscriberFactory(organization=org)
    publish(written, editor, django_capture_on_commit_callbacks, notify_subscribers=False)
    assert mail.outbox == []


def test_the_webhook_body_carries_status_postmortem_and_the_text(
    org, editor, written, loopback_hooks, django_capture_on_commit_callbacks
):
    with http_receiver() as hooks:
        WebhookSubscriberFactory(organization=org, url=hooks.url)
        publish(written, editor, django_capture_on_commit_callbacks, notify_subscribers=True)

    [request] = hooks.requests
    body = json.loads(request.body)
    incident = body["incident"]
    assert body["meta"]["event_type"] == "incident.postmortem_published"
    assert incident["status"] == "postmortem"
    assert incident["postmortem_body"].startswith(f"What happened\n\n{SUMMARY}")
    assert "Why it happened\n\nAn expired certificate." in incident["postmortem_body"]
    assert "- Alert before certificates expire (done)" in incident["postmortem_body"]
    assert incident["postmortem_published_at"].endswith("Z")
    assert incident["postmortem_body_last_updated_at"] is not None
    assert incident["postmortem_notified_subscribers"] is True


def test_drafts_never_reach_webhook_bodies(org):
    draft = PostmortemFactory(incident__organization=org, summary="Secret draft")
    body = incident_object(draft.incident)
    assert body["postmortem_body"] is None
    assert body["postmortem_published_at"] is None


def test_slack_message_has_the_summary_and_a_link(org, editor, written):
    services.publish_postmortem(written, actor=member(editor), notify_subscribers=True)
    event = NotificationEvent.objects.get(kind="incident.postmortem_published")
    text = slack.message(event)["text"]
    assert "*Postmortem*" in text
    assert "&lt;We are sorry &amp; we mean it.&gt;" in text
    assert f"<{org.public_url}incidents/{written.public_id}/|Read the postmortem>" in text
