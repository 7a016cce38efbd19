from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.incidents.models import Incident, IncidentUpdate
from apps.notifications.models import NotificationEvent
from apps.organizations.models import AuditEntry
from apps.status.models import Component
from tests.factories import (
    ComponentFactory,
    IncidentFactory,
    IncidentUpdateFactory,
    MaintenanceFactory,
)

URL = "/api/v1/incidents/"
JSON = "application/json"


def detail(incident) -> str:
    return f"{URL}{incident.public_id}/"


def test_it_works_create_retrieve_update_list_delete(api, api_key, org):
    api_component = ComponentFactory(organization=org)
    client = api(api_key)
    # A promise is a time in the coming week (further away is refused).
    in_two_hours = (timezone.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")

    created = client.post(
        URL,
        {
            "name": "Elevated API errors",
            "status": "investigating",
            "body": "We are looking into errors on the API.",
            "components": {api_component.public_id: "partial_outage"},
            "deliver_notifications": False,
            "next_update_due": in_two_hours,
        },
        content_type=JSON,
    )
    incident_id = created.json()["id"]
    fetched = client.get(f"{URL}{incident_id}/")
    changed = client.patch(
        f"{URL}{incident_id}/", {"name": "API errors", "impact": "critical"}, content_type=JSON
    )
    listed = client.get(URL)
    deleted = client.delete(f"{URL}{incident_id}/")

    assert created.status_code == 201
    body = fetched.json()
    assert body["status"] == "investigating"
    assert body["impact"] == "major"
    assert body["next_update_due"] == in_two_hours
    assert body["components"] == [
        {"id": api_component.public_id, "name": api_component.name, "status": "partial_outage"}
    ]
    [update] = body["incident_updates"]
    assert update["body"] == "We are looking into errors on the API."
    assert update["deliver_notifications"] is False
    assert update["incident_id"] == incident_id
    assert update["affected_components"][0]["new_status"] == "partial_outage"
    assert changed.json()["name"] == "API errors"
    assert changed.json()["impact"] == "critical"
    assert changed.json()["impact_override"] is True
    assert [row["id"] for row in listed.json()["results"]] == [incident_id]
    assert deleted.status_code == 204
    assert Incident.objects.for_org(org).count() == 0
    assert AuditEntry.objects.filter(action="incident.delete").count() == 1


def test_the_body_defaults_to_the_standard_text(api, api_key):
    response = api(api_key).post(URL, {"name": "Slow pages"}, content_type=JSON)

    update = response.json()["incident_updates"][0]
    assert update["body"] == "We are currently investigating this issue."


def test_updates_move_the_incident_and_its_components(api, api_key, org):
    component = ComponentFactory(organization=org)
    client = api(api_key)
    incident_id = client.post(URL, {"name": "Outage"}, content_type=JSON).json()["id"]

    posted = client.post(
        f"{URL}{incident_id}/updates/",
        {
            "status": "identified",
            "body": "Found it.",
            "components": {component.public_id: "major_outage"},
        },
        content_type=JSON,
    )
    listed = client.get(f"{URL}{incident_id}/updates/")
    incident = client.get(f"{URL}{incident_id}/").json()

    assert posted.status_code == 201
    assert posted.json()["status"] == "identified"
    assert [u["status"] for u in listed.json()] == ["identified", "investigating"]
    assert incident["status"] == "identified"
    assert incident["impact"] == "critical"
    assert Component.objects.get(pk=component.pk).status == "major_outage"


def test_an_update_can_be_read_and_corrected(api, api_key, org):
    incident = IncidentFactory(organization=org)
    update = IncidentUpdateFactory(incident=incident, body="Typo")
    url = f"{detail(incident)}updates/{update.public_id}/"
    client = api(api_key)

    fetched = client.get(url)
    corrected = client.patch(url, {"body": "Fixed text"}, content_type=JSON)

    assert fetched.json()["body"] == "Typo"
    assert corrected.json()["body"] == "Fixed text"
    assert update.revisions.count() == 1


def test_an_update_of_another_incident_is_a_404(api, api_key, org):
    incident = IncidentFactory(organization=org)
    other_update = IncidentUpdateFactory(incident=IncidentFactory(organization=org))

    response = api(api_key).get(f"{detail(incident)}updates/{other_update.public_id}/")

    assert response.status_code == 404


def test_resolve_and_reopen(api, api_key, org):
    component = ComponentFactory(organization=org)
    client = api(api_key)
    incident_id = client.post(
        URL,
        {"name": "Outage", "components": {component.public_id: "major_outage"}},
        content_type=JSON,
    ).json()["id"]

    resolved = client.post(f"{URL}{incident_id}/resolve/", {}, content_type=JSON)
    component_after_resolve = Component.objects.get(pk=component.pk).status
    reopened = client.post(
        f"{URL}{incident_id}/reopen/", {"status": "identified"}, content_type=JSON
    )

    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolved_at"] is not None
    assert component_after_resolve == "operational"
    assert reopened.json()["status"] == "identified"
    assert reopened.json()["resolved_at"] is None


def test_a_service_refusal_is_a_400_with_its_message(api, api_key, org):
    incident = IncidentFactory(organization=org, status="resolved")

    response = api(api_key).post(
        f"{detail(incident)}updates/", {"status": "monitoring", "body": "x"}, content_type=JSON
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "This incident is resolved. Reopen it to post another update."
    }
    assert IncidentUpdate.objects.filter(incident=incident).count() == 0


def test_a_component_of_another_organization_is_a_400_naming_it_and_nothing_is_written(
    api, api_key, org, other_org
):
    mine = ComponentFactory(organization=org)
    theirs = ComponentFactory(organization=other_org)
    client = api(api_key)

    response = client.post(
        URL,
        {
            "name": "Outage",
            "components": {mine.public_id: "major_outage", theirs.public_id: "major_outage"},
        },
        content_type=JSON,
    )

    assert response.status_code == 400
    assert theirs.public_id in response.json()["components"][0]
    assert mine.public_id not in response.json()["components"][0]
    assert Incident.objects.count() == 0
    assert NotificationEvent.objects.count() == 0
    assert Component.objects.get(pk=mine.pk).status == "operational"
    assert Component.objects.get(pk=theirs.pk).status == "operational"


def test_bad_enums_are_400s_naming_the_field(api, api_key, org):
    component = ComponentFactory(organization=org)
    client = api(api_key)

    bad_status = client.post(URL, {"name": "x", "status": "scheduled"}, content_type=JSON)
    bad_impact = client.post(URL, {"name": "x", "impact": "apocalyptic"}, content_type=JSON)
    bad_component_status = client.post(
        URL, {"name": "x", "components": {component.public_id: "on_fire"}}, content_type=JSON
    )

    assert bad_status.status_code == bad_impact.status_code == 400
    assert "status" in bad_status.json()
    assert "impact" in bad_impact.json()
    assert bad_component_status.status_code == 400
    assert "components" in bad_component_status.json()
    assert Incident.objects.count() == 0


def test_a_read_only_key_cannot_write(api, read_only_key, org):
    incident = IncidentFactory(organization=org)
    client = api(read_only_key)

    responses = [
        client.post(URL, {"name": "x"}, content_type=JSON),
        client.patch(detail(incident), {"name": "x"}, content_type=JSON),
        client.post(f"{detail(incident)}updates/", {"status": "identified"}, content_type=JSON),
        client.post(f"{detail(incident)}resolve/", {}, content_type=JSON),
        client.delete(detail(incident)),
    ]

    assert {r.status_code for r in responses} == {403}
    assert Incident.objects.get(pk=incident.pk).status == "investigating"


def test_another_organizations_key_gets_404_and_an_empty_list(api, other_api_key, org):
    incident = IncidentFactory(organization=org)
    client = api(other_api_key)

    assert client.get(detail(incident)).status_code == 404
    assert client.post(f"{detail(incident)}resolve/", {}, content_type=JSON).status_code == 404
    assert client.get(f"{detail(incident)}updates/").status_code == 404
    assert client.delete(detail(incident)).status_code == 404
    assert client.get(URL).json()["results"] == []
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_a_maintenance_is_not_an_incident(api, api_key, org):
    maintenance = MaintenanceFactory(organization=org)
    client = api(api_key)

    assert client.get(detail(maintenance)).status_code == 404
    assert client.get(URL).json()["results"] == []


def test_filters_by_status_component_and_date(api, api_key, org):
    component = ComponentFactory(organization=org)
    open_one = IncidentFactory(organization=org)
    open_one.components.add(component)
    IncidentFactory(organization=org, status="resolved")
    client = api(api_key)

    by_status = client.get(f"{URL}?status=investigating").json()["results"]
    by_component = client.get(f"{URL}?component={component.public_id}").json()["results"]
    old = client.get(f"{URL}?created_before=2000-01-01T00:00:00Z").json()["results"]

    assert [row["id"] for row in by_status] == [open_one.public_id]
    assert [row["id"] for row in by_component] == [open_one.public_id]
    assert old == []


def test_listing_50_incidents_takes_a_constant_number_of_queries(
    api, api_key, org, django_assert_max_num_queries
):
    component = ComponentFactory(organization=org)
    for incident in IncidentFactory.create_batch(50, organization=org):
        IncidentUpdateFactory(incident=incident)
        incident.components.add(component)
    client = api(api_key)

    with django_assert_max_num_queries(5):
        response = client.get(URL)

    assert len(response.json()["results"]) == 50
