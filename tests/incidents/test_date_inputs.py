"""Date and time inputs take and show the format the pages display: "Dec 6, 2026 20:31"."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from apps.core.dates import parse_display_date, parse_display_datetime
from apps.incidents.forms import ActionItemForm, BackfillForm, MaintenanceForm
from apps.incidents.models import Incident
from tests.factories import ComponentFactory

pytestmark = pytest.mark.django_db


def maintenance_form(org, start: str, end: str = "Dec 31, 2036 23:00") -> MaintenanceForm:
    data = {"name": "DB", "body": "b", "scheduled_for": start, "scheduled_until": end}
    return MaintenanceForm(data, organization=org)


@pytest.mark.parametrize(
    "written",
    [
        "Dec 1, 2036 09:00",
        "dec 1 2036 9:00",
        "December 1, 2036 9:00 am",
        "1 Dec 2036 09:00",
        "Dec 1, 2036 at 09:00",
        "2036-12-01T09:00",
        "2036-12-01 09:00",
        "Dec 1, 2036 09:00 PST",
        "Dec 1, 2036 09:00 America/Los_Angeles",
    ],
)
def test_a_time_is_read_as_the_pages_write_it_in_the_org_timezone(org, written):
    org.timezone = "America/Los_Angeles"
    form = maintenance_form(org, written)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["scheduled_for"] == datetime(2036, 12, 1, 17, 0, tzinfo=UTC)


def test_a_time_input_shows_the_pages_format_not_the_browsers(org):
    org.timezone = "Europe/Amsterdam"
    start = datetime(2036, 12, 6, 19, 31, tzinfo=UTC)
    form = MaintenanceForm(initial={"scheduled_for": start}, organization=org)

    html = str(form["scheduled_for"])

    assert 'type="text"' in html
    assert 'value="Dec 6, 2036 20:31"' in html
    assert "datetime-local" not in html
    assert "In Europe/Amsterdam time, like " in form.fields["scheduled_for"].help_text


def test_a_time_in_another_format_gets_an_error_with_an_example(org):
    org.timezone = "Europe/Amsterdam"
    form = maintenance_form(org, "12/06/2036 20:31")

    assert not form.is_valid()
    error = str(form.errors["scheduled_for"])
    assert "Write the time like" in error
    assert "(in Europe/Amsterdam time)" in error


def test_a_time_followed_by_another_zone_is_refused_rather_than_misread(org):
    org.timezone = "Europe/Amsterdam"
    form = maintenance_form(org, "Dec 6, 2036 20:31 PST")

    assert not form.is_valid()
    assert "leave out “PST”" in str(form.errors["scheduled_for"])


def test_backfill_times_use_the_same_format(org):
    org.timezone = "Europe/Amsterdam"
    form = BackfillForm(
        {"name": "Outage", "impact": "minor", "body_resolved": "Fixed.",
         "at_resolved": "Mar 3, 2026 14:05"},
        organization=org,
    )  # fmt: skip

    assert form.is_valid(), form.errors
    assert form.updates()[0][2] == datetime(2026, 3, 3, 13, 5, tzinfo=UTC)
    assert 'placeholder="e.g. ' in str(form["at_resolved"])


def test_an_action_item_due_date_is_written_like_the_page_shows_it():
    form = ActionItemForm({"title": "Renew certs", "status": "planned", "due_date": "Jan 31, 2030"})
    shown = ActionItemForm(initial={"due_date": date(2030, 1, 31)})

    assert form.is_valid(), form.errors
    assert form.cleaned_data["due_date"] == date(2030, 1, 31)
    assert 'value="Jan 31, 2030"' in str(shown["due_date"])
    assert not ActionItemForm(
        {"title": "x", "status": "planned", "due_date": "31/01/30"}
    ).is_valid()


def test_scheduling_maintenance_through_the_page_in_the_displayed_format(client, editor, org):
    org.timezone = "America/Los_Angeles"
    org.save()
    api = ComponentFactory(organization=org, name="API")
    client.force_login(editor)

    response = client.post(reverse("incidents:maintenance_new", args=[org.slug]), {
        "name": "Database upgrade", "body": "Planned work.", "components": [api.pk],
        "scheduled_for": "Dec 1, 2036 09:00", "scheduled_until": "Dec 1, 2036 11:00 PST",
        "auto_start": "on", "auto_complete": "on", "notify": "on",
    })  # fmt: skip

    assert response.status_code == 302
    maintenance = Incident.objects.get(name="Database upgrade")
    assert maintenance.scheduled_for == datetime(2036, 12, 1, 17, 0, tzinfo=UTC)
    assert maintenance.scheduled_until == datetime(2036, 12, 1, 19, 0, tzinfo=UTC)


def test_the_parsers_refuse_what_they_cannot_read():
    assert parse_display_datetime("next tuesday") is None
    assert parse_display_date("31/01/30") is None
    assert parse_display_date("Jan 31 2030") == date(2030, 1, 31)
