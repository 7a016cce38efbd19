"""Status API v2 contract tests (shared/reference/status-api-v2.md §1 and checklist §7)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from apps.incidents.models import Incident, IncidentUpdate
from apps.organizations.models import Organization
from apps.organizations.published import publish_version
from apps.public import api_v2
from apps.status.models import Component, ComponentGroup, UptimeDay
from tests.factories import (
    ComponentFactory,
    ComponentGroupFactory,
    DomainFactory,
    IncidentFactory,
    IncidentUpdateFactory,
    MaintenanceFactory,
    OrganizationFactory,
)

SCHEMAS = Path(__file__).parent / "schemas"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})$")
ENDPOINTS = {
    "summary.json": "summary.json",
    "status.json": "status.json",
    "components.json": "components.json",
    "incidents.json": "incidents.json",
    "incidents/unresolved.json": "incidents-unresolved.json",
    "scheduled-maintenances.json": "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json": "scheduled-maintenances-upcoming.json",
    "scheduled-maintenances/active.json": "scheduled-maintenances-active.json",
}
HOST = "acme.status.localhost"


def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


REGISTRY = _registry()


def validator(schema_file: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / schema_file).read_text())
    return Draft202012Validator(schema, registry=REGISTRY)


def get_json(client, path: str, **extra) -> dict:
    response = client.get(f"/s/acme/api/v2/{path}", **extra)
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def every_timestamp(data, key: str = ""):
    """(key, value) of every date-time field anywhere in a payload."""
    if isinstance(data, dict):
        for name, value in data.items():
            yield from every_timestamp(value, name)
    elif isinstance(data, list):
        for value in data:
            yield from every_timestamp(value, key)
    elif key.endswith("_at") or key in {"scheduled_for", "scheduled_until"}:
        yield key, data


@pytest.fixture
def page(org):
    """A small page: a group "API" with two children, a top-level component, incidents in
    several states and maintenances in every state."""
    api = ComponentGroupFactory(organization=org, name="API", position=1)
    graphql = ComponentFactory(organization=org, group=api, name="GraphQL", position=1)
    rest = ComponentFactory(
        organization=org, group=api, name="REST", position=2, status="partial_outage"
    )
    website = ComponentFactory(organization=org, name="Website & CDN", position=2)
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    open_incident = IncidentFactory(
        organization=org, name="Errors & timeouts", status="identified", impact="major",
        started_at=now, created_at=now,
    )  # fmt: skip
    open_incident.components.add(rest)
    IncidentUpdateFactory(
        incident=open_incident, status="investigating", display_at=now,
        affected_components=[{"code": rest.public_id, "name": "REST", "old_status": "operational",
                              "new_status": "major_outage"}],
    )  # fmt: skip
    IncidentUpdateFactory(
        incident=open_incident, status="identified", display_at=now + timedelta(minutes=20),
        body="Found it.",
        affected_components=[{"code": rest.public_id, "name": "REST", "old_status": "major_outage",
                              "new_status": "partial_outage"}],
    )  # fmt: skip
    old = now - timedelta(days=3)
    resolved = IncidentFactory(
        organization=org, name="Slow dashboard", status="resolved", started_at=old,
        created_at=old, resolved_at=old + timedelta(hours=1),
    )  # fmt: skip
    IncidentUpdateFactory(incident=resolved, status="resolved", display_at=old)
    maintenances = {}
    for offset, status in enumerate(["verifying", "in_progress", "scheduled", "completed"]):
        start = now + timedelta(days=5 - offset)
        maintenances[status] = MaintenanceFactory(
            organization=org, name=f"Maintenance {status}", status=status,
            scheduled_for=start, scheduled_until=start + timedelta(hours=2),
        )  # fmt: skip
        IncidentUpdateFactory(incident=maintenances[status])
    maintenances["scheduled"].components.add(website)
    return {
        "group": api, "graphql": graphql, "rest": rest, "website": website,
        "open": open_incident, "resolved": resolved, "maintenances": maintenances,
    }  # fmt: skip


# --- contract --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
def test_each_endpoint_matches_its_schema(client, page, path):
    data = get_json(client, path)
    validator(ENDPOINTS[path]).validate(data)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_each_endpoint_matches_its_schema_when_empty(client, org, path):
    data = get_json(client, path)
    validator(ENDPOINTS[path]).validate(data)


def test_schemas_accept_a_real_github_payload():
    """The schemas describe the reference's real 2024 payloads, not just our own output."""
    sample = {
        "page": {"id": "kctbh9vrtdwd", "name": "GitHub", "url": "https://www.githubstatus.com",
                 "time_zone": "Etc/UTC", "updated_at": "2024-09-17T08:08:17.044Z"},
        "components": [{
            "id": "8l4ygp009s5s", "name": "Git Operations", "status": "operational",
            "created_at": "2017-01-31T20:05:05.370Z", "updated_at": "2024-08-27T23:26:32.478Z",
            "position": 1, "description": "Performance of git clones, pulls, pushes",
            "showcase": False, "start_date": None, "group_id": None, "page_id": "kctbh9vrtdwd",
            "group": False, "only_show_if_degraded": False,
        }],
    }  # fmt: skip
    validator("components.json").validate(sample)


