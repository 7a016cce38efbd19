from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests.organizations.factories import AuditEntryFactory

URL = "/api/v1/audit-log/"
JSON = "application/json"


def test_it_lists_the_organizations_entries_newest_first(api, api_key, org):
    AuditEntryFactory(organization=org, action="incident.open")
    AuditEntryFactory(organization=org, action="incident.resolve")

    rows = api(api_key).get(URL).json()["results"]

    assert [row["action"] for row in rows] == ["incident.resolve", "incident.open"]
    assert rows[0]["actor"] == "alice@acme.test"
    assert set(rows[0]) == {
        "action",
        "actor",
        "target_type",
        "target_id",
        "target_label",
        "ip_address",
        "data",
        "created_at",
    }


def test_api_writes_are_audited_with_the_key_as_actor(api, api_key):
    client = api(api_key)
    client.post("/api/v1/component-groups/", {"name": "EU"}, content_type=JSON)

    [row] = client.get(URL).json()["results"]

    assert row["action"] == "component_group.create"
    assert row["actor"] == f"API key “Deploy script” ({api_key.prefix}…)"


def test_filters_by_action_and_date_range(api, api_key, org):
    now = timezone.now()
    AuditEntryFactory(organization=org, action="incident.open", created_at=now - timedelta(days=3))
    AuditEntryFactory(organization=org, action="incident.resolve", created_at=now)
    AuditEntryFactory(organization=org, action="component.update", created_at=now)
    client = api(api_key)
    since = (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")

    exact = client.get(URL, {"action": "incident.open"}).json()["results"]
    prefix = client.get(URL, {"action": "incident."}).json()["results"]
    recent = client.get(URL, {"created_after": since}).json()["results"]

    assert [row["action"] for row in exact] == ["incident.open"]
    assert {row["action"] for row in prefix} == {"incident.open", "incident.resolve"}
    assert {row["action"] for row in recent} == {"incident.resolve", "component.update"}


def test_an_empty_date_range_matches_nothing(api, api_key, org):
    AuditEntryFactory(organization=org)

    response = api(api_key).get(
        URL, {"created_after": "2026-02-01T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"}
    )

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_it_is_read_only(api, api_key):
    response = api(api_key).post(URL, {"action": "x"}, content_type=JSON)

    assert response.status_code == 405


def test_a_read_only_key_can_read_it(api, read_only_key, org):
    AuditEntryFactory(organization=org)

    assert len(api(read_only_key).get(URL).json()["results"]) == 1


def test_another_organizations_key_sees_none_of_its_entries(api, other_api_key, org):
    AuditEntryFactory(organization=org)

    assert api(other_api_key).get(URL).json()["results"] == []


def test_listing_50_entries_takes_a_constant_number_of_queries(
    api, api_key, org, django_assert_max_num_queries
):
    AuditEntryFactory.create_batch(50, organization=org)
    client = api(api_key)

    with django_assert_max_num_queries(3):
        response = client.get(URL)

    assert len(response.json()["results"]) == 50
