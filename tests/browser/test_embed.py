"""The banner on an organization's own site, tried as a reader would: a plain HTML page on
another origin (a second local server) carries the one-line snippet; during an incident it shows
the banner, the reader follows it to the discussion, dismisses it; after the incident is
resolved it shows nothing. Also the dashboard page with its live preview.
Screenshots: var/screenshots/test_*-<step>-<desktop|phone>.png."""

from __future__ import annotations

import functools
import http.server
import threading
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.incidents import services as incident_services
from tests.factories import ComponentFactory, IncidentFactory, IncidentUpdateFactory, member

from .conftest import follow, visit

pytestmark = pytest.mark.django_db(transaction=True)

SITE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Shop</title></head>
<body style="margin:0;font-family:sans-serif">
<header style="padding:1rem;background:#eee"><strong>Acme Shop</strong></header>
<main style="padding:1rem"><h1>Welcome to the shop</h1><p>Buy things here.</p></main>
{snippet}
</body></html>
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def customer_site(tmp_path, site, page):
    """http://127.0.0.1:<port>/ (another origin than the status page) serving index.html with
    the snippet and plain.html without it."""
    snippet = f'<script src="{site}/s/acme/embed.js" async></script>'
    (tmp_path / "index.html").write_text(SITE_PAGE.format(snippet=snippet))
    (tmp_path / "plain.html").write_text(SITE_PAGE.format(snippet=""))
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    # The browser may reach the live server only (conftest); this second local origin too.
    page.route(f"{origin}/**", lambda route: route.continue_())
    yield origin
    server.shutdown()
    server.server_close()


@pytest.fixture
def errors(page):
    found: list[str] = []
    page.on("pageerror", lambda error: found.append(str(error)))
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    return found


@pytest.fixture
def outage(org):
    ComponentFactory(organization=org, name="Checkout")
    now = timezone.now()
    incident = IncidentFactory(
        organization=org,
        name="Payments are failing for some cards",
        started_at=now - timedelta(minutes=30),
        next_update_due=now + timedelta(minutes=25),
    )
    IncidentUpdateFactory(
        incident=incident,
        display_at=now - timedelta(minutes=8),
        body="Some card payments fail. We are working with our payment provider.",
    )
    return incident


def banner(page):
    return page.locator("[data-candor-banner]")


def test_the_banner_leads_readers_to_the_discussion_and_goes_when_resolved(
    page, size, look, customer_site, outage, owner, errors
):
    visit(page, f"{customer_site}/plain.html")
    plain_globals = set(page.evaluate("Object.keys(window)"))

    visit(page, f"{customer_site}/")
    expect(banner(page)).to_contain_text("Payments are failing for some cards")
    expect(banner(page)).to_contain_text("Investigating")
    expect(banner(page)).to_contain_text("Updated")
    expect(banner(page)).to_contain_text("Next update by")
    expect(banner(page)).to_contain_text("(in 2")
    look("banner")
    # One namespace and no cookie, on either origin.
    assert set(page.evaluate("Object.keys(window)")) - plain_globals == {"CandorBanner"}
    assert page.evaluate("document.cookie") == ""
    assert page.context.cookies() == []

    # One click to the incident's discussion.
    follow(page, banner(page).get_by_role("link", name="Details and discussion"))
    assert page.url.endswith(f"/s/acme/incidents/{outage.public_id}/#discussion")
    expect(page.locator("#discussion")).to_be_visible()

    # Dismissed, it stays dismissed for this incident.
    visit(page, f"{customer_site}/")
    banner(page).get_by_role("button", name="Dismiss: Payments are failing for some cards").click()
    expect(banner(page)).to_have_count(0)
    visit(page, f"{customer_site}/")
    page.wait_for_load_state("networkidle")
    expect(banner(page)).to_have_count(0)

    # A new incident shows although the first was dismissed; resolved, nothing shows.
    page.evaluate("localStorage.clear()")
    incident_services.post_update(
        outage, actor=member(owner), status="resolved", body="Payments work again."
    )
    visit(page, f"{customer_site}/")
    page.wait_for_load_state("networkidle")
    expect(banner(page)).to_have_count(0)
    look("resolved")
    assert errors == []


def test_with_nothing_happening_the_snippet_shows_nothing_and_throws_nothing(
    page, customer_site, org, errors
):
    visit(page, f"{customer_site}/")
    page.wait_for_load_state("networkidle")
    expect(banner(page)).to_have_count(0)
    assert page.evaluate("typeof window.CandorBanner.refresh") == "function"
    assert errors == []