def test_top_level_key_order_is_page_collections_status(client, page):
    data = get_json(client, "summary.json")
    assert list(data) == ["page", "components", "incidents", "scheduled_maintenances", "status"]
    assert list(get_json(client, "status.json")) == ["page", "status"]


def test_page_object(client, org, page):
    data = get_json(client, "status.json")
    assert data["page"]["id"] == org.public_id
    assert data["page"]["name"] == "Acme Cloud"
    assert data["page"]["url"] == org.public_url
    assert data["page"]["time_zone"] == "Etc/UTC"


def test_ampersand_is_escaped_like_the_reference(client, page):
    body = client.get("/s/acme/api/v2/summary.json").content.decode()
    assert "Errors \\u0026 timeouts" in body
    assert "&" not in body
    assert json.loads(body)["incidents"][0]["name"] == "Errors & timeouts"


# --- transport -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
def test_served_in_both_routing_modes_with_the_same_body(client, page, path):
    by_path = client.get(f"/s/acme/api/v2/{path}")
    by_host = client.get(f"/api/v2/{path}", HTTP_HOST=HOST)
    assert by_path.status_code == by_host.status_code == 200
    assert by_path.content == by_host.content


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("/s/acme//api/v2/summary.json", "testserver"),
        # A full URL keeps the client from reading "//api" as a host name.
        ("http://acme.status.localhost//api/v2/summary.json", HOST),
    ],
)
def test_double_slash_is_tolerated(client, page, url, host):
    response = client.get(url, HTTP_HOST=host)
    assert response.status_code == 200
    assert json.loads(response.content)["page"]["name"] == "Acme Cloud"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_headers(client, page, path):
    response = client.get(f"/s/acme/api/v2/{path}")
    assert response.status_code == 200  # never a redirect: APPEND_SLASH leaves .json alone
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Access-Control-Allow-Origin"] == "*"
    # Browsers revalidate every time (a change shows on the next load); CDNs hold it a second.
    assert "max-age=0" in response["Cache-Control"]
    assert "s-maxage=1" in response["Cache-Control"]
    assert response["ETag"].startswith('"')
    assert response["Last-Modified"].endswith("GMT")


def test_head_is_answered_without_a_body(client, page):
    get = client.get("/s/acme/api/v2/summary.json")
    head = client.head("/s/acme/api/v2/summary.json")
    assert head.status_code == 200
    assert head.content == b""
    assert head["ETag"] == get["ETag"]
    assert head["Content-Type"] == "application/json; charset=utf-8"


def test_other_methods_are_refused(client, page):
    assert client.post("/s/acme/api/v2/summary.json").status_code == 405


def test_unknown_query_parameters_are_ignored(client, page):
    plain = client.get("/s/acme/api/v2/incidents.json")
    with_params = client.get("/s/acme/api/v2/incidents.json?page=2&callback=x")
    assert with_params.status_code == 200
    assert with_params.content == plain.content


def test_served_on_a_verified_custom_domain_with_it_as_page_url(client, org, page):
    DomainFactory(organization=org, hostname="status.acme.test", verified_at=datetime.now(UTC))
    response = client.get("/api/v2/summary.json", HTTP_HOST="status.acme.test")
    assert response.status_code == 200
    data = json.loads(response.content)
    assert data["page"]["url"] == "http://status.acme.test/"
    assert data["incidents"][0]["shortlink"].startswith("http://status.acme.test/incidents/")


