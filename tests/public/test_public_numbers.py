"""The numbers and words of the public page: durations, the overall banner, uptime since a
component existed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.public.views_public import duration_text
from apps.status import uptime
from tests.factories import (
    ComponentFactory,
    IncidentFactory,
    IncidentUpdateFactory,
    MaintenanceFactory,
    UptimeDayFactory,
)

STARTED = datetime(2026, 2, 1, 7, 31, 10, tzinfo=UTC)


def html(client, url: str = "/s/acme/") -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lasted", "text"),
    [
        # 07:31:10 to 07:32:05: the page shows 07:31 - 07:32, so "1 minute", never "0 minutes".
        (timedelta(seconds=55), "1 minute"),
        (timedelta(seconds=59), "1 minute"),
        (timedelta(seconds=60), "1 minute"),
        # Rounded up: an outage is never understated.
        (timedelta(seconds=61), "2 minutes"),
        (timedelta(hours=2, minutes=5), "2 hours 5 minutes"),
        (timedelta(hours=2), "2 hours"),
        (timedelta(days=1, seconds=1), "1 day 1 minute"),
        (timedelta(days=3, hours=4, minutes=10), "3 days 4 hours"),
        (timedelta(0), "less than a minute"),
    ],
)
def test_duration_text_rounds_up_to_the_minute(lasted, text):
    assert duration_text(STARTED, STARTED + lasted) == text


def test_duration_text_without_an_end_is_none():
    assert duration_text(STARTED, None) is None
    assert duration_text(STARTED, STARTED - timedelta(seconds=1)) is None


def test_a_one_minute_incident_reads_one_minute_on_its_page_and_in_history(client, org):
    now = timezone.now()
    incident = IncidentFactory(
        organization=org, status="resolved", started_at=now.replace(second=10, microsecond=0),
        resolved_at=now.replace(second=10, microsecond=0) + timedelta(seconds=55),
    )  # fmt: skip
    IncidentUpdateFactory(incident=incident, status="resolved", body="Fixed.")
    page = html(client, f"/s/acme/incidents/{incident.public_id}/")
    assert "<dd>1 minute</dd>" in page
    history = html(client, "/s/acme/history/")
    assert "lasted 1 minute" in history
    assert "0 minutes" not in page + history


# --- the overall banner ----------------------------------------------------------------------


def banner(body: str) -> str:
    return body.split('<section class="sp-banner', 1)[1].split("</section>", 1)[0]


def test_an_incident_affecting_no_component_is_not_all_systems_operational(client, org):
    ComponentFactory(organization=org, name="Website")
    IncidentFactory(organization=org, name="Logins are slow", status="investigating", impact="none")
    body = banner(html(client))
    assert "All Systems Operational" not in body
    assert "sp-tone-none" not in body
    assert "sp-tone-incident" in body
    assert "Active incident: Logins are slow" in body


def test_several_impactless_incidents_are_counted_in_the_banner(client, org):
    IncidentFactory(organization=org, name="One", status="investigating", impact="none")
    IncidentFactory(organization=org, name="Two", status="identified", impact="none")
    body = banner(html(client))
    assert "2 active incidents" in body
    assert "All Systems Operational" not in body


def test_the_json_keeps_statuspage_indicator_for_an_impactless_incident(client, org):
    """Statuspage's indicator follows impact: `none` stays `none` (its page shows the incident
    instead of the green bar, as ours does now); the JSON lists the incident."""
    IncidentFactory(organization=org, name="Logins are slow", status="investigating", impact="none")
    summary = client.get("/s/acme/api/v2/summary.json").json()
    assert summary["status"]["indicator"] == "none"
    assert [i["name"] for i in summary["incidents"]] == ["Logins are slow"]


def test_an_incident_with_impact_sets_the_banner_like_the_json(client, org):
    ComponentFactory(organization=org, name="Website")
    IncidentFactory(organization=org, name="Errors", status="identified", impact="major")
    status = client.get("/s/acme/api/v2/status.json").json()["status"]
    body = banner(html(client))
    assert status == {"indicator": "major", "description": "Partial System Outage"}
    assert "sp-tone-major" in body
    assert "Partial System Outage" in body


def test_maintenance_in_progress_shows_in_the_banner(client, org):
    ComponentFactory(organization=org, name="Website")
    MaintenanceFactory(organization=org, status="in_progress")
    body = banner(html(client))
    assert "sp-tone-maintenance" in body
    assert "Service Under Maintenance" in body
    assert "All Systems Operational" not in body


def test_a_resolved_incident_leaves_the_page_operational(client, org):
    IncidentFactory(organization=org, status="resolved", impact="none")
    body = banner(html(client))
    assert "All Systems Operational" in body
    assert "sp-tone-none" in body


# --- uptime since the component existed ------------------------------------------------------


def test_days_before_the_component_existed_are_not_counted(org):
    now = timezone.now()
    today = now.astimezone(org.tzinfo).date()
    component = ComponentFactory(organization=org, created_at=now - timedelta(days=3))
    created = timezone.localdate(component.created_at, timezone=org.tzinfo)
    # A row older than the component (e.g. left by a bad import) is not its uptime.
    UptimeDayFactory(
        component=component, date=created - timedelta(days=5), operational_seconds=0,
        major_seconds=86400, worst_status="major_outage",
    )  # fmt: skip
    UptimeDayFactory(component=component, date=created, operational_seconds=86400)
    bars = uptime.uptime_bars(org, [component], today=today, now=now)
    bar = bars[component.pk]
    assert bar.fraction == 1.0
    assert bar.since == created
    assert [day.status for day in bar.days if day.date < created] == [None] * 86
    assert not bar.issue_days


def test_a_component_older_than_the_window_has_no_since(org):
    now = timezone.now()
    today = now.astimezone(org.tzinfo).date()
    component = ComponentFactory(organization=org, created_at=now - timedelta(days=200))
    bar = uptime.uptime_bars(org, [component], today=today, now=now)[component.pk]
    assert bar.since is None


def test_a_young_component_says_since_when_on_the_page(client, org):
    """A minute-old component with a one-minute outage: its percentage covers its life, and
    the page says since when, not "90 days"."""
    now = timezone.now()
    component = ComponentFactory(organization=org, name="Web", created_at=now)
    UptimeDayFactory(
        component=component, date=timezone.localdate(now, timezone=org.tzinfo),
        operational_seconds=120, major_seconds=60, worst_status="major_outage",
    )  # fmt: skip
    body = html(client)
    day = timezone.localdate(now, timezone=org.tzinfo)
    since = f"{day:%b} {day.day}"
    assert f"66.66 % uptime since {since}" in body
    assert f"Uptime since {since}: <strong>66.66 %</strong>" in body
    assert "66.66 % uptime (90 days)" not in body
    assert "Uptime over the past 90 days" not in body


def test_an_old_component_says_ninety_days(client, org):
    ComponentFactory(organization=org, name="Web", created_at=timezone.now() - timedelta(days=200))
    UptimeDayFactory(
        component=ComponentFactory(
            organization=org, name="API", created_at=timezone.now() - timedelta(days=200)
        ),
        date=timezone.localdate(timezone=org.tzinfo) - timedelta(days=1),
        operational_seconds=86400,
    )
    body = html(client)
    assert "100.00 % uptime over the past 90 days" in body
    assert "Uptime over the past 90 days: <strong>100.00 %</strong>" in body


def test_the_dashboard_history_counts_only_days_since_the_component_existed(client, org, viewer):
    now = timezone.now()
    component = ComponentFactory(organization=org, name="Web", created_at=now - timedelta(days=2))
    created = timezone.localdate(component.created_at, timezone=org.tzinfo)
    UptimeDayFactory(
        component=component, date=created - timedelta(days=10), operational_seconds=0,
        major_seconds=86400, worst_status="major_outage",
    )  # fmt: skip
    UptimeDayFactory(component=component, date=created, operational_seconds=86400)
    client.force_login(viewer)
    body = html(client, f"/dashboard/acme/components/{component.public_id}/history/")
    since = f"{created.day} {created:%b}"
    assert f"<strong>100.00%</strong> uptime since {since}, when it was added" in body
    assert "status-major_outage" not in body.split('class="uptime-bars"')[1].split("</ol>")[0]
