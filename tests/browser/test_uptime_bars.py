"""The 90-day uptime bars as readers use them. The server sends bare coloured cells (issue 13:
the per-day texts made the page 560 KB); static/js/uptime.js puts each day's tooltip together.
Every day must read exactly as the server would say it (views_public.day_label), on hover, on
tap and from the keyboard, and without JavaScript the colours and the days with issues stay."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from apps.public import bars as public_bars
from apps.public.views_public import day_label
from tests.factories import ComponentFactory, IncidentFactory, UptimeDayFactory

from .conftest import SIZES, visit

pytestmark = pytest.mark.django_db(transaction=True)

# The legend's dots name each status's colour: a day's cell must have the same.
LEGEND = {
    "operational": "operational",
    "degraded_performance": "degraded_performance",
    "partial_outage": "partial_outage",
    "major_outage": "major_outage",
    "under_maintenance": "under_maintenance",
    None: "nodata",
}


@pytest.fixture
def component(org):
    """A component 40 days old: no data before, an outage with an incident, a degraded day, a
    day without a row, the rest operational."""
    today = timezone.localdate(timezone=org.tzinfo)
    web = ComponentFactory(
        organization=org, name="Web", created_at=timezone.now() - timedelta(days=40)
    )
    for offset in range(1, 41):
        if offset == 6:
            continue  # a day the rollup never recorded
        UptimeDayFactory(component=web, date=today - timedelta(days=offset))
    outage = today - timedelta(days=3)
    row = web.uptime_days.get(date=outage)
    row.operational_seconds, row.major_seconds, row.worst_status = 85536, 864, "major_outage"
    row.save()
    slow = web.uptime_days.get(date=today - timedelta(days=20))
    slow.operational_seconds, slow.degraded_seconds = 80000, 6400
    slow.worst_status = "degraded_performance"
    slow.save()
    # Noon in the page's zone: the incident stays on its day whatever the hour the test runs.
    started = datetime.combine(outage, time(12), tzinfo=org.tzinfo)
    incident = IncidentFactory(
        organization=org, name="Web <down> & out", status="resolved",
        started_at=started, resolved_at=started + timedelta(minutes=14),
    )  # fmt: skip
    incident.components.add(web)
    return web


def expected_days(org, component) -> list[tuple[str, str]]:
    bar = public_bars.uptime_bars(org, [component])[component.pk]
    return [(day_label(day), LEGEND[day.status]) for day in bar.days]


TOOLTIPS = """bar => {
  const tip = () => document.getElementById("sp-uptime-tip");
  return Array.from(bar.querySelectorAll("li")).map(cell => {
    cell.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    return [tip().textContent, getComputedStyle(cell).backgroundColor];
  });
}"""
LEGEND_COLOURS = """() => Object.fromEntries(
  Array.from(document.querySelectorAll(".sp-legend .sp-dot")).map(
    dot => [dot.className.split("sp-day-")[1], getComputedStyle(dot).backgroundColor]
  )
)"""


def test_every_day_reads_as_the_server_says_it_in_its_colour(page, org, component):
    visit(page, "/s/acme/")
    bar = page.locator(".sp-bars").first
    shown = bar.evaluate(TOOLTIPS)
    colours = page.evaluate(LEGEND_COLOURS)
    expected = expected_days(org, component)
    assert [text for text, _ in shown] == [text for text, _ in expected]
    assert [colour for _, colour in shown] == [colours[name] for _, name in expected]
    assert "1 incident: Web <down> & out" in shown[86][0]


def test_hovering_a_day_shows_its_tooltip_inside_the_window(page, org, component, size):
    visit(page, "/s/acme/")
    cells = page.locator(".sp-bars li")
    tip = page.locator("#sp-uptime-tip")
    width = SIZES[size]["width"]
    for index in (0, 86, 89):
        cells.nth(index).hover()
        assert tip.is_visible()
        box = tip.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        cell = cells.nth(index).bounding_box()
        assert cell is not None and box["y"] + box["height"] <= cell["y"]
    assert tip.inner_text() == expected_days(org, component)[89][0]
    page.mouse.move(0, 0)
    assert tip.is_hidden()


def test_a_tap_shows_the_day_and_a_tap_elsewhere_hides_it(page, org, component):
    visit(page, "/s/acme/")
    page.locator(".sp-bars li").nth(86).click()
    tip = page.locator("#sp-uptime-tip")
    assert tip.inner_text() == expected_days(org, component)[86][0]
    assert page.locator(".sp-bars li[data-on]").count() == 1
    page.locator("h1").click()
    assert tip.is_hidden()
    assert page.locator(".sp-bars li[data-on]").count() == 0


def test_the_keyboard_reaches_each_bar_once_and_walks_its_days(page, org, component):
    visit(page, "/s/acme/")
    expected = [text for text, _ in expected_days(org, component)]
    tip = page.locator("#sp-uptime-tip")
    bar = page.locator(".sp-bars")
    # One tab stop per bar, reached with Tab from the link before it.
    page.locator(".sp-nav-cta").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if bar.evaluate("bar => bar === document.activeElement"):
            break
    assert bar.evaluate("bar => bar === document.activeElement")
    assert tip.inner_text() == expected[89]  # today first
    assert bar.get_attribute("aria-describedby") == "sp-uptime-tip"
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    assert tip.inner_text() == expected[86]
    assert page.locator(".sp-bars li").nth(86).get_attribute("data-on") == ""
    page.keyboard.press("Home")
    assert tip.inner_text() == expected[0]
    page.keyboard.press("ArrowLeft")  # stays on the first day
    assert tip.inner_text() == expected[0]
    page.keyboard.press("End")
    assert tip.inner_text() == expected[89]
    page.keyboard.press("Escape")
    assert tip.is_hidden()
    # The next Tab leaves the bar for the list of days with issues.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    assert tip.is_hidden()


def test_without_javascript_the_colours_and_the_days_with_issues_stay(
    browser, site, org, component, size
):
    context = browser.new_context(viewport=SIZES[size], base_url=site, java_script_enabled=False)
    try:
        page = context.new_page()
        visit(page, "/s/acme/")
        bar = page.locator(".sp-bars")
        assert bar.get_attribute("role") == "img"
        uptime = public_bars.uptime_bars(org, [component])[component.pk]
        since = uptime.since
        assert since is not None
        assert bar.get_attribute("aria-label") == (
            f"Uptime of Web: {uptime.percent} % uptime since {since:%b} {since.day}, "
            "when it was added, 2 days with issues"
        )
        colours = page.evaluate(LEGEND_COLOURS)
        shown = bar.locator("li").evaluate_all(
            "cells => cells.map(cell => getComputedStyle(cell).backgroundColor)"
        )
        expected = expected_days(org, component)
        assert shown == [colours[name] for _, name in expected]
        details = page.locator(".sp-issue-days")
        details.locator("summary").click()
        assert details.locator("li").all_inner_texts() == [
            expected[86][0],
            expected[69][0],
        ]
    finally:
        context.close()