def test_unknown_page_is_404(client, db):
    assert client.get("/s/nobody/api/v2/summary.json").status_code == 404


# --- timestamps ------------------------------------------------------------------------------


def test_timestamps_are_in_the_page_time_zone_with_milliseconds(client, db):
    OrganizationFactory(slug="acme", name="Acme Cloud", timezone="America/Los_Angeles")
    org = Organization.objects.get(slug="acme")
    created = datetime(2020, 6, 16, 21, 0, 29, 31000, tzinfo=UTC)
    ComponentFactory(organization=org, created_at=created)
    maintenance = MaintenanceFactory(
        organization=org, scheduled_for=datetime(2020, 6, 16, 23, 0, tzinfo=UTC),
        scheduled_until=datetime(2020, 6, 17, 3, 0, tzinfo=UTC), created_at=created,
    )  # fmt: skip
    IncidentUpdateFactory(incident=maintenance, display_at=created)
    data = get_json(client, "summary.json")
    assert data["page"]["time_zone"] == "America/Los_Angeles"
    assert data["components"][0]["created_at"] == "2020-06-16T14:00:29.031-07:00"
    window = data["scheduled_maintenances"][0]
    assert window["scheduled_for"] == "2020-06-16T16:00:00.000-07:00"
    assert window["scheduled_until"] == "2020-06-16T20:00:00.000-07:00"
    stamps = [(key, value) for key, value in every_timestamp(data) if value is not None]
    assert len(stamps) > 10
    for key, value in stamps:
        assert TIMESTAMP.match(value), (key, value)
        assert value.endswith(("-07:00", "-08:00")), (key, value)


def test_utc_pages_use_z(client, org, page):
    data = get_json(client, "summary.json")
    stamps = [value for _key, value in every_timestamp(data) if value is not None]
    assert stamps
    assert all(TIMESTAMP.match(value) and value.endswith("Z") for value in stamps)


def test_format_timestamp_always_prints_three_digits():
    from zoneinfo import ZoneInfo

    value = datetime(2024, 9, 17, 8, 8, 17, tzinfo=UTC)
    assert api_v2.format_timestamp(value, ZoneInfo("UTC")) == "2024-09-17T08:08:17.000Z"
    assert api_v2.format_timestamp(value, ZoneInfo("Asia/Kolkata")) == (
        "2024-09-17T13:38:17.000+05:30"
    )
    assert api_v2.format_timestamp(None, ZoneInfo("UTC")) is None


# --- components ------------------------------------------------------------------------------


def test_components_are_flat_in_display_order_with_groups(client, page):
    components = get_json(client, "components.json")["components"]
    assert [(c["name"], c["position"], c["group"]) for c in components] == [
        ("API", 1, True),
        ("GraphQL", 1, False),
        ("REST", 2, False),
        ("Website & CDN", 2, False),
    ]
    group, graphql, rest, website = components
    assert group["components"] == [page["graphql"].public_id, page["rest"].public_id]
    assert group["status"] == "partial_outage"  # the worst child
    assert group["group_id"] is None
    assert graphql["group_id"] == rest["group_id"] == group["id"]
    assert website["group_id"] is None
    assert all("components" not in c for c in (graphql, rest, website))
    assert all(c["page_id"] == page["group"].organization.public_id for c in components)


def test_ids_are_twelve_character_strings(client, page):
    data = get_json(client, "summary.json")
    ids = [c["id"] for c in data["components"]] + [i["id"] for i in data["incidents"]]
    assert ids
    assert all(isinstance(i, str) and re.fullmatch(r"[a-z0-9]{12}", i) for i in ids)


# --- incidents -------------------------------------------------------------------------------


def test_incidents_are_newest_first_with_updates_newest_first(client, page):
    incidents = get_json(client, "incidents.json")["incidents"]
    assert [i["name"] for i in incidents] == ["Errors & timeouts", "Slow dashboard"]
    updates = incidents[0]["incident_updates"]
    assert [u["status"] for u in updates] == ["identified", "investigating"]
    assert all(u["incident_id"] == incidents[0]["id"] for u in updates)
    assert incidents[0]["shortlink"].endswith(f"/incidents/{incidents[0]['id']}/")
    assert incidents[0]["reminder_intervals"] is None
    assert list(incidents[0])[-1] == "reminder_intervals"


