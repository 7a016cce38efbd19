"""Factories for subscribers and outbox events: EmailSubscriberFactory(organization=org)."""

from __future__ import annotations

import factory
from django.utils import timezone

from apps.notifications.models import Delivery, NotificationEvent, Subscriber
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


class NotificationEventFactory(factory.django.DjangoModelFactory):
    """An outbox row as apps.incidents.services.emit writes it."""

    class Meta:
        model = NotificationEvent

    organization = factory.SubFactory(OrganizationFactory)
    kind = NotificationEvent.Kind.INCIDENT_OPENED
    incident = None
    update = None
    component_ids = factory.LazyFunction(list)


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
