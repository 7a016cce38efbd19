"""A dashboard write racing a delete answers 404, not 500 (the API does the same); an unrelated
DoesNotExist is a bug and answers 500, not a silent 404."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.http import Http404
from django.urls import reverse

from apps.core.locking import Gone, lock_again
from apps.incidents import services
from apps.incidents.models import Incident, IncidentTemplate
from tests.factories import ComponentFactory, IncidentFactory


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


def test_an_unrelated_does_not_exist_in_a_dashboard_view_is_a_500(client, editor, org, monkeypatch):
    incident = IncidentFactory(organization=org, status="investigating")

    def buggy(target, **kwargs):
        # A bug: a lookup of something the request never named.
        return IncidentTemplate.objects.get(name="no such template")

    monkeypatch.setattr(services, "resolve_incident", buggy)
    client.force_login(editor)
    client.raise_request_exception = False
    response = client.post(
        reverse("incidents:resolve", args=[org.slug, incident.public_id]),
        {"body": "Fixed.", "notify": "on"},
    )

    assert response.status_code == 500


def test_a_missing_id_in_the_url_is_still_a_404(client, editor, org):
    client.force_login(editor)
    response = client.post(
        reverse("incidents:resolve", args=[org.slug, "abcdefghijkl"]),
        {"body": "Fixed.", "notify": "on"},
    )
    assert response.status_code == 404


def test_lock_again_raises_gone_for_a_deleted_row_and_gone_is_a_404(org):
    incident = IncidentFactory(organization=org)
    Incident.objects.filter(pk=incident.pk).delete()
    with pytest.raises(Gone) as gone, transaction.atomic():
        lock_again(Incident.objects, pk=incident.pk)
    assert isinstance(gone.value, Http404)


def test_a_task_skips_a_component_deleted_before_its_lock(org, monkeypatch):
    from apps.status import services as status_services
    from apps.status.models import Component

    kept, deleted = ComponentFactory(organization=org), ComponentFactory(organization=org)
    real = status_services.lock_again

    def deleted_first(queryset, **lookup):
        Component.objects.filter(pk=deleted.pk).delete()
        return real(queryset, **lookup)

    monkeypatch.setattr(status_services, "lock_again", deleted_first)
    assert status_services.close_uptime_days_for(org) == 1
    kept.refresh_from_db()
    assert kept.uptime_accounted_until is not None