def test_incident_components_are_full_objects_and_affected_names_include_the_group(client, page):
    incident = get_json(client, "incidents/unresolved.json")["incidents"][0]
    assert [c["name"] for c in incident["components"]] == ["REST"]
    assert incident["components"][0]["status"] == "partial_outage"
    affected = incident["incident_updates"][0]["affected_components"]
    assert affected == [
        {
            "code": page["rest"].public_id,
            "name": "API - REST",
            "old_status": "major_outage",
            "new_status": "partial_outage",
        }
    ]


def test_affected_components_null_when_not_recorded(client, org):
    IncidentUpdateFactory(incident=IncidentFactory(organization=org), affected_components=None)
    update = get_json(client, "incidents.json")["incidents"][0]["incident_updates"][0]
    assert update["affected_components"] is None


def test_filters(client, page):
    unresolved = get_json(client, "incidents/unresolved.json")["incidents"]
    assert [i["status"] for i in unresolved] == ["identified"]
    upcoming = get_json(client, "scheduled-maintenances/upcoming.json")["scheduled_maintenances"]
    assert [m["status"] for m in upcoming] == ["scheduled"]
    active = get_json(client, "scheduled-maintenances/active.json")["scheduled_maintenances"]
    assert [m["status"] for m in active] == ["in_progress", "verifying"]  # by scheduled_for
    every = get_json(client, "scheduled-maintenances.json")["scheduled_maintenances"]
    assert {m["status"] for m in every} == {"scheduled", "in_progress", "verifying", "completed"}
    summary = get_json(client, "summary.json")
    assert [i["status"] for i in summary["incidents"]] == ["identified"]
    assert [m["status"] for m in summary["scheduled_maintenances"]] == [
        "scheduled",
        "in_progress",
        "verifying",
    ]  # fmt: skip  (ordered by scheduled_for)


def test_maintenances_end_with_their_window(client, page):
    maintenance = get_json(client, "scheduled-maintenances.json")["scheduled_maintenances"][0]
    assert list(maintenance)[-2:] == ["scheduled_for", "scheduled_until"]
    assert maintenance["impact"] == "maintenance"


def test_lists_are_capped_at_fifty(client, org):
    start = datetime(2025, 1, 1, tzinfo=UTC)
    Incident.objects.bulk_create(
        [IncidentFactory.build(organization=org, started_at=start + timedelta(hours=n),
                               status="resolved") for n in range(55)]
        + [MaintenanceFactory.build(organization=org, status="completed",
                                    scheduled_for=start + timedelta(hours=n),
                                    scheduled_until=start + timedelta(hours=n + 1))
           for n in range(55)]
    )  # fmt: skip
    incidents = get_json(client, "incidents.json")["incidents"]
    assert len(incidents) == 50
    assert incidents[0]["started_at"] == "2025-01-03T06:00:00.000Z"  # the newest
    maintenances = get_json(client, "scheduled-maintenances.json")["scheduled_maintenances"]
    assert len(maintenances) == 50
    assert maintenances[0]["scheduled_for"] == "2025-01-03T06:00:00.000Z"


def test_other_organizations_never_appear(client, page, other_org):
    IncidentFactory(organization=other_org, name="Globex outage")
    ComponentFactory(organization=other_org, name="Globex API")
    body = client.get("/s/acme/api/v2/summary.json").content.decode()
    assert "Globex" not in body


# --- status rollup ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], ("none", "All Systems Operational")),
        (["operational"], ("none", "All Systems Operational")),
        (["under_maintenance"], ("maintenance", "Service Under Maintenance")),
        (["degraded_performance"], ("minor", "Partially Degraded Service")),
        (["partial_outage"], ("major", "Partial System Outage")),
        (["major_outage"], ("critical", "Major System Outage")),
        (["operational", "operational"], ("none", "All Systems Operational")),
        (["major_outage", "major_outage"], ("critical", "Major System Outage")),
        (["major_outage", "operational"], ("major", "Partial System Outage")),
        (["partial_outage", "partial_outage"], ("major", "Partial System Outage")),
        (["partial_outage", "operational"], ("minor", "Minor Service Outage")),
        (["degraded_performance", "degraded_performance"], ("minor", "Degraded System Service")),
        (["degraded_performance", "operational"], ("minor", "Partially Degraded Service")),
        (["under_maintenance", "operational"], ("maintenance", "Service Under Maintenance")),
        (["under_maintenance", "degraded_performance"], ("minor", "Partially Degraded Service")),
    ],
)
def test_component_blend(statuses, expected):
    assert api_v2.component_blend(statuses) == expected