def test_a_title_with_markup_is_shown_as_text_and_never_runs(
    page, look, customer_site, org, errors
):
    IncidentFactory(organization=org, name='<img src=x onerror="window.pwned=1"> outage')
    visit(page, f"{customer_site}/")
    expect(banner(page)).to_contain_text('<img src=x onerror="window.pwned=1"> outage')
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.pwned") is None
    assert banner(page).locator("img").count() == 0
    look("markup")


def test_at_the_bottom_in_the_chosen_colours(page, customer_site, org, owner, outage):
    from apps.organizations.services import update_banner_settings

    update_banner_settings(
        org, actor=member(owner), position="bottom", background="#fff8e1", text_color="#3e2723"
    )
    visit(page, f"{customer_site}/")
    region = banner(page).get_by_role("region", name="Service status")
    expect(region).to_be_visible()
    assert region.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 248, 225)"
    box = region.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    assert abs(box["y"] + box["height"] - viewport["height"]) <= 1


def test_staff_set_the_banner_up_with_a_live_preview(page, size, look, sign_in, org, owner):
    sign_in(owner)
    visit(page, "/dashboard/acme/settings/banner/")
    preview = page.locator("[data-banner-preview] [data-candor-banner]")
    expect(preview).to_contain_text("Example: slow API responses")
    page.get_by_label("Bottom of the page").check()
    page.locator("#id_banner_background").evaluate(
        "e => { e.value = '#fff8e1'; e.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    page.locator("#id_banner_text_color").evaluate(
        "e => { e.value = '#3e2723'; e.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    region = preview.get_by_role("region", name="Service status")
    expect(region).to_have_css("background-color", "rgb(255, 248, 225)")
    assert page.locator("[data-banner-preview]").get_attribute("data-position") == "bottom"
    look("settings")
    page.get_by_role("button", name="Save banner settings").click()
    expect(page.get_by_text("Saved. Banners on your site use these settings now.")).to_be_visible()
    org.refresh_from_db()
    assert (org.banner_position, org.banner_background) == ("bottom", "#fff8e1")


def test_the_outage_page_redraws_only_when_something_changed(page, outage):
    # Count redraws of the state from the moment the page is parsed (its check with the status
    # page answers later).
    page.add_init_script(
        """document.addEventListener("DOMContentLoaded", () => {
          window.redraws = 0;
          const state = document.getElementById("state");
          if (state) new MutationObserver(() => { window.redraws += 1; })
            .observe(state, { childList: true });
        });"""
    )
    visit(page, "/s/acme/down/")
    expect(page.locator("#freshness")).to_contain_text("Checked with the status page")
    # The same state came back: nothing was redrawn (a redraw would replace the link a reader
    # is about to click).
    assert page.evaluate("window.redraws") == 0
    expect(page.get_by_role("link", name="Read every update and the discussion")).to_be_visible()


def test_the_outage_page_and_its_downloaded_copy_keep_readers_informed(
    page, size, look, client, customer_site, tmp_path, outage, owner, errors
):
    visit(page, "/s/acme/down/")
    expect(page.locator("h1")).to_have_text("We know something is wrong and we are working on it")
    expect(page.locator("article")).to_contain_text("Some card payments fail.")
    expect(page.locator(".next")).to_contain_text("(in 2")
    look("down")
    follow(page, page.get_by_role("link", name="Read every update and the discussion"))
    assert page.url.endswith(f"/s/acme/incidents/{outage.public_id}/#discussion")

    # The downloaded file, uploaded to the customer's CDN (here: the second origin).
    client.force_login(owner)
    download = client.get("/dashboard/acme/settings/banner/outage-page.html")
    (tmp_path / "error.html").write_bytes(download.content)
    visit(page, f"{customer_site}/error.html")
    expect(page.locator("#freshness")).to_contain_text("Checked with the status page at")
    expect(page.locator("article")).to_contain_text("Payments are failing for some cards")
    incident_services.post_update(
        outage, actor=member(owner), status="resolved", body="Payments work again."
    )
    page.reload()
    expect(page.locator("h1")).to_have_text("This service is not responding right now")
    expect(page.locator("#freshness")).to_contain_text("Checked with the status page at")
    look("down-refreshed")

    # Its subscribe form lands on the subscribe page with the address filled in.
    visit(page, "/s/acme/down/")
    page.get_by_label("Email address").fill("reader@example.org")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Subscribe").click()
    assert navigation.value.status == 200
    expect(page.get_by_label("Email address")).to_have_value("reader@example.org")
    assert errors == []
