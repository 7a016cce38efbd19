from __future__ import annotations

from apps.organizations.models import AuditEntry
from apps.status.models import Component, ComponentStatusChange
from tests.factories import ComponentFactory, ComponentGroupFactory

URL = "/api/v1/components/"
JSON = "application/json"


def detail(component) -> str:
    return f"{URL}{component.public_id}/"


def test_it_works_create_retrieve_update_list_delete(api, api_key, org):
    client = api(api_key)
    group = ComponentGroupFactory(organization=org)

    created = client.post(
        URL,
        {"name": "API", "description": "Public REST API", "group_id": group.public_id},
        content_type=JSON,
    )
    component_id = created.json()["id"]
    fetched = client.get(f"{URL}{component_id}/")
    changed = client.patch(
        f"{URL}{component_id}/",
        {"status": "partial_outage", "showcase": False, "start_date": "2026-01-31"},
        content_type=JSON,
    )
    listed = client.get(URL)
    deleted = client.delete(f"{URL}{component_id}/")

    assert created.status_code == 201
    assert fetched.status_code == 200
    assert fetched.json() == created.json()
    assert fetched.json()["group_id"] == group.public_id
    assert fetched.json()["status"] == "operational"
    assert fetched.json()["position"] == 1
    assert changed.status_code == 200
    assert changed.json()["status"] == "partial_outage"
    assert changed.json()["showcase"] is False
    assert changed.json()["start_date"] == "2026-01-31"
    assert [row["id"] for row in listed.json()["results"]] == [component_id]
    assert deleted.status_code == 204
    assert Component.objects.for_org(org).count() == 0


def test_created_at_is_iso_8601_with_a_timezone(api, api_key, org):
    ComponentFactory(organization=org)

    row = api(api_key).get(URL).json()["results"][0]

    assert row["created_at"].endswith("Z")
    assert "T" in row["created_at"]


def test_a_status_change_goes_through_the_status_service(api, api_key, org):
    component = ComponentFactory(organization=org)

    api(api_key).patch(detail(component), {"status": "major_outage"}, content_type=JSON)

    change = ComponentStatusChange.objects.get(component=component)
    assert (change.from_status, change.to_status) == ("operational", "major_outage")
    assert change.actor_label.startswith("API key “Deploy script”")
    assert AuditEntry.objects.filter(action="component.status_change").count() == 1


def test_creating_with_a_status_records_the_change(api, api_key, org):
    response = api(api_key).post(
        URL, {"name": "CDN", "status": "degraded_performance"}, content_type=JSON
    )

    assert response.json()["status"] == "degraded_performance"
    assert ComponentStatusChange.objects.filter(to_status="degraded_performance").count() == 1


def test_put_replaces_the_writable_fields(api, api_key, org):
    component = ComponentFactory(organization=org, description="old")

    response = api(api_key).put(detail(component), {"name": "Renamed"}, content_type=JSON)

    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"