def test_status_blends_components(client, page):
    # REST partial outage, GraphQL and Website operational; the open incident is major.
    status = get_json(client, "status.json")["status"]
    assert status == {"indicator": "major", "description": "Partial System Outage"}


def test_an_unresolved_incident_raises_the_indicator(client, org):
    ComponentFactory(organization=org)
    IncidentFactory(organization=org, impact="critical", status="investigating")
    status = get_json(client, "status.json")["status"]
    assert status == {"indicator": "critical", "description": "Major System Outage"}


def test_active_maintenance_means_maintenance(client, org):
    ComponentFactory(organization=org)
    MaintenanceFactory(organization=org, status="in_progress")
    MaintenanceFactory(organization=org, status="scheduled")
    status = get_json(client, "status.json")["status"]
    assert status == {"indicator": "maintenance", "description": "Service Under Maintenance"}


def test_an_outage_outranks_maintenance(client, org):
    ComponentFactory(organization=org, status="major_outage")
    MaintenanceFactory(organization=org, status="in_progress")
    status = get_json(client, "status.json")["status"]
    assert status["indicator"] == "critical"


def test_resolved_incidents_do_not_count(client, org):
    ComponentFactory(organization=org)
    IncidentFactory(organization=org, impact="critical", status="resolved")
    assert get_json(client, "status.json")["status"]["indicator"] == "none"


# --- caching ---------------------------------------------------------------------------------


def bump(org: Organization) -> None:
    """A committed change, as `bump_content_version` makes it: the version rises in the database
    and is published for the public fast path."""
    Organization.objects.filter(pk=org.pk).update(content_version=F("content_version") + 1)
    publish_version(org.pk, Organization.objects.get(pk=org.pk).content_version)


