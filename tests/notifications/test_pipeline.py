"""The delivery pipeline end to end, in-process: outbox → fan-out → deliveries → mail/webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.incidents.notifications import EventKind as Kind
from apps.notifications import ledger, pipeline, services
from apps.notifications.channels import webhook as webhook_channel
from apps.notifications.models import Delivery, NotificationEvent, Subscriber
from apps.status.notifications import EventKind as ComponentKind
from tests.factories import ComponentFactory, IncidentFactory, IncidentUpdateFactory, member

from .factories import (
    EmailSubscriberFactory,
    NotificationEventFactory,
    SlackSubscriberFactory,
    WebhookSubscriberFactory,
)
from .receiver import http_receiver

Status = Delivery.Status


@pytest.fixture
def incident(org):
    incident = IncidentFactory(organization=org, name="Elevated API errors")
    incident.next_update_due = timezone.now() + timedelta(minutes=30)
    incident.save()
    return incident


@pytest.fixture
def publish(django_capture_on_commit_callbacks):
    """Write an outbox event the way services do, and run what its commit triggers."""

    def publish(**kwargs) -> NotificationEvent:
        with django_capture_on_commit_callbacks(execute=True):
            event = NotificationEventFactory(**kwargs)
        event.refresh_from_db()
        return event

    return publish


def opened(incident, **kwargs):
    update = IncidentUpdateFactory(incident=incident, body="We are looking into API errors.")
    return {
        "organization": incident.organization,
        "kind": Kind.INCIDENT_OPENED,
        "incident": incident,
        "update": update,
        **kwargs,
    }


def verify_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(f"v1,{expected}", sig) for sig in headers["webhook-signature"].split()
    )


def test_signature_matches_the_standard_webhooks_test_vector():
    body = (
        b'{"type":"incident.created","timestamp":"2022-11-03T20:26:10.344522Z",'
        b'"data":{"id":"inc_1"}}'
    )
    signature = webhook_channel.sign(
        "whsec_MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=",
        "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        1674087231,
        body,
    )
    assert signature == "v1,SltbKTNl+BJRy/namDf0LBAhlebnu6aARjc9Cgd2UB4="


def test_an_incident_reaches_every_channel_exactly_once(org, incident, publish, loopback_hooks):
    with http_receiver() as hooks, http_receiver() as slack:
        reader = EmailSubscriberFactory(organization=org)
        hook = WebhookSubscriberFactory(organization=org, url=hooks.url)
        SlackSubscriberFactory(organization=org, url=slack.url)
        event = publish(**opened(incident))

    assert [m.to for m in mail.outbox] == [[reader.email]]
    assert len(hooks.requests) == 1
    assert len(slack.requests) == 1
    assert verify_signature(hook.webhook_secret, hooks.requests[0].headers, hooks.requests[0].body)
    assert "Elevated API errors" in json.loads(slack.requests[0].body)["text"]
    assert set(event.deliveries.values_list("status", flat=True)) == {Status.SENT}
    event.refresh_from_db()
    assert event.processed_at is not None


def test_running_the_fan_out_again_sends_nothing_twice(org, incident, publish):
    EmailSubscriberFactory.create_batch(3, organization=org)
    event = publish(**opened(incident))
    services.fan_out(event.pk)
    NotificationEvent.objects.filter(pk=event.pk).update(processed_at=None)
    services.fan_out(event.pk)
    services.retry_due_deliveries()

    assert len(mail.outbox) == 3
    assert Delivery.objects.filter(event=event).count() == 3


def test_dont_notify_events_are_never_delivered(org, incident, publish):
    EmailSubscriberFactory(organization=org)
    event = publish(**opened(incident, deliver=False))

    assert mail.outbox == []
    assert not Delivery.objects.filter(event=event).exists()
    assert event.processed_at is not None


def test_subscribers_hear_only_about_components_they_follow(org, incident, publish):
    api, web = ComponentFactory(organization=org), ComponentFactory(organization=org)
    api_reader = EmailSubscriberFactory(organization=org, components=[api])
    EmailSubscriberFactory(organization=org, components=[web])
    everything_reader = EmailSubscriberFactory(organization=org)
    publish(**opened(incident, component_ids=[api.public_id]))

    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [api_reader.email, everything_reader.email]
    )


def test_page_wide_events_reach_every_subscriber(org, incident, publish):
    api = ComponentFactory(organization=org)
    EmailSubscriberFactory(organization=org, components=[api])
    EmailSubscriberFactory(organization=org)
    publish(**opened(incident, component_ids=[]))

    assert len(mail.outbox) == 2


def test_unconfirmed_and_other_organizations_subscribers_get_nothing(
    org, other_org, incident, publish
):
    EmailSubscriberFactory(organization=org, confirmed_at=None)
    EmailSubscriberFactory(organization=other_org)
    publish(**opened(incident))

    assert mail.outbox == []


def test_component_only_changes_go_to_webhooks_not_email(org, publish, loopback_hooks):
    api = ComponentFactory(organization=org, name="API", status="major_outage")
    EmailSubscriberFactory(organization=org)
    with http_receiver() as hooks:
        WebhookSubscriberFactory(organization=org, url=hooks.url)
        publish(
            organization=org,
            kind=ComponentKind.COMPONENT_STATUS_CHANGED,
            component=api,
            component_ids=[api.public_id],
            data={"old_status": "operational", "new_status": "major_outage"},
        )

    assert mail.outbox == []
    body = json.loads(hooks.requests[0].body)
    assert "type" not in body
    assert body["component_update"]["old_status"] == "operational"
    assert body["component_update"]["new_status"] == "major_outage"
    assert body["component"]["id"] == api.public_id
    assert body["page"]["status_indicator"] == "critical"
    assert body["meta"]["unsubscribe"].startswith(org.public_url)


def test_incident_webhook_body_follows_the_statuspage_shape(org, incident, publish, loopback_hooks):
    IncidentUpdateFactory(incident=incident, body="First.", status="investigating")
    with http_receiver() as hooks:
        WebhookSubscriberFactory(organization=org, url=hooks.url)
        publish(**opened(incident))
    body = json.loads(hooks.requests[0].body)

    assert set(body) == {"meta", "page", "incident"}
    assert body["incident"]["id"] == incident.public_id
    assert body["incident"]["incident_updates"][0]["body"] == "We are looking into API errors."
    assert body["incident"]["created_at"].endswith("Z")
    assert len(body["incident"]["created_at"].split(".")[1]) == 4  # "mmmZ"
    assert body["page"] == {
        "id": org.public_id,
        "status_indicator": "none",
        "status_description": "All Systems Operational",
    }
    headers = hooks.requests[0].headers
    assert headers["content-type"] == "application/json"
    assert headers["webhook-id"].startswith("msg_")


def test_webhook_id_is_stable_across_retries(org, incident, publish, loopback_hooks):
    with http_receiver() as hooks:
        hooks.statuses = [503, 200]
        WebhookSubscriberFactory(organization=org, url=hooks.url)
        event = publish(**opened(incident))
        Delivery.objects.filter(event=event).update(
            leased_until=timezone.now(), next_attempt_at=timezone.now()
        )
        services.retry_due_deliveries()

    first, second = hooks.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body or json.loads(first.body)["incident"]


def test_a_failing_endpoint_is_retried_later_with_backoff(org, incident, publish, loopback_hooks):
    with http_receiver() as hooks:
        hooks.statuses = [500]
        WebhookSubscriberFactory(organization=org, url=hooks.url)
        event = publish(**opened(incident))
    delivery = Delivery.objects.get(event=event)

    assert delivery.status == Status.PENDING
    assert delivery.attempts == 1
    assert "HTTP 500" in delivery.last_error
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 3 < wait < 7  # 5 s ± 20 % jitter
    assert delivery.leased_until == delivery.next_attempt_at
    assert pipeline.due_deliveries() == []


def test_retries_stop_after_the_schedule_and_the_delivery_fails(
    org, incident, publish, loopback_hooks, settings
):
    settings.NOTIFICATIONS_WEBHOOK_RETRY_SCHEDULE = [1, 1]
    with http_receiver() as hooks:
        hooks.statuses = [502]
        WebhookSubscriberFactory(organization=org, url=hooks.url)
        event = publish(**opened(incident))
        for _ in range(3):
            Delivery.objects.filter(event=event).update(
                leased_until=timezone.now(), next_attempt_at=timezone.now()
            )
            services.retry_due_deliveries()
    delivery = Delivery.objects.get(event=event)

    assert len(hooks.requests) == 3
    assert delivery.status == Status.FAILED
    assert delivery.attempts == 3


def test_a_client_error_is_permanent_for_that_message(org, incident, publish, loopback_hooks):
    with http_receiver() as hooks:
        hooks.statuses = [400]
        WebhookSubscriberFactory(organization=org, url=hooks.url)
        event = publish(**opened(incident))

    assert Delivery.objects.get(event=event).status == Status.FAILED


def test_a_redirect_is_a_failure_and_is_not_followed(org, incident, publish, loopback_hooks):
    with http_receiver() as hooks:
        hooks.statuses = [301]
        hooks.extra_headers = {"Location": "http://169.254.169.254/"}
        WebhookSubscriberFactory(organization=org, url=hooks.url)
        event = publish(**opened(incident))

    assert len(hooks.requests) == 1
    assert Delivery.objects.get(event=event).status == Status.FAILED


def test_repeated_failures_disable_the_webhook_and_mail_its_owner(
    org, publish, loopback_hooks, settings
):
    settings.NOTIFICATIONS_DISABLE_AFTER_FAILURES = 2
    with http_receiver() as hooks:
        hooks.statuses = [500]
        hook = WebhookSubscriberFactory(organization=org, url=hooks.url, email="ops@acme.test")
        first = publish(**opened(IncidentFactory(organization=org)))
        second = publish(**opened(IncidentFactory(organization=org)))
        third = publish(**opened(IncidentFactory(organization=org)))
    hook.refresh_from_db()

    assert hook.state == Subscriber.State.DISABLED
    assert "2 failed deliveries" in hook.disabled_reason
    assert len(hooks.requests) == 2
    assert [m.to for m in mail.outbox] == [["ops@acme.test"]]
    assert "disabled" in mail.outbox[0].subject
    assert Delivery.objects.get(event=first).status == Status.SKIPPED
    assert Delivery.objects.get(event=second).status == Status.SKIPPED
    assert not Delivery.objects.filter(event=third).exists()


def test_a_gone_endpoint_is_disabled_at_once(org, incident, publish, loopback_hooks):
    with http_receiver() as hooks:
        hooks.statuses = [410]
        hook = WebhookSubscriberFactory(organization=org, url=hooks.url)
        publish(**opened(incident))
    hook.refresh_from_db()

    assert hook.state == Subscriber.State.DISABLED
    assert "410" in hook.disabled_reason


def test_a_success_resets_the_failure_count(org, incident, publish, loopback_hooks):
    with http_receiver() as hooks:
        hook = WebhookSubscriberFactory(organization=org, url=hooks.url, consecutive_failures=5)
        publish(**opened(incident))
    hook.refresh_from_db()

    assert hook.consecutive_failures == 0


def test_webhooks_to_private_addresses_are_refused(org, incident, publish):
    with http_receiver() as hooks:
        WebhookSubscriberFactory(organization=org, url=hooks.url)
        event = publish(**opened(incident))
    delivery = Delivery.objects.get(event=event)

    assert hooks.requests == []
    assert delivery.status == Status.FAILED
    assert "non-public" in delivery.last_error


def test_an_event_left_unprocessed_is_picked_up_by_the_sweeper(org, incident):
    EmailSubscriberFactory(organization=org)
    # Written, but the commit hook never ran (say the web process died right after commit).
    event = NotificationEventFactory(**opened(incident))
    NotificationEvent.objects.filter(pk=event.pk).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )

    assert services.requeue_unprocessed_events() == 1
    assert len(mail.outbox) == 1
    assert services.requeue_unprocessed_events() == 0


def test_a_broker_outage_does_not_break_the_web_request(
    org, incident, django_capture_on_commit_callbacks, monkeypatch
):
    from apps.notifications import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(tasks.fanout_event, "apply_async", broker_down)
    EmailSubscriberFactory(organization=org)
    with django_capture_on_commit_callbacks(execute=True):
        event = NotificationEventFactory(**opened(incident))

    event.refresh_from_db()
    assert event.processed_at is None
    assert mail.outbox == []


def test_deliveries_lost_with_their_batch_are_resent_by_the_sweeper(
    org, incident, publish, monkeypatch
):
    from apps.notifications import tasks

    EmailSubscriberFactory.create_batch(2, organization=org)
    monkeypatch.setattr(tasks.send_email_batch, "apply_async", lambda *a, **k: None)
    event = publish(**opened(incident))
    assert mail.outbox == []
    monkeypatch.undo()

    assert services.retry_due_deliveries() == 0  # not due yet: the batch may still run
    Delivery.objects.filter(event=event).update(next_attempt_at=timezone.now())
    assert services.retry_due_deliveries() == 2
    assert len(mail.outbox) == 2


def test_a_claimed_row_is_not_claimed_by_another_task(org, incident):
    subscriber = EmailSubscriberFactory(organization=org)
    event = NotificationEventFactory(**opened(incident))
    delivery = Delivery.objects.create(
        organization=org, event=event, subscriber=subscriber, channel="email"
    )

    assert ledger.claim([delivery.pk], owner="task-a") == [delivery.pk]
    assert ledger.claim([delivery.pk], owner="task-b") == []
    # The same task, redelivered after its worker died, takes its rows back at once.
    assert ledger.claim([delivery.pk], owner="task-a") == [delivery.pk]
    Delivery.objects.filter(pk=delivery.pk).update(leased_until=timezone.now())
    assert ledger.claim([delivery.pk], owner="task-b") == [delivery.pk]
    assert Delivery.objects.get(pk=delivery.pk).attempts == 3


def test_a_delivery_is_marked_sent_only_once(org, incident):
    subscriber = EmailSubscriberFactory(organization=org)
    event = NotificationEventFactory(**opened(incident))
    delivery = Delivery.objects.create(
        organization=org, event=event, subscriber=subscriber, channel="email"
    )

    assert ledger.mark_sent(delivery.pk) is True
    assert ledger.mark_sent(delivery.pk) is False


def test_one_delivery_row_per_event_and_subscriber(org, incident):
    from django.db import IntegrityError, transaction

    subscriber = EmailSubscriberFactory(organization=org)
    event = NotificationEventFactory(**opened(incident))
    Delivery.objects.create(organization=org, event=event, subscriber=subscriber, channel="email")
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(
            organization=org, event=event, subscriber=subscriber, channel="email"
        )


def test_a_batch_out_of_time_hands_the_rest_to_a_new_task(org, incident, publish, settings):
    settings.NOTIFICATIONS_BATCH_TIME_BUDGET = 0
    EmailSubscriberFactory.create_batch(3, organization=org)
    event = publish(**opened(incident))

    assert len(mail.outbox) == 3
    assert set(event.deliveries.values_list("attempts", flat=True)) == {1}


def test_a_mail_server_outage_schedules_retries(org, incident, publish, monkeypatch):
    from django.core.mail.backends.locmem import EmailBackend

    def refuse(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    EmailSubscriberFactory.create_batch(2, organization=org)
    event = publish(**opened(incident))

    rows = list(event.deliveries.all())
    assert {d.status for d in rows} == {Status.PENDING}
    assert all(d.next_attempt_at > timezone.now() + timedelta(seconds=20) for d in rows)
    assert all("Connection unexpectedly closed" in d.last_error for d in rows)


def test_a_refused_address_fails_without_retry(org, incident, publish, monkeypatch):
    from django.core.mail.backends.locmem import EmailBackend

    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused({messages[0].to[0]: (550, b"No such user")})

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    EmailSubscriberFactory(organization=org)
    event = publish(**opened(incident))

    assert event.deliveries.get().status == Status.FAILED


def test_someone_who_unsubscribed_before_the_send_is_skipped(org, incident, monkeypatch):
    from apps.notifications import tasks

    subscriber = EmailSubscriberFactory(organization=org)
    monkeypatch.setattr(tasks.send_email_batch, "apply_async", lambda *a, **k: None)
    event = NotificationEventFactory(**opened(incident))
    services.fan_out(event.pk)
    services.unsubscribe(subscriber)
    monkeypatch.undo()
    tasks.send_email_batch.apply(args=[list(event.deliveries.values_list("id", flat=True))])

    assert mail.outbox == []
    assert event.deliveries.get().status == Status.SKIPPED


def test_a_delivery_whose_batch_keeps_dying_is_given_up(org, incident):
    subscriber = EmailSubscriberFactory(organization=org)
    event = NotificationEventFactory(**opened(incident))
    delivery = Delivery.objects.create(
        organization=org,
        event=event,
        subscriber=subscriber,
        channel="email",
        attempts=ledger.MAX_CLAIMS,
    )

    assert ledger.claim([delivery.pk], owner="task-a") == []
    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert "Gave up" in delivery.last_error


def test_staff_see_counts_and_can_retry_failures(
    org, incident, publish, owner, loopback_hooks, django_capture_on_commit_callbacks
):
    with http_receiver() as hooks:
        hooks.statuses = [400, 200]
        WebhookSubscriberFactory(organization=org, url=hooks.url)
        EmailSubscriberFactory(organization=org)
        event = publish(**opened(incident))
        before = services.delivery_counts(event)
        with django_capture_on_commit_callbacks(execute=True):
            retried = services.retry_failed_deliveries(event, actor=member(owner))

    assert before == {"pending": 0, "sent": 1, "failed": 1, "skipped": 0}
    assert retried == 1
    assert services.delivery_counts(event) == {"pending": 0, "sent": 2, "failed": 0, "skipped": 0}
    assert len(hooks.requests) == 2


def test_one_message_that_cannot_be_built_does_not_hold_up_the_batch(
    org, incident, publish, monkeypatch
):
    from apps.notifications.channels.email import EventMail

    broken = EmailSubscriberFactory(organization=org, email="broken@example.com")
    others = EmailSubscriberFactory.create_batch(2, organization=org)
    real_message = EventMail.message

    def message(self, subscriber, connection=None):
        if subscriber.pk == broken.pk:
            raise ValueError("cannot build this one")
        return real_message(self, subscriber, connection)

    monkeypatch.setattr(EventMail, "message", message)
    event = publish(**opened(incident))

    assert sorted(m.to[0] for m in mail.outbox) == sorted(s.email for s in others)
    failed = event.deliveries.get(subscriber=broken)
    assert failed.status == Status.PENDING
    assert "cannot build this one" in failed.last_error
