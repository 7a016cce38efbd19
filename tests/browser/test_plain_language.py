"""Plain-language help in a browser, as an editor writes an update at desktop and phone sizes:
the findings follow the typing (htmx), the update is posted with its jargon all the same, and
without JavaScript "Check wording" brings the page back with the findings and the text kept.
Screenshots: var/screenshots/plain-*.png."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import expect

from apps.incidents import services
from apps.status.models import ComponentStatus
from tests.factories import ComponentFactory, member

from .conftest import OVERFLOWING, SCREENSHOTS, submit, visit

pytestmark = pytest.mark.django_db(transaction=True)

TEXT = (
    "We saw elevated latency from an upstream DNS provider, and the root cause is still "
    "being looked at by the team that runs the network between our regions and the provider. "
    "It was just a brief blip."
)


@pytest.fixture
def shot(page, size):
    def take(step: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"plain-{step}-{size}.png", full_page=True)
        content, window = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert content <= window, f"{page.url} scrolls sideways at {size} ({step}):\n" + "\n".join(
            page.evaluate(OVERFLOWING)
        )

    return take


@pytest.fixture
def incident(org, editor):
    api = ComponentFactory(organization=org, name="API")
    return services.open_incident(
        org, actor=member(editor), name="Slow API in Europe", status="investigating",
        body="Looking.", components={api: ComponentStatus.DEGRADED_PERFORMANCE},
    )  # fmt: skip


def test_the_findings_follow_the_typing_and_never_block_posting(
    page, sign_in, editor, org, incident, shot
):
    sign_in(editor)
    visit(page, f"/dashboard/{org.slug}/incidents/{incident.public_id}/")
    panel = page.locator(".plain-help")
    expect(panel).to_contain_text("Hints only")

    message = page.get_by_label("Message")
    message.fill("")
    message.press_sequentially(TEXT[:40] + ".", delay=5)  # keyup events, as a person types
    findings = panel.locator(".plain-findings")
    # The server's first check loads textstat's pronunciation dictionary (about a second, more
    # on a busy machine), hence the longer wait.
    expect(findings).to_contain_text("Reading ease", timeout=20_000)
    expect(findings).to_contain_text("“latency”")

    message.fill(TEXT)
    message.press("End")  # one more keyup: the panel checks the whole text
    expect(findings).to_contain_text("“brief blip”")
    expect(findings).to_contain_text("Long sentence")
    expect(findings).to_contain_text("Plainer: why it happened")
    panel.scroll_into_view_if_needed()
    shot("live-panel")

    submit(page, page.get_by_role("button", name="Post update"))
    expect(page.locator(".messages")).to_contain_text("Update posted.")
    assert incident.updates.filter(body=TEXT).exists()


@pytest.mark.parametrize("size", ["desktop"])
def test_check_wording_works_without_javascript(browser, site, editor, org, incident, size):
    context = browser.new_context(java_script_enabled=False, base_url=site)
    client = Client()
    client.force_login(editor)
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": site,
            }
        ]
    )
    page = context.new_page()
    visit(page, f"/dashboard/{org.slug}/incidents/{incident.public_id}/")
    page.get_by_label("Message").fill(TEXT)
    submit(page, page.get_by_role("button", name="Check wording"))

    expect(page.get_by_label("Message")).to_have_value(TEXT)
    expect(page.locator(".plain-findings")).to_contain_text("“upstream”")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"plain-no-js-{size}.png", full_page=True)
    assert incident.updates.count() == 1
    context.close()