def test_matching_etag_gets_304(client, page):
    first = client.get("/s/acme/api/v2/summary.json")
    again = client.get("/s/acme/api/v2/summary.json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert again["Access-Control-Allow-Origin"] == "*"
    weak = client.get("/s/acme/api/v2/summary.json", HTTP_IF_NONE_MATCH=f"W/{first['ETag']}")
    assert weak.status_code == 304
    other = client.get("/s/acme/api/v2/summary.json", HTTP_IF_NONE_MATCH='"something-else"')
    assert other.status_code == 200


def test_if_modified_since_gets_304(client, page):
    first = client.get("/s/acme/api/v2/status.json")
    again = client.get("/s/acme/api/v2/status.json", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert again.status_code == 304


def test_rendered_once_per_content_version(client, org, page, django_assert_num_queries):
    client.get("/s/acme/api/v2/summary.json")
    # Cached: only the middleware's organization lookup remains. (The factory's organization
    # has no published version yet; this request publishes it.)
    with django_assert_num_queries(1):
        client.get("/s/acme/api/v2/summary.json")
    # From then on the public fast path answers from memory, without any query.
    with django_assert_num_queries(0):
        cached = client.get("/s/acme/api/v2/summary.json")
    assert cached.status_code == 200
    first_etag = cached["ETag"]
    IncidentFactory(organization=org, name="Something new")
    assert client.get("/s/acme/api/v2/summary.json")["ETag"] == first_etag  # not bumped yet
    bump(org)
    fresh = client.get("/s/acme/api/v2/summary.json")
    assert fresh["ETag"] != first_etag
    assert b"Something new" in fresh.content


def test_last_good_copy_is_served_when_the_database_fails(client, org, page, monkeypatch):
    good = client.get("/s/acme/api/v2/summary.json")
    bump(org)  # the fresh entry no longer matches: the next request must render

    def fail(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(api_v2, "load_components", fail)
    stale = client.get("/s/acme/api/v2/summary.json")
    assert stale.status_code == 200
    assert stale.content == good.content
    assert stale["X-Status-Page-Stale"] == "true"
    assert stale["Access-Control-Allow-Origin"] == "*"


def test_no_saved_copy_and_no_database_is_a_503_not_a_500(client, org, monkeypatch):
    def fail(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(api_v2, "load_components", fail)
    response = client.get("/s/acme/api/v2/summary.json")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"


# --- query count -----------------------------------------------------------------------------


def build_history(
    org: Organization, *, groups: int, per_group: int, top_level: int, incidents: int,
    uptime_days: int,
) -> None:  # fmt: skip
    """Many components (in groups), incidents with updates and component links, maintenances
    and daily uptime rows, bulk-created so the big variant stays fast."""
    now = datetime.now(UTC)
    created = now - timedelta(days=uptime_days + 1)
    group_rows = ComponentGroup.objects.bulk_create(
        [ComponentGroupFactory.build(organization=org, position=n + 1) for n in range(groups)]
    )
    components = Component.objects.bulk_create(
        [ComponentFactory.build(organization=org, group=group, position=n + 1,
                                created_at=created, status="degraded_performance" if n else
                                "operational")
         for group in group_rows for n in range(per_group)]
        + [ComponentFactory.build(organization=org, position=groups + n + 1, created_at=created)
           for n in range(top_level)]
    )  # fmt: skip
    statuses = ["investigating", "identified", "monitoring"] + ["resolved"] * 7
    items = Incident.objects.bulk_create(
        [IncidentFactory.build(organization=org, status=statuses[n % 10],
                               started_at=now - timedelta(hours=3 * n), resolved_at=None)
         for n in range(incidents)]
        + [MaintenanceFactory.build(organization=org,
                                    status=["scheduled", "in_progress", "completed"][n % 3],
                                    scheduled_for=now + timedelta(days=10 - n))
           for n in range(max(3, incidents // 10))]
    )  # fmt: skip
    IncidentUpdate.objects.bulk_create(
        [IncidentUpdateFactory.build(incident=item, organization=org, status=item.status,
                                     display_at=item.started_at + timedelta(minutes=m),
                                     affected_components=[{"code": components[0].public_id,
                                                           "name": "x",
                                                           "old_status": "operational",
                                                           "new_status": "major_outage"}])
         for item in items for m in range(2)]
    )  # fmt: skip
    through = Incident.components.through
    through.objects.bulk_create(
        [through(incident_id=item.pk, component_id=components[(n * 7 + k) % len(components)].pk)
         for n, item in enumerate(items) for k in range(2)]
    )  # fmt: skip
    today = now.date()
    UptimeDay.objects.bulk_create(
        [UptimeDay(organization=org, component=component, date=today - timedelta(days=d),
                   operational_seconds=86000, major_seconds=400 if d % 17 == 0 else 0,
                   worst_status="major_outage" if d % 17 == 0 else "operational")
         for component in components for d in range(uptime_days)]
    )  # fmt: skip


BIG = {"groups": 10, "per_group": 4, "top_level": 10, "incidents": 500, "uptime_days": 730}
SMALL = {"groups": 1, "per_group": 3, "top_level": 2, "incidents": 5, "uptime_days": 10}
# Middleware org lookup 1 + components 2 + incidents/updates/links 3 + updated_at 1 + domain 1.
API_MAX_QUERIES = 8


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_history(
    client, org, other_org, django_assert_max_num_queries
):
    """Every endpoint, cold cache: at most API_MAX_QUERIES queries for a 50-component page
    with 500 incidents and two years of uptime, and exactly as many as for a tiny page."""
    build_history(org, **BIG)
    build_history(other_org, **SMALL)
    for path in ENDPOINTS:
        with django_assert_max_num_queries(API_MAX_QUERIES):
            client.get(f"/s/acme/api/v2/{path}")
        small = count_queries(client, f"/s/globex/api/v2/{path}")
        bump(org)
        assert count_queries(client, f"/s/acme/api/v2/{path}") == small, path


def test_big_summary_is_complete(client, org):
    build_history(org, **BIG)
    data = get_json(client, "summary.json")
    assert len(data["components"]) == 60  # 10 groups + 50 components
    assert len(data["incidents"]) == 150  # the unresolved ones


def test_start_date_is_a_plain_date(client, org):
    ComponentFactory(organization=org, start_date=date(2024, 2, 29))
    assert get_json(client, "components.json")["components"][0]["start_date"] == "2024-02-29"
