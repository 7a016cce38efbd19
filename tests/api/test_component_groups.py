from __future__ import annotations

from apps.status.models import Component, ComponentGroup
from tests.factories import ComponentFactory, ComponentGroupFactory

URL = "/api/v1/component-groups/"
JSON = "application/json"


def detail(group) -> str:
    return f"{URL}{group.public_id}/"


def test_it_works_create_retrieve_update_list_delete(api, api_key, org):
    client = api(api_key)

    created = client.post(URL, {"name": "Europe", "description": "EU region"}, content_type=JSON)
    group_id = created.json()["id"]
    fetched = client.get(f"{URL}{group_id}/")
    changed = client.patch(f"{URL}{group_id}/", {"name": "EU"}, content_type=JSON)
    listed = client.get(URL)
    deleted = client.delete(f"{URL}{group_id}/")

    assert created.status_code == 201
    assert fetched.json() == created.json()
    assert fetched.json()["status"] == "operational"
    assert fetched.json()["components"] == []
    assert changed.json()["name"] == "EU"
    assert changed.json()["description"] == "EU region"
    assert [row["id"] for row in listed.json()["results"]] == [group_id]
    assert deleted.status_code == 204
    assert ComponentGroup.objects.for_org(org).count() == 0


def test_a_group_shows_its_components_and_their_worst_status(api, api_key, org):
    group = ComponentGroupFactory(organization=org)
    first = ComponentFactory(organization=org, group=group, position=1)
    second = ComponentFactory(organization=org, group=group, position=2, status="partial_outage")

    body = api(api_key).get(detail(group)).json()

    assert body["components"] == [first.public_id, second.public_id]
    assert body["status"] == "partial_outage"


def test_deleting_a_group_keeps_its_components(api, api_key, org):
    group = ComponentGroupFactory(organization=org)
    ComponentFactory(organization=org, group=group)

    api(api_key).delete(detail(group))

    assert Component.objects.for_org(org).filter(group__isnull=True).count() == 1


def test_a_read_only_key_cannot_write(api, read_only_key, org):
    group = ComponentGroupFactory(organization=org)
    client = api(read_only_key)

    assert client.post(URL, {"name": "x"}, content_type=JSON).status_code == 403
    assert client.patch(detail(group), {"name": "x"}, content_type=JSON).status_code == 403
    assert client.delete(detail(group)).status_code == 403
    assert ComponentGroup.objects.for_org(org).count() == 1


def test_another_organizations_key_gets_404_and_an_empty_list(api, other_api_key, org):
    group = ComponentGroupFactory(organization=org)
    client = api(other_api_key)

    assert client.get(detail(group)).status_code == 404
    assert client.delete(detail(group)).status_code == 404
    assert client.get(URL).json()["results"] == []
    assert ComponentGroup.objects.for_org(org).count() == 1


def test_read_only_fields_in_the_body_are_a_400_naming_them(api, api_key, org):
    response = api(api_key).post(
        URL, {"name": "x", "status": "major_outage", "colour": "red"}, content_type=JSON
    )

    assert response.status_code == 400
    assert response.json()["status"] == ["This field is read-only."]
    assert response.json()["colour"] == ["Unknown field."]
    assert ComponentGroup.objects.for_org(org).count() == 0


def test_an_empty_name_is_a_400(api, api_key, org):
    response = api(api_key).post(URL, {"name": "  "}, content_type=JSON)

    assert response.status_code == 400
    assert "name" in response.json()


def test_listing_50_groups_takes_a_constant_number_of_queries(
    api, api_key, org, django_assert_max_num_queries
):
    for group in ComponentGroupFactory.create_batch(50, organization=org):
        ComponentFactory(organization=org, group=group)
    client = api(api_key)

    with django_assert_max_num_queries(5):
        response = client.get(URL)

    assert len(response.json()["results"]) == 50


def test_setting_the_position_moves_the_group_at_the_top_level(api, api_key, org):
    loose = ComponentFactory(organization=org, position=1)
    group = ComponentGroupFactory(organization=org, position=2)
    client = api(api_key)

    response = client.patch(detail(group), {"position": 1}, content_type=JSON)

    assert response.json()["position"] == 1
    assert client.get(f"/api/v1/components/{loose.public_id}/").json()["position"] == 2
