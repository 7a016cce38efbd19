"""Factories for subscribers and outbox events: EmailSubscriberFactory(organization=org)."""

from __future__ import annotations

import factory
from django.utils import timezone

from apps.incidents.notifications import EventKind
from apps.incidents.notifications import snapshot as incident_snapshot
from apps.notifications.models import Delivery, NotificationEvent, Subscriber
from apps.notifications.pipeline import enqueue_event_on_commit
from tests.factories import OrganizationFactory


class EmailSubscriberFactory(factory.django.DjangoModelFactory):
    """A confirmed email subscriber to every component (pass confirmed_at=None for pending)."""

    class Meta:
        model = Subscriber
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    channel = Subscriber.Channel.EMAIL
    email = factory.Sequence(lambda n: f"reader{n}@example.com")
    confirmed_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def components(self, create, extracted, **kwargs):
        if create and extracted:
            self.components.set(extracted)


class WebhookSubscriberFactory(EmailSubscriberFactory):
    channel = Subscriber.Channel.WEBHOOK
    url = factory.Sequence(lambda n: f"https://hooks{n}.example.com/candor")
    email = factory.Sequence(lambda n: f"ops{n}@example.com")


class SlackSubscriberFactory(EmailSubscriberFactory):
    channel = Subscriber.Channel.SLACK
    url = factory.Sequence(lambda n: f"https://hooks.slack.com/services/T0/B0/{n:08d}")
    email = ""


def _snapshot(event) -> dict:
    """The snapshot apps.incidents and apps.status write for these objects (plus `data`)."""
    if event.component is not None:
        facts = {
            "component": {"id": event.component.public_id, "name": event.component.display_name},
            **event.data,
        }
        if event.incident is not None:
            facts["within"] = {"type": "incidents.incident", "id": event.incident.public_id}
            facts["incident"] = incident_snapshot(event.incident)["incident"]
        return facts
    if event.incident is not None:
        return incident_snapshot(event.incident, event.update, **event.data)
    return dict(event.data)


def _subject(event) -> tuple[str, str]:
    if event.component is not None:
        return "status.component", event.component.public_id
    if event.incident is not None:
        return "incidents.incident", event.incident.public_id
    return "", ""


class NotificationEventFactory(factory.django.DjangoModelFactory):
    """An outbox row as apps.notifications.pipeline.emit writes it, fanned out on commit like
    one: pass `incident=` (and `update=`) or `component=` (and `data=` for the kind's facts)."""

    class Meta:
        model = NotificationEvent

    class Params:
        incident = None
        update = None
        component = None
        data = factory.LazyFunction(dict)

    organization = factory.SubFactory(OrganizationFactory)
    kind = EventKind.INCIDENT_OPENED
    subject_type = factory.LazyAttribute(lambda o: _subject(o)[0])
    subject_id = factory.LazyAttribute(lambda o: _subject(o)[1])
    snapshot = factory.LazyAttribute(_snapshot)
    component_ids = factory.LazyFunction(list)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        event = super()._create(model_class, *args, **kwargs)
        enqueue_event_on_commit(event)
        return event


class DeliveryFactory(factory.django.DjangoModelFactory):
    """A delivery row as the fan-out writes it: DeliveryFactory(event=..., subscriber=...)."""

    class Meta:
        model = Delivery

    event = factory.SubFactory(NotificationEventFactory)
    subscriber = factory.SubFactory(
        EmailSubscriberFactory, organization=factory.SelfAttribute("..event.organization")
    )
    organization = factory.SelfAttribute("event.organization")
    channel = factory.SelfAttribute("subscriber.channel")
    status = Delivery.Status.SENT
