"""badge.svg (apps/public/badge.py): the overall status or one component's, cached like the page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from apps.organizations.services import contrast_ratio
from apps.public import badge
from tests.factories import ComponentFactory, ComponentGroupFactory, DomainFactory, IncidentFactory

URL = "/s/acme/badge.svg"
SVG = "{http://www.w3.org/2000/svg}"


def svg(client, url=URL, **extra) -> ElementTree.Element:
    response = client.get(url, **extra)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    return ElementTree.fromstring(response.content)  # noqa: S314 - our own output, in a test


def texts(root: ElementTree.Element) -> list[str]:
    return [node.text or "" for node in root.iter(f"{SVG}text")]


def test_the_overall_badge_says_operational(client, org):
    ComponentFactory(organization=org, name="API")
    root = svg(client)
    assert texts(root) == ["Acme Cloud", "operational"]


def test_an_open_incident_shows_on_the_overall_badge(client, org):
    IncidentFactory(organization=org, impact="major")
    assert texts(svg(client))[1] == "partial outage"


def test_a_components_badge_names_it_and_its_status(client, org):
    group = ComponentGroupFactory(organization=org, name="Europe")
    component = ComponentFactory(organization=org, group=group, name="API", status="major_outage")
    root = svg(client, f"{URL}?component={component.public_id}")
    assert texts(root) == ["Europe - API", "major outage"]


def test_it_is_an_accessible_image(client, org):
    root = svg(client)
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Acme Cloud: operational"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "Acme Cloud: operational"


def test_an_unknown_component_is_a_404_that_says_so(client, org):
    response = client.get(f"{URL}?component=nope123")
    assert response.status_code == 404
    assert "There is no component “nope123” on this status page." in response.content.decode()


def test_an_empty_component_parameter_is_a_404_that_says_so(client, org):
    response = client.get(f"{URL}?component=")
    assert response.status_code == 404
    assert "The component parameter is empty" in response.content.decode()


def test_another_organizations_component_is_unknown_here(client, org, other_org):
    theirs = ComponentFactory(organization=other_org)
    assert client.get(f"{URL}?component={theirs.public_id}").status_code == 404


def test_it_is_cached_with_an_etag(client, org):
    first = client.get(URL)
    assert first["ETag"]
    assert client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert "max-age=0" in first["Cache-Control"]


def test_a_long_name_is_shortened_and_the_width_stays_sensible(client, org):
    # Component names hold up to 100 characters (PostgreSQL enforces it; SQLite would not).
    name = ("A" * 30 + " very long component name" * 4)[:100]
    component = ComponentFactory(organization=org, name=name)
    root = svg(client, f"{URL}?component={component.public_id}")
    label = texts(root)[0]
    assert len(label) == badge.NAME_LIMIT and label.endswith("…")
    assert int(root.get("width")) < 420
    # The full name stays in the accessible name.
    assert root.get("aria-label").startswith("A" * 30 + " very long component name")


def test_widths_grow_with_the_text(client, org):
    short = badge.badge_svg("A", "operational", "operational")
    longer = badge.badge_svg("A much longer name", "operational", "operational")
    width = re.compile(r'width="(\d+)"')
    assert int(width.search(longer).group(1)) > int(width.search(short).group(1)) + 60


@pytest.mark.parametrize("colour", [*badge.COLOURS.values(), badge.LABEL_COLOUR])
def test_white_text_is_readable_on_every_colour(colour):
    assert contrast_ratio(colour, "#ffffff") >= 4.5


def test_names_are_escaped(client, org):
    org.name = 'Acme <script>"&'
    org.save()
    response = client.get(URL)
    assert b"<script>" not in response.content
    root = ElementTree.fromstring(response.content)  # noqa: S314 - our own output, in a test
    assert texts(root)[0] == 'Acme <script>"&'


def test_on_a_custom_domain(client, org):
    DomainFactory(organization=org, hostname="status.acme.test", verified_at=datetime.now(UTC))
    assert texts(svg(client, "/badge.svg", HTTP_HOST="status.acme.test"))[0] == "Acme Cloud"


def test_an_unknown_page_has_no_badge(client, db):
    assert client.get("/s/nobody/badge.svg").status_code == 404
