"""The response scorecard as staff see it in a browser, at desktop and phone sizes: from the
dashboard's navigation to the Scorecard page (the 90-day charts and the weekly table), then to
one incident's card. Screenshots: var/screenshots/test_the_scorecard_*.png."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.demo.scorecard import WEEKS, add_scorecard_history
from apps.organizations.principals import Member

from .conftest import follow, visit

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_scorecard_shows_the_trend_and_each_incident(page, sign_in, look, org, owner, size):
    incidents = add_scorecard_history(org, actor=Member.of(owner, org), now=timezone.now())
    sign_in(owner)
    visit(page, f"/dashboard/{org.slug}/")

    nav = page.get_by_role("navigation", name="Dashboard")
    if size == "phone":
        nav.scroll_into_view_if_needed()
    follow(page, nav.get_by_role("link", name="Scorecard"))

    expect(page.get_by_role("heading", name="Scorecard", level=1)).to_be_visible()
    expect(page.get_by_text(f"Last 90 days: {WEEKS} incidents")).to_be_visible()
    first_update = page.get_by_role("img", name="Median time to first public update, per week")
    on_time = page.get_by_role("img", name="Share of promised updates that came on time, per week")
    expect(first_update).to_be_visible()
    expect(on_time).to_be_visible()
    assert first_update.bounding_box()["width"] > 300
    look("page")

    # The list is newest first; older weeks repeat some names.
    follow(page, page.get_by_role("link", name=incidents[-1].name).first)
    card = page.get_by_role("region", name="Response scorecard")
    expect(card).to_contain_text("First public update after 5 min")
    expect(card).to_contain_text("4 of 4 updates on time")
    card.scroll_into_view_if_needed()
    look("incident")
