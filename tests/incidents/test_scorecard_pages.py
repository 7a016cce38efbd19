"""The scorecard in the dashboard (its page, the card on an incident's page) and in the API."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.incidents.models import IncidentStatus
from apps.incidents.scorecard.chart import Point, line_chart
from apps.incidents.services import backfill_incident
from tests.factories import (
    IncidentFactory,
    IncidentUpdateFactory,
    MaintenanceFactory,
    member,
)

from .factories import ActionItemFactory, PostmortemFactory

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
MIN = timedelta(minutes=1)


def resolved_incident(org, *, days_ago=5, name="Checkout failures"):
    """First update after 12 min, 1 of 2 promises kept, resolved after 2 h, postmortem a day
    later with 1 of 2 action items done."""
    start = timezone.now() - timedelta(days=days_ago)
    incident = IncidentFactory(
        organization=org,
        name=name,
        started_at=start,
        status=IncidentStatus.POSTMORTEM,
        resolved_at=start + 120 * MIN,
    )
    for minutes, status, due in (
        (12, "investigating", 50),
        (45, "identified", 75),
        (120, "resolved", None),
    ):
        IncidentUpdateFactory(
            incident=incident,
            status=status,
            display_at=start + minutes * MIN,
            created_at=start + minutes * MIN,  # posted live
            next_update_due=None if due is None else start + due * MIN,
        )
    postmortem = PostmortemFactory(incident=incident, published_at=start + timedelta(days=1))
    ActionItemFactory(postmortem=postmortem, status="done")
    ActionItemFactory(postmortem=postmortem, status="planned")
    return incident


# The SVG parsed is the one this project renders (a test's own data), not untrusted input.
def svgs(html: str) -> list[ET.Element]:
    found = re.findall(r"<svg\b.*?</svg>", html, re.S)
    return [ET.fromstring(match) for match in found]  # noqa: S314


def points(svg: ET.Element) -> list[ET.Element]:
    return [c for c in svg.iter(f"{SVG}circle") if "sc-point" in c.get("class", "").split()]


# --- the chart ---------------------------------------------------------------------------------


def test_the_chart_is_well_formed_svg_with_one_point_per_period_and_escaped_text():
    svg = ET.fromstring(  # noqa: S314
        line_chart(
            chart_id="c",
            title="Median <time> & more",
            desc="Per week.",
            points=[
                Point("Sep 3", 12, "12 min"),
                Point("Sep 7", None, "no incidents"),
                Point("Sep 14", 30, "30 min"),
                Point("Sep 21", 4, "4 min"),
            ],
            axis_label=lambda value: f"{value:g} min",
        )
    )
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "c-title c-desc"
    assert svg.find(f"{SVG}title").text == "Median <time> & more"
    assert svg.find(f"{SVG}desc").text == "Per week."
    dots = points(svg)
    assert len(dots) == 4
    assert [dot.find(f"{SVG}title").text for dot in dots] == [
        "Sep 3: 12 min",
        "Sep 7: no incidents",
        "Sep 14: 30 min",
        "Sep 21: 4 min",
    ]
    assert "sc-point-empty" in dots[1].get("class")
    # The line breaks at the empty week: only Sep 14 to Sep 21 is joined.
    assert len(svg.findall(f"{SVG}polyline")) == 1
    # The axis tops out at a round number above the highest value (30 → 50 min).
    assert "50 min" in [t.text for t in svg.iter(f"{SVG}text")]


# --- the dashboard page ------------------------------------------------------------------------


def test_the_scorecard_page_shows_the_figures_and_two_charts(client, viewer, org):
    resolved_incident(org)
    client.force_login(viewer)

    response = client.get(f"/dashboard/{org.slug}/scorecard/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Last 90 days: 1 incident" in html
    assert "Median first public update after 12 min" in html
    assert "1 of 2 updates on time (50%)" in html
    assert "1 of 1 postmortem published within 7 days" in html
    assert "1 of 2 action items done" in html
    assert '<td data-label="First public update">after 12 min</td>' in html
    assert 'aria-current="page">Scorecard</a>' in html
    charts = svgs(html)
    assert len(charts) == 2
    weeks = len(response.context["card"].periods)
    assert weeks in (13, 14)  # 90 days: a partial first week, then 12 or 13 Mondays
    for svg in charts:
        assert svg.find(f"{SVG}title").text
        assert svg.find(f"{SVG}desc").text
        assert len(points(svg)) == weeks
    # The same figures as a table, one row per week; then one row per incident.
    assert html.count('<th scope="row">') == weeks + 1


def test_the_page_costs_the_same_queries_for_one_incident_or_many(
    client, viewer, org, django_assert_num_queries
):
    resolved_incident(org)
    client.force_login(viewer)
    client.get(f"/dashboard/{org.slug}/scorecard/")  # warm the session and caches
    with CaptureQueriesContext(connection) as one:
        client.get(f"/dashboard/{org.slug}/scorecard/")
    for days_ago in (10, 20, 30, 60):
        resolved_incident(org, days_ago=days_ago)
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(f"/dashboard/{org.slug}/scorecard/")
    assert response.context["card"].overall.incidents == 5


def test_with_no_incidents_the_page_says_what_will_appear(client, viewer, org):
    MaintenanceFactory(organization=org)
    client.force_login(viewer)

    response = client.get(f"/dashboard/{org.slug}/scorecard/?days=30")

    html = response.content.decode()
    assert "No incidents started in the last 30 days." in html
    assert "Once an incident is opened and updated in Candor, this page shows" in html
    assert "<svg" not in html


def test_the_period_can_be_chosen_and_a_bad_one_is_explained(client, viewer, org):
    resolved_incident(org, days_ago=60)
    client.force_login(viewer)

    assert client.get(f"/dashboard/{org.slug}/scorecard/?days=30").context["card"].incidents == []
    assert len(client.get(f"/dashboard/{org.slug}/scorecard/?days=90").context["card"].incidents)
    custom = client.get(f"/dashboard/{org.slug}/scorecard/?days=75").content.decode()
    assert '<option value="75" selected>Last 75 days</option>' in custom
    for bad in ("3", "1000", "soon", ""):
        response = client.get(f"/dashboard/{org.slug}/scorecard/?days={bad}")
        assert response.status_code == 400
        assert "Choose a number of days from 7 to 365." in response.content.decode()
        assert "card" not in response.context


def test_an_outsider_gets_404(client, outsider, org):
    client.force_login(outsider)
    assert client.get(f"/dashboard/{org.slug}/scorecard/").status_code == 404


def test_the_incident_page_shows_its_scorecard_card(client, viewer, org):
    incident = resolved_incident(org)
    client.force_login(viewer)

    html = client.get(f"/dashboard/{org.slug}/incidents/{incident.public_id}/").content.decode()

    assert "Response scorecard" in html
    for label in (
        "First public update after 12 min",
        "1 of 2 updates on time",
        "Longest silence while active: 1 h 15 min",
        "Resolved after 2 h",
        "Postmortem published 22 h after resolution",
        "1 of 2 action items done",
    ):
        assert label in html
    assert f'href="/dashboard/{org.slug}/scorecard/"' in html


# --- the API -----------------------------------------------------------------------------------


def test_api_organization_scorecard(api, read_only_key, org):
    incident = resolved_incident(org)

    response = api(read_only_key).get("/api/v1/scorecard/?days=90")

    assert response.status_code == 200
    body = response.json()
    assert body["days"] == 90
    assert body["postmortem_target_days"] == 7
    assert body["overall"]["incidents"] == 1
    assert body["overall"]["median_first_update_seconds"] == 12 * 60
    assert body["overall"]["updates_on_time_percent"] == 50
    assert len(body["periods"]) in (13, 14)
    assert sum(period["incidents"] for period in body["periods"]) == 1
    assert all(period["label"] for period in body["periods"])
    [only] = body["incidents"]
    assert only["id"] == incident.public_id
    assert only["resolution_seconds"] == 7200
    assert only["labels"]["updates_on_time"] == "1 of 2 updates on time"


def test_api_days_defaults_to_90_and_a_bad_value_is_a_400_naming_it(api, api_key, org):
    client = api(api_key)
    assert client.get("/api/v1/scorecard/").json()["days"] == 90
    for bad in ("6", "366", "ninety", ""):
        response = client.get(f"/api/v1/scorecard/?days={bad}")
        assert response.status_code == 400, bad
        body = response.json()
        assert body["days"] == ["Must be a whole number of days from 7 to 365."]
        assert body["detail"]


def test_api_incident_scorecard(api, api_key, org):
    incident = resolved_incident(org)

    response = api(api_key).get(f"/api/v1/incidents/{incident.public_id}/scorecard/")

    assert response.status_code == 200
    body = response.json()
    assert body["first_update_seconds"] == 720
    assert (body["updates_on_time"], body["updates_promised"]) == (1, 2)
    assert body["longest_silence_seconds"] == 75 * 60
    assert body["postmortem_seconds"] == 22 * 3600
    assert (body["action_items_done"], body["action_items_total"]) == (1, 2)


def test_api_incident_scorecard_is_404_for_another_organization_or_a_maintenance(
    api, other_api_key, api_key, org
):
    incident = resolved_incident(org)
    maintenance = MaintenanceFactory(organization=org)
    assert (
        api(other_api_key).get(f"/api/v1/incidents/{incident.public_id}/scorecard/").status_code
        == 404
    )
    assert (
        api(api_key).get(f"/api/v1/incidents/{maintenance.public_id}/scorecard/").status_code == 404
    )


def test_api_organization_scorecard_query_count_is_constant(
    api, api_key, org, django_assert_max_num_queries
):
    for days_ago in (2, 9, 16, 23, 40, 70):
        resolved_incident(org, days_ago=days_ago)
    client = api(api_key)
    # The key lookup and its last-used stamp, the throttle, and the scorecard's two queries.
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/scorecard/")
    assert response.json()["overall"]["incidents"] == 6


def test_the_scorecard_endpoints_are_in_the_openapi_schema(client, db):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    assert "days" in [p["name"] for p in paths["/api/v1/scorecard/"]["get"]["parameters"]]
    assert "get" in paths["/api/v1/incidents/{incident_id}/scorecard/"]


def test_incidents_recorded_after_the_fact_are_left_out_and_said_so(client, owner, org):
    past = backfill_incident(
        org,
        actor=member(owner),
        name="Old outage",
        impact="major",
        components=[],
        updates=[
            ("investigating", "Looking.", timezone.now() - timedelta(days=3)),
            ("resolved", "Fixed.", timezone.now() - timedelta(days=3) + 40 * MIN),
        ],
    )
    client.force_login(owner)

    page = client.get(f"/dashboard/{org.slug}/scorecard/").content.decode()
    detail = client.get(f"/dashboard/{org.slug}/incidents/{past.public_id}/").content.decode()

    assert "No incident to score in the last 90 days." in page
    assert "The 1 that started then was recorded after the fact" in page
    assert "This incident was recorded after the fact" in detail
    assert "First public update" not in detail
