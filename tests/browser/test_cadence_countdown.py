"""A reader of the status page sees when the next update is due and how long ago the last one
came, in their own time zone, counted in the browser from the cached page's timestamps; without
JavaScript the absolute time shows in the page's zone; an overdue promise reads honestly.
Screenshots: var/screenshots/cadence-<step>-<size>.png."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import IncidentFactory, IncidentUpdateFactory

from .conftest import SCREENSHOTS, SIZES, visit

READER_ZONE = "America/New_York"


@pytest.fixture
def promised(org):
    org.timezone = "Europe/Berlin"
    org.save(update_fields=["timezone"])
    now = timezone.now()
    incident = IncidentFactory(
        organization=org,
        name="Slow API responses in Europe",
        status="identified",
        started_at=now - timedelta(minutes=40),
        next_update_due=now + timedelta(minutes=12, seconds=30),
    )
    IncidentUpdateFactory(
        incident=incident,
        status="identified",
        display_at=now - timedelta(minutes=8),
        body="A network link into our Dublin region is overloaded; traffic is moving.",
        next_update_due=incident.next_update_due,
    )
    return incident


def reader(browser, site, size, **options):
    context = browser.new_context(
        viewport=SIZES[size], base_url=site, timezone_id=READER_ZONE, **options
    )
    context.route(re.compile(r"^(?!" + re.escape(site) + r"/)"), lambda route: route.abort())
    return context


def keep(page, size, step):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"cadence-{step}-{size}.png", full_page=True)


def test_the_countdown_shows_in_the_readers_zone(browser, site, size, promised):
    context = reader(browser, site, size)
    page = context.new_page()
    visit(page, "/s/acme/")

    due = promised.next_update_due.astimezone(ZoneInfo(READER_ZONE))
    promise = page.locator(".sp-promise")
    # Today: the time alone (with the date when the reader's day differs, near midnight).
    expect(promise.locator(".sp-next-update")).to_have_text(
        re.compile(rf"^Next update by (\w+ \d+, \d+, )?{due:%I:%M} [AP]M EST \(in 1[23] minutes\)$")
    )
    expect(promise.locator(".sp-last-updated")).to_have_text("Last updated 8 minutes ago")
    keep(page, size, "page")

    # The incident page, one click away, says the same.
    page.get_by_role("link", name="Slow API responses in Europe").first.click()
    expect(page.locator(".sp-incident-page .sp-next-update")).to_contain_text("(in 1")
    keep(page, size, "incident")
    context.close()


def test_without_javascript_the_absolute_time_shows_in_the_pages_zone(
    browser, site, size, promised
):
    context = reader(browser, site, size, java_script_enabled=False)
    page = context.new_page()
    visit(page, "/s/acme/")

    due = promised.next_update_due.astimezone(promised.organization.tzinfo)
    expect(page.locator(".sp-next-update")).to_have_text(
        f"Next update by {due:%b} {due.day}, {due:%H:%M} {due.tzname()}"
    )
    expect(page.locator(".sp-last-updated")).to_contain_text("Last updated ")
    expect(page.locator(".sp-last-updated")).to_contain_text(due.tzname())
    keep(page, size, "nojs")
    context.close()


def test_an_overdue_promise_turns_into_overdue_while_the_page_is_open(
    browser, site, size, promised
):
    # Rendered (and cached) while still on time; the reader's clock passes the promised time.
    promised.next_update_due = timezone.now() + timedelta(seconds=20)
    promised.save(update_fields=["next_update_due"])
    context = reader(browser, site, size)
    page = context.new_page()
    page.clock.install()
    visit(page, "/s/acme/")
    expect(page.locator(".sp-next-update")).to_contain_text("Next update by")

    page.clock.run_for(60_000)

    expect(page.locator(".sp-next-update")).to_have_text(re.compile(r"^⚠ Update overdue since "))
    expect(page.locator(".sp-next-update")).to_have_class(re.compile("sp-overdue"))
    keep(page, size, "overdue")
    context.close()


def test_staff_see_the_promise_fields_and_overdue_incidents_first(
    page, size, look, sign_in, promised, editor
):
    overdue = IncidentFactory(
        organization=promised.organization,
        name="Card payments failing",
        status="investigating",
        next_update_due=timezone.now() - timedelta(minutes=7),
    )
    sign_in(editor)
    visit(page, "/dashboard/acme/incidents/")
    expect(page.locator(".message-warning")).to_contain_text("1 incident is overdue for an update")
    expect(page.locator(".inc-table tbody tr").first).to_contain_text(overdue.name)
    expect(page.locator(".inc-table tbody tr").first).to_contain_text("Update overdue since")
    look("dashboard-list")

    visit(page, f"/dashboard/acme/incidents/{promised.public_id}/")
    expect(page.get_by_label("Next update in (minutes)")).to_have_value("30")
    expect(page.get_by_label("No further updates until resolved")).not_to_be_checked()
    look("dashboard-detail")