def test_a_read_only_key_cannot_write(api, read_only_key, org):
    component = ComponentFactory(organization=org)
    client = api(read_only_key)

    responses = [
        client.post(URL, {"name": "New"}, content_type=JSON),
        client.patch(detail(component), {"name": "x"}, content_type=JSON),
        client.delete(detail(component)),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert responses[0].json() == {
        "detail": "This API key is read-only; use a key with write scope."
    }
    assert client.get(detail(component)).status_code == 200
    assert Component.objects.for_org(org).count() == 1


def test_another_organizations_key_gets_404_and_an_empty_list(api, other_api_key, org):
    component = ComponentFactory(organization=org)
    client = api(other_api_key)

    assert client.get(detail(component)).status_code == 404
    assert client.patch(detail(component), {"name": "x"}, content_type=JSON).status_code == 404
    assert client.delete(detail(component)).status_code == 404
    assert client.get(URL).json()["results"] == []
    assert Component.objects.get(pk=component.pk).name == component.name


def test_a_group_of_another_organization_in_the_body_is_a_400_and_nothing_is_written(
    api, api_key, org, other_org
):
    foreign = ComponentGroupFactory(organization=other_org)
    component = ComponentFactory(organization=org)
    client = api(api_key)

    created = client.post(URL, {"name": "API", "group_id": foreign.public_id}, content_type=JSON)
    moved = client.patch(detail(component), {"group_id": foreign.public_id}, content_type=JSON)

    assert created.status_code == 400
    assert foreign.public_id in created.json()["group_id"][0]
    assert foreign.public_id in created.json()["detail"]
    assert moved.status_code == 400
    assert Component.objects.for_org(org).count() == 1
    assert Component.objects.get(pk=component.pk).group_id is None


def test_a_bad_status_is_a_400_naming_the_field(api, api_key, org):
    response = api(api_key).post(URL, {"name": "API", "status": "on_fire"}, content_type=JSON)

    assert response.status_code == 400
    assert "status" in response.json()
    assert response.json()["detail"].startswith("status:")
    assert Component.objects.for_org(org).count() == 0


def test_filters_by_status_group_and_date(api, api_key, org):
    group = ComponentGroupFactory(organization=org)
    down = ComponentFactory(organization=org, status="major_outage", group=group)
    ComponentFactory(organization=org)
    client = api(api_key)

    by_status = client.get(f"{URL}?status=major_outage&status=partial_outage").json()
    by_group = client.get(f"{URL}?group_id={group.public_id}").json()
    future = client.get(f"{URL}?created_after=2999-01-01T00:00:00Z").json()

    assert [row["id"] for row in by_status["results"]] == [down.public_id]
    assert [row["id"] for row in by_group["results"]] == [down.public_id]
    assert future["results"] == []


def test_ordering_by_name(api, api_key, org):
    ComponentFactory(organization=org, name="b")
    ComponentFactory(organization=org, name="a")
    ComponentFactory(organization=org, name="c")

    rows = api(api_key).get(f"{URL}?ordering=-name").json()["results"]

    assert [row["name"] for row in rows] == ["c", "b", "a"]


def test_a_bad_filter_value_is_a_400_naming_the_parameter(api, api_key):
    response = api(api_key).get(f"{URL}?ordering=secret_field&created_before=yesterday")

    assert response.status_code == 400
    assert set(response.json()) == {"detail", "ordering", "created_before"}


def test_listing_50_components_takes_a_constant_number_of_queries(
    api, api_key, org, django_assert_max_num_queries
):
    group = ComponentGroupFactory(organization=org)
    ComponentFactory.create_batch(50, organization=org, group=group)
    client = api(api_key)

    with django_assert_max_num_queries(4):
        response = client.get(URL)

    assert len(response.json()["results"]) == 50


def test_setting_the_position_moves_it_among_its_siblings(api, api_key, org):
    group = ComponentGroupFactory(organization=org, position=1)
    first = ComponentFactory(organization=org, position=2)
    second = ComponentFactory(organization=org, position=3)
    client = api(api_key)

    response = client.patch(detail(second), {"position": 1}, content_type=JSON)

    assert response.json()["position"] == 1
    positions = {
        row["id"]: row["position"]
        for row in client.get(f"{URL}?ordering=position").json()["results"]
    }
    assert positions == {second.public_id: 1, first.public_id: 3}
    assert client.get(f"/api/v1/component-groups/{group.public_id}/").json()["position"] == 2


def test_a_position_inside_a_group_counts_within_the_group(api, api_key, org):
    group = ComponentGroupFactory(organization=org)
    first = ComponentFactory(organization=org, group=group, position=1)
    client = api(api_key)

    created = client.post(
        URL, {"name": "New", "group_id": group.public_id, "position": 1}, content_type=JSON
    )

    assert created.json()["position"] == 1
    assert client.get(detail(first)).json()["position"] == 2


def test_a_position_past_the_end_puts_it_last(api, api_key, org):
    ComponentFactory(organization=org, position=1)
    component = ComponentFactory(organization=org, position=2)

    response = api(api_key).patch(detail(component), {"position": 99}, content_type=JSON)

    assert response.json()["position"] == 2


def test_a_position_below_one_is_a_400(api, api_key, org):
    component = ComponentFactory(organization=org)

    response = api(api_key).patch(detail(component), {"position": 0}, content_type=JSON)

    assert response.status_code == 400
    assert "position" in response.json()
