"""Fixtures shared by the public read path's tests."""

from __future__ import annotations

import pytest

from apps.organizations.published import publish_version
from tests.factories import ComponentFactory, IncidentFactory, IncidentUpdateFactory


@pytest.fixture
def incident_page(org):
    """Acme's page with a component and an incident in progress, its content version published
    as after any change committed through the services. Returns the incident."""
    ComponentFactory(organization=org, name="API")
    incident = IncidentFactory(organization=org, name="Slow API responses")
    IncidentUpdateFactory(incident=incident, status="investigating", body="Looking into it.")
    publish_version(org.pk, org.content_version)
    return incident
