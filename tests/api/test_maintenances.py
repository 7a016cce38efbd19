from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.incidents.models import Incident
from apps.status.models import Component
from tests.factories import (
    ComponentFactory,
    IncidentFactory,
    IncidentUpdateFactory,
    MaintenanceFactory,
)

URL = "/api/v1/maintenances/"
JSON = "application/json"


def detail(maintenance) -> str:
    return f"{URL}{maintenance.public_id}/"


def window(hours_from_now: int = 24, length: int = 2) -> dict[str, str]:
    start = timezone.now() + timedelta(hours=hours_from_now)
    return {
        "scheduled_for": start.isoformat(),
        "scheduled_until": (start + timedelta(hours=length)).isoformat(),
    }


def test_it_works_create_retrieve_extend_list_delete(api, api_key, org):
    database = ComponentFactory(organization=org)
    client = api(api_key)

    created = client.post(
        URL,
        {
            "name": "Database upgrade",
            "components": [database.public_id],
            "auto_start": False,
            "auto_complete": False,
            "reminder_hours": 2,
            **window(),
        },
        content_type=JSON,
    )
    maintenance_id = created.json()["id"]
    fetched = client.get(f"{URL}{maintenance_id}/")
    new_end = timezone.now() + timedelta(hours=30)
    extended = client.patch(
        f"{URL}{maintenance_id}/",
        {"name": "Database upgrade (v16)", "scheduled_until": new_end.isoformat()},
        content_type=JSON,
    )
    listed = client.get(URL)
    deleted = client.delete(f"{URL}{maintenance_id}/")

    assert created.status_code == 201
    body = fetched.json()
    assert body["status"] == "scheduled"
    assert body["impact"] == "maintenance"
    assert body["auto_start"] is False
    assert body["reminder_hours"] == 2
    assert [c["id"] for c in body["components"]] == [database.public_id]
    assert body["incident_updates"][0]["body"] == (
        "We will be undergoing scheduled maintenance during this time."
    )
    assert extended.status_code == 200
    assert extended.json()["name"] == "Database upgrade (v16)"
    assert len(extended.json()["incident_updates"]) == 2
    assert [row["id"] for row in listed.json()["results"]] == [maintenance_id]
    assert deleted.status_code == 204
    assert Incident.objects.for_org(org).count() == 0


def test_start_verify_complete(api, api_key, org):
    component = ComponentFactory(organization=org)
    maintenance = MaintenanceFactory(organization=org)
    maintenance.components.add(component)
    IncidentUpdateFactory(incident=maintenance)
    client = api(api_key)

    started = client.post(f"{detail(maintenance)}start/", {}, content_type=JSON)
    during = Component.objects.get(pk=component.pk).status
    verifying = client.post(
        f"{detail(maintenance)}verify/", {"body": "Checking."}, content_type=JSON
    )
    completed = client.post(f"{detail(maintenance)}complete/", {}, content_type=JSON)

    assert started.json()["status"] == "in_progress"
    assert during == "under_maintenance"
    assert verifying.json()["status"] == "verifying"
    assert verifying.json()["incident_updates"][0]["body"] == "Checking."
    assert completed.json()["status"] == "completed"
    assert Component.objects.get(pk=component.pk).status == "operational"


def test_cancel_before_it_starts(api, api_key, org):
    maintenance = MaintenanceFactory(organization=org)
    IncidentUpdateFactory(incident=maintenance)

    response = api(api_key).post(f"{detail(maintenance)}cancel/", {}, content_type=JSON)

    assert response.json()["status"] == "completed"
    assert "cancelled" in response.json()["incident_updates"][0]["body"]


def test_an_invalid_transition_is_a_400_with_the_services_message(api, api_key, org):
    maintenance = MaintenanceFactory(organization=org)

    response = api(api_key).post(f"{detail(maintenance)}complete/", {}, content_type=JSON)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("Only a maintenance in progress")
    assert Incident.objects.get(pk=maintenance.pk).status == "scheduled"


def test_updates_post_messages_and_move_the_status(api, api_key, org):
    maintenance = MaintenanceFactory(organization=org)
    IncidentUpdateFactory(incident=maintenance)
    client = api(api_key)
    url = f"{detail(maintenance)}updates/"

    message = client.post(url, {"body": "Still on schedule."}, content_type=JSON)
    moved = client.post(url, {"status": "in_progress", "body": "Starting."}, content_type=JSON)
    listed = client.get(url)

    assert message.status_code == 201
    assert message.json()["status"] == "scheduled"
    assert moved.json()["status"] == "in_progress"
    assert [u["status"] for u in listed.json()] == ["in_progress", "scheduled", "scheduled"]


