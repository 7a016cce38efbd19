"""A dashboard write racing a delete answers 404, not 500 (the API does the same)."""

from __future__ import annotations

from django.urls import reverse

from apps.incidents import services
from apps.incidents.models import Incident
from tests.factories import IncidentFactory


def test_an_incident_deleted_mid_request_is_a_404(client, editor, org, monkeypatch):
    incident = IncidentFactory(organization=org, status="investigating")
    real = services.resolve_incident

    def deleted_first(target, **kwargs):
        # Another request deletes the incident after this view loaded it.
        Incident.objects.filter(pk=target.pk).delete()
        return real(target, **kwargs)

    monkeypatch.setattr(services, "resolve_incident", deleted_first)
    client.force_login(editor)
    response = client.post(
        reverse("incidents:resolve", args=[org.slug, incident.public_id]),
        {"body": "Fixed.", "notify": "on"},
    )

    assert response.status_code == 404
    assert not Incident.objects.filter(pk=incident.pk).exists()
