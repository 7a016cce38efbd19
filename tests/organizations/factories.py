"""Factories for organization rows the shared tests/factories.py does not cover."""

from __future__ import annotations

import factory

from apps.organizations.models import AuditEntry
from tests.factories import OrganizationFactory


class AuditEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEntry

    organization = factory.SubFactory(OrganizationFactory)
    actor_label = "alice@acme.test"
    action = "component.update"
    target_type = "component"
    target_label = "API"
