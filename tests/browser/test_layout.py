"""On a 390 px phone, what matters is in the first screen, even with the longest legal words
(a 255-character title with no space, 100-character organization, group and component names):
the status banner, whole group headers, the 90 days the bar's label speaks of, and the
dashboard's "Open an incident". That no page scrolls sideways with such data, at both sizes, is
tests/browser/test_long_names.py.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from tests.factories import (
    ComponentFactory,
    ComponentGroupFactory,
    IncidentFactory,
    IncidentUpdateFactory,
    MaintenanceFactory,
    UptimeDayFactory,
)

TITLE = "T" * 255  # Incident.name max_length, one unbroken word
LONG_NAME = "N" * 100  # Organization/ComponentGroup/Component.name max_length


@pytest.fixture
def long_words(org, owner):
    now = timezone.now()
    org.name = "Acme" + LONG_NAME[4:]
    org.save(update_fields=["name"])
    group = ComponentGroupFactory(organization=org, name="G" * 100, description="g" * 200)
    component = ComponentFactory(
        organization=org, name="C" * 100, description="D" * 200,
        created_at=now - timedelta(days=200),
    )  # fmt: skip
    ComponentFactory(organization=org, group=group, name="Other", created_at=now)
    ComponentFactory(organization=org, group=group, name="O" * 100, created_at=now)
    UptimeDayFactory(
        component=component, date=timezone.localdate(now, timezone=org.tzinfo) - timedelta(days=3),
        operational_seconds=80000, major_seconds=6400, worst_status="major_outage",
    )  # fmt: skip
    # Both incidents fall within today in the page's time zone, whatever the hour the test runs
    # (an incident "3 hours ago" just after midnight would add yesterday as a day with issues).
    midnight = datetime.combine(timezone.localdate(now, timezone=org.tzinfo), time(), org.tzinfo)
    today_so_far = now - midnight
    active = IncidentFactory(
        organization=org, name=TITLE, status="investigating", impact="none",
        started_at=midnight + today_so_far * 0.75,
    )  # fmt: skip
    active.components.add(component)
    IncidentUpdateFactory(incident=active, status="investigating", body="B" * 2000)
    resolved = IncidentFactory(
        organization=org, name="R" * 255, status="resolved", impact="critical",
        started_at=midnight + today_so_far * 0.25, resolved_at=midnight + today_so_far * 0.5,
    )  # fmt: skip
    resolved.components.add(component)
    IncidentUpdateFactory(incident=resolved, status="resolved", body="https://" + "u" * 500)
    MaintenanceFactory(organization=org, name="M" * 255)  # upcoming
    return {"active": active, "resolved": resolved}


@pytest.fixture
def browser_pages(live_server, client, owner, long_words, browser):
    """Yield `open(path, width, height) -> Page`, signed in as the owner, in the session's
    Chromium (tests/browser/conftest.py launches /usr/bin/chromium through pytest-playwright)."""
    client.force_login(owner)
    session = client.cookies["sessionid"].value
    contexts = []

    def open_page(path: str, width: int, height: int) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        contexts.append(context)
        page = context.new_page()
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, (path, response)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.django_db(transaction=True)
def test_a_phone_sees_the_status_and_whole_group_headers_first(browser_pages):
    page = browser_pages("/s/acme/", 390, 844)
    banner = page.locator(".sp-banner").bounding_box()
    assert banner is not None and banner["y"] + banner["height"] <= 844
    assert page.locator(".sp-banner h1").inner_text().startswith("Active incident: TTTT")
    # The group's chevron, name, count and status badge share one row.
    summary = page.locator(".sp-group > summary").first
    boxes = [
        summary.locator(selector).first.bounding_box()
        for selector in (".sp-chevron", ".sp-name", ".sp-count", ".status-badge")
    ]
    assert all(box is not None and box["width"] > 0 for box in boxes)
    chevron, name, count, badge = boxes
    assert chevron["x"] + chevron["width"] <= name["x"]
    assert name["x"] + name["width"] <= badge["x"]
    assert name["y"] <= chevron["y"] <= name["y"] + name["height"]
    assert name["y"] <= badge["y"] <= count["y"] + count["height"]


@pytest.mark.django_db(transaction=True)
def test_a_phone_shows_the_ninety_days_the_label_speaks_of(browser_pages):
    page = browser_pages("/s/acme/", 390, 844)
    component = page.locator(".sp-component", has_text="C" * 100)
    shown = component.locator(".sp-bars li").evaluate_all(
        "days => days.filter(day => day.getBoundingClientRect().width > 0).length"
    )
    assert shown == 90
    foot = component.locator(".sp-bars-foot").inner_text()
    assert "90 days ago" in foot and "uptime" in foot
    # Three days ago (its uptime row) and today (the incidents): both inside the bar shown.
    assert component.locator(".sp-issue-days summary").inner_text() == "2 days with issues"


@pytest.mark.django_db(transaction=True)
def test_a_phone_reaches_open_an_incident_in_the_first_screen(browser_pages, org):
    page = browser_pages(f"/dashboard/{org.slug}/", 390, 844)
    button = page.get_by_role("link", name="Open an incident").first
    box = button.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 844
    button.click()
    assert page.url.endswith(f"/dashboard/{org.slug}/incidents/new/")
