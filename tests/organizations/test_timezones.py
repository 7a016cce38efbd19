"""The time-zone control: current canonical zones only, labelled, searchable, aliases kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils.choices import flatten_choices

from apps.organizations.forms import OrganizationCreateForm, OrganizationSettingsForm
from apps.organizations.timezones import parse_zone_tab, zone_label
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def offered(form) -> set[str]:
    return {value for value, _label in flatten_choices(form.fields["timezone"].choices)}


def test_only_current_canonical_zones_are_offered():
    zones = offered(OrganizationCreateForm())

    assert {"America/Los_Angeles", "Asia/Kolkata", "Europe/Kyiv", "Europe/Amsterdam"} <= zones
    assert "UTC" in zones
    assert not {"US/Pacific", "Asia/Calcutta", "Europe/Kiev", "GB", "Etc/GMT+5"} & zones
    assert 350 < len(zones) < 500  # not the 600 names zoneinfo knows


def test_zones_are_grouped_by_region_with_utc_first_and_labelled_with_their_offset():
    choices = OrganizationCreateForm().fields["timezone"].choices
    regions = dict(choices[1:])

    assert choices[0] == ("UTC", "UTC (Coordinated Universal Time)")
    assert ("Europe/Berlin", zone_label("Europe/Berlin")) in regions["Europe"]
    assert ("America/Los_Angeles", zone_label("America/Los_Angeles")) in regions["America"]
    winter, summer = datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 7, 15, tzinfo=UTC)
    assert zone_label("Europe/Berlin", winter) == "Europe/Berlin (UTC+01:00)"
    assert zone_label("Europe/Berlin", summer) == "Europe/Berlin (UTC+02:00)"
    assert zone_label("America/Los_Angeles", winter) == "America/Los Angeles (UTC-08:00)"
    assert zone_label("Asia/Kolkata", winter) == "Asia/Kolkata (UTC+05:30)"


def test_zone_tab_lines_give_their_zone_names():
    text = (
        "# comment\n"
        "NL\t+5222+00454\tEurope/Amsterdam\n"
        "US\t+340308-1181434\tAmerica/Los_Angeles\tPacific\n"
    )
    assert parse_zone_tab(text) == {"Europe/Amsterdam", "America/Los_Angeles"}


def test_the_create_form_asks_the_browser_and_maps_its_old_zone_names(login):
    response = login(UserFactory()).get(reverse("orgs:new"))
    page = response.content.decode()

    assert "js/timezone-picker.js" in page
    assert "data-detect-browser-zone" in page
    select = response.context["form"]["timezone"].field.widget
    aliases = json.loads(select.attrs["data-zone-aliases"])
    assert aliases["Asia/Calcutta"] == "Asia/Kolkata"
    assert aliases["Etc/UTC"] == "UTC"


def test_a_create_form_sent_back_with_errors_keeps_the_users_choice(login):
    response = login(UserFactory()).post(
        reverse("orgs:new"), {"name": "", "timezone": "Asia/Tokyo"}
    )

    assert response.status_code == 200
    assert "data-detect-browser-zone" not in response.content.decode()
    assert '<option value="Asia/Tokyo" selected>' in response.content.decode()


def test_an_alias_is_refused_for_a_new_organization(login):
    response = login(UserFactory()).post(
        reverse("orgs:new"), {"name": "Initech", "slug": "initech", "timezone": "US/Pacific"}
    )
    assert response.context["form"].errors["timezone"]


def test_an_organization_whose_zone_is_an_alias_keeps_it_and_still_saves(login, admin, org):
    org.timezone = "US/Pacific"
    org.save(update_fields=["timezone"])
    url = reverse("organizations:settings", args=[org.slug])

    page = login(admin).get(url).content.decode()
    response = login(admin).post(
        url,
        {
            "name": "Acme Renamed",
            "timezone": "US/Pacific",
            "default_language": org.default_language,
            "languages": org.offered_languages,
        },
    )

    assert '<option value="US/Pacific" selected>' in page
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.name, org.timezone) == ("Acme Renamed", "US/Pacific")


def test_another_organizations_alias_is_not_offered_to_everyone():
    OrganizationFactory(timezone="US/Pacific")
    zones = offered(OrganizationSettingsForm(initial={"name": "Acme", "timezone": "Europe/Paris"}))
    assert "US/Pacific" not in zones
