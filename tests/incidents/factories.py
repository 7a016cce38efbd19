"""Factories for postmortems: PostmortemFactory(incident=resolved_incident, published=True)."""

from __future__ import annotations

import factory
from django.utils import timezone

from apps.incidents.models import ActionItem, IncidentStatus, Postmortem
from tests.factories import IncidentFactory


class PostmortemFactory(factory.django.DjangoModelFactory):
    """A draft on a resolved incident; `published=True` publishes it as the service would
    (published_at set, incident status `postmortem`)."""

    class Meta:
        model = Postmortem
        skip_postgeneration_save = True

    incident = factory.SubFactory(IncidentFactory, status=IncidentStatus.RESOLVED)
    organization = factory.SelfAttribute("incident.organization")
    summary = "Between 10:02 and 10:47 UTC most API requests failed."
    customer_impact = "Everyone using the API could not save changes for 45 minutes."
    cause = "A configuration change sent all traffic to a server that was being restarted."
    resolution = "We rolled the change back and traffic recovered."

    @factory.post_generation
    def published(self, create, extracted, **kwargs):
        if create and extracted:
            self.published_at = timezone.now()
            self.save(update_fields=["published_at"])
            self.incident.status = IncidentStatus.POSTMORTEM
            self.incident.save(update_fields=["status"])


class ActionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActionItem

    postmortem = factory.SubFactory(PostmortemFactory)
    organization = factory.SelfAttribute("postmortem.organization")
    title = factory.Sequence(lambda n: f"Check configuration changes before they ship ({n})")
    position = factory.Sequence(lambda n: n + 1)