def test_an_incident_status_on_a_maintenance_update_is_a_400(api, api_key, org):
    maintenance = MaintenanceFactory(organization=org)

    response = api(api_key).post(
        f"{detail(maintenance)}updates/", {"status": "resolved", "body": "x"}, content_type=JSON
    )

    assert response.status_code == 400
    assert "status" in response.json()


def test_a_window_that_ends_before_it_starts_is_a_400(api, api_key, org):
    start = timezone.now() + timedelta(hours=5)
    response = api(api_key).post(
        URL,
        {
            "name": "Backwards",
            "scheduled_for": start.isoformat(),
            "scheduled_until": (start - timedelta(hours=1)).isoformat(),
        },
        content_type=JSON,
    )

    assert response.status_code == 400
    assert "scheduled_until" in response.json()
    assert Incident.objects.count() == 0


def test_a_component_of_another_organization_is_a_400_naming_it_and_nothing_is_written(
    api, api_key, org, other_org
):
    theirs = ComponentFactory(organization=other_org)

    response = api(api_key).post(
        URL, {"name": "Upgrade", "components": [theirs.public_id], **window()}, content_type=JSON
    )

    assert response.status_code == 400
    assert theirs.public_id in response.json()["components"][0]
    assert Incident.objects.count() == 0


def test_bad_enum_and_range_values_are_400s_naming_the_field(api, api_key):
    client = api(api_key)

    too_many_hours = client.post(
        URL, {"name": "x", "reminder_hours": 1000, **window()}, content_type=JSON
    )
    bad_filter = client.get(f"{URL}?status=investigating")

    assert too_many_hours.status_code == 400
    assert "reminder_hours" in too_many_hours.json()
    assert bad_filter.status_code == 400
    assert "status" in bad_filter.json()


def test_a_read_only_key_cannot_write(api, read_only_key, org):
    maintenance = MaintenanceFactory(organization=org)
    client = api(read_only_key)

    responses = [
        client.post(URL, {"name": "x", **window()}, content_type=JSON),
        client.post(f"{detail(maintenance)}start/", {}, content_type=JSON),
        client.patch(detail(maintenance), {"name": "x"}, content_type=JSON),
        client.delete(detail(maintenance)),
    ]

    assert {r.status_code for r in responses} == {403}
    assert Incident.objects.get(pk=maintenance.pk).status == "scheduled"


def test_another_organizations_key_gets_404_and_an_empty_list(api, other_api_key, org):
    maintenance = MaintenanceFactory(organization=org)
    client = api(other_api_key)

    assert client.get(detail(maintenance)).status_code == 404
    assert client.post(f"{detail(maintenance)}start/", {}, content_type=JSON).status_code == 404
    assert client.get(URL).json()["results"] == []
    assert Incident.objects.get(pk=maintenance.pk).status == "scheduled"


def test_an_incident_is_not_a_maintenance(api, api_key, org):
    incident = IncidentFactory(organization=org)

    assert api(api_key).post(f"{detail(incident)}start/", {}, content_type=JSON).status_code == 404


def test_filters_by_window(api, api_key, org):
    soon = MaintenanceFactory(organization=org, scheduled_for=timezone.now() + timedelta(hours=1))
    MaintenanceFactory(organization=org, scheduled_for=timezone.now() + timedelta(days=30))
    before = (timezone.now() + timedelta(days=1)).isoformat().replace("+00:00", "Z")

    rows = api(api_key).get(URL, {"scheduled_before": before}).json()["results"]

    assert [row["id"] for row in rows] == [soon.public_id]


def test_listing_50_maintenances_takes_a_constant_number_of_queries(
    api, api_key, org, django_assert_max_num_queries
):
    component = ComponentFactory(organization=org)
    for maintenance in MaintenanceFactory.create_batch(50, organization=org):
        IncidentUpdateFactory(incident=maintenance)
        maintenance.components.add(component)
    client = api(api_key)

    with django_assert_max_num_queries(5):
        response = client.get(URL)

    assert len(response.json()["results"]) == 50


def test_a_refused_extension_keeps_the_old_name_too(api, api_key, org):
    maintenance = MaintenanceFactory(organization=org, name="Upgrade")
    IncidentUpdateFactory(incident=maintenance)
    earlier = maintenance.scheduled_until - timedelta(minutes=30)

    response = api(api_key).patch(
        detail(maintenance),
        {"name": "Renamed", "scheduled_until": earlier.isoformat()},
        content_type=JSON,
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "The new end must be later than the current end."
    assert Incident.objects.get(pk=maintenance.pk).name == "Upgrade"
