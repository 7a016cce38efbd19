"""Far-future and far-past times (issue #14): refused at input with the rule in the message, and
a row stored before the rule (year 9999, in a zone ahead of UTC) never answers 500."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core import dates
from apps.incidents.forms import MaintenanceForm
from apps.incidents.models import Incident
from tests.factories import ComponentFactory, IncidentUpdateFactory, MaintenanceFactory

JSON = "application/json"
RULE = f"Times must fall in the years 2000 to {timezone.now().year + 10}."


def test_the_window_takes_the_years_2000_to_ten_years_ahead():
    now = timezone.now()
    assert dates.window_problem(now) is None
    assert dates.window_problem(datetime(now.year + 10, 12, 31, 23, 59, tzinfo=UTC)) is None
    assert dates.window_problem(datetime(2000, 1, 1, tzinfo=UTC)) is None
    assert RULE in dates.window_problem(datetime(now.year + 11, 1, 1, tzinfo=UTC))
    assert RULE in dates.window_problem(datetime(1999, 12, 31, tzinfo=UTC))
    assert RULE in dates.window_problem(datetime(9999, 12, 31))


# --- input -------------------------------------------------------------------------------------


def test_the_api_refuses_a_maintenance_in_year_9999(api, api_key, org):
    response = api(api_key).post(
        "/api/v1/maintenances/",
        {
            "name": "Database upgrade",
            "scheduled_for": "9999-12-31T20:00:00Z",
            "scheduled_until": "9999-12-31T22:00:00Z",
        },
        content_type=JSON,
    )

    assert response.status_code == 400
    assert RULE in response.json()["scheduled_for"][0]
    assert not Incident.objects.for_org(org).exists()


def test_the_api_refuses_a_maintenance_in_1970(api, api_key, org):
    response = api(api_key).post(
        "/api/v1/maintenances/",
        {
            "name": "Database upgrade",
            "scheduled_for": "1970-01-01T00:00:00Z",
            "scheduled_until": "1970-01-01T02:00:00Z",
        },
        content_type=JSON,
    )

    assert response.status_code == 400
    assert RULE in response.json()["scheduled_for"][0]


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/Los_Angeles"])
def test_the_maintenance_form_refuses_year_9999_in_any_zone(org, zone):
    org.timezone = zone
    form = MaintenanceForm(
        {
            "name": "DB",
            "body": "b",
            "scheduled_for": "Dec 31, 9999 23:00",
            "scheduled_until": "Dec 31, 9999 23:30",
        },
        organization=org,
    )

    assert not form.is_valid()
    assert RULE in form.errors["scheduled_for"][0]
    assert RULE in form.errors["scheduled_until"][0]


def test_the_dashboard_refuses_a_maintenance_in_year_9999(client, editor, org):
    client.force_login(editor)

    response = client.post(
        reverse("incidents:maintenance_new", args=[org.slug]),
        {
            "name": "DB",
            "body": "b",
            "scheduled_for": "Dec 31, 9999 23:00",
            "scheduled_until": "Dec 31, 9999 23:30",
        },
    )

    assert RULE in response.content.decode()
    assert not Incident.objects.for_org(org).exists()


# --- a stored row never breaks a page ----------------------------------------------------------


@pytest.fixture
def far_maintenance(org):
    """Written straight through the ORM, as before the rule, near datetime.max."""
    org.timezone = "Pacific/Kiritimati"
    org.save(update_fields=["timezone"])
    component = ComponentFactory(organization=org, name="Database")
    maintenance = MaintenanceFactory(
        organization=org,
        name="Far upgrade",
        scheduled_for=datetime(9999, 12, 31, 20, 0, tzinfo=UTC),
        scheduled_until=datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    )
    maintenance.components.add(component)
    IncidentUpdateFactory(
        incident=maintenance,
        status="scheduled",
        body="Someday.",
        display_at=datetime(9999, 12, 31, 20, 0, tzinfo=UTC),
    )
    return maintenance


PUBLIC_PATHS = [
    "/s/acme/",
    "/s/acme/history/",
    "/s/acme/api/v2/summary.json",
    "/s/acme/api/v2/incidents.json",
    "/s/acme/api/v2/scheduled-maintenances.json",
    "/s/acme/api/v2/scheduled-maintenances/upcoming.json",
    "/s/acme/api/v2/scheduled-maintenances/active.json",
    "/s/acme/history.atom",
    "/s/acme/history.rss",
    "/s/acme/maintenance.ics",
    "/s/acme/embed.json",
    "/s/acme/badge.svg",
    "/s/acme/down/",
]


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_a_stored_year_9999_maintenance_breaks_no_public_page(client, far_maintenance, path):
    assert client.get(path).status_code == 200


def test_a_stored_year_9999_maintenance_has_a_working_public_page(client, far_maintenance):
    response = client.get(f"/s/acme/incidents/{far_maintenance.public_id}/")

    assert response.status_code == 200
    assert "Far upgrade" in response.content.decode()


@pytest.mark.parametrize("name", ["organizations:overview", "incidents:maintenance_list"])
def test_a_stored_year_9999_maintenance_breaks_no_dashboard_page(
    client, editor, org, far_maintenance, name
):
    client.force_login(editor)

    assert client.get(reverse(name, args=[org.slug])).status_code == 200


def test_a_stored_year_9999_maintenance_has_a_working_dashboard_page(
    client, editor, org, far_maintenance
):
    client.force_login(editor)

    response = client.get(
        reverse("incidents:maintenance_detail", args=[org.slug, far_maintenance.public_id])
    )

    assert response.status_code == 200


def test_the_api_lists_a_stored_year_9999_maintenance(api, api_key, far_maintenance):
    response = api(api_key).get("/api/v1/maintenances/")

    assert response.status_code == 200
    assert response.json()["results"][0]["scheduled_for"] == "9999-01-01T00:00:00Z"
