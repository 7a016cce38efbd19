"""A reader whose browser asks for German, who then switches the page to Japanese: the status
page, an incident page, the subscribe flow and the confirmation mail in each language, and the
reader's own time zone (issue #15). Expected words come from the catalogs, so a better
translation does not break the test."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from tests.factories import ComponentFactory, IncidentFactory, IncidentUpdateFactory

from .conftest import SIZES, follow, link_in_mail, submit, visit

pytestmark = pytest.mark.django_db(transaction=True)


def words(language: str, function, *args) -> str:
    with translation.override(language):
        return str(function(*args))


@pytest.fixture
def german(browser, size, site):
    """A browser set up for a German reader in Berlin (Accept-Language: de-DE)."""
    context = browser.new_context(
        viewport=SIZES[size], base_url=site, locale="de-DE", timezone_id="Europe/Berlin"
    )
    context.set_default_timeout(10_000)
    context.route(re.compile(r"^(?!" + re.escape(site) + r"/)"), lambda route: route.abort())
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def outage(org):
    ComponentFactory(organization=org, name="Zahlungs-API")
    ComponentFactory(organization=org, name="ウェブサイト")
    incident = IncidentFactory(organization=org, name="Slow payments")
    IncidentUpdateFactory(incident=incident, body="Payments take up to a minute. We are on it.")
    return incident


def test_german_from_the_browser_then_japanese_from_the_switcher(german, outage, size, request):
    page = german
    shots = f"var/screenshots/{request.node.originalname}"
    visit(page, "/s/acme/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(
        page.get_by_role("link", name=words("de", gettext, "Subscribe to updates"))
    ).to_be_visible()
    expect(page.locator("body")).to_contain_text(words("de", gettext, "Components"))
    # Times in the reader's zone (Berlin), with the UTC time on hover.
    first_time = page.locator("time[data-local]").first
    expect(first_time).to_have_attribute("title", re.compile("UTC$"))
    page.screenshot(path=f"{shots}-de-{size}.png", full_page=True)

    follow(page, page.get_by_role("link", name="Slow payments").first)
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("h1")).to_have_attribute("dir", "auto")
    # Times in the reader's zone (Berlin: MEZ in December) and language, UTC on hover.
    began = page.locator("time[data-local]").first
    expect(began).to_have_attribute("title", re.compile("UTC$"))
    expect(began).to_contain_text("MEZ")

    # The switcher at the foot of the page: Japanese from now on, whatever the browser asks.
    switcher = page.get_by_role("navigation", name=words("de", gettext, "Language"))
    follow(page, switcher.get_by_role("link", name="日本語"))
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("navigation", name=words("ja", gettext, "Language"))).to_contain_text(
        "Deutsch"
    )
    page.screenshot(path=f"{shots}-ja-incident-{size}.png", full_page=True)

    visit(page, "/s/acme/")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    follow(page, page.get_by_role("link", name=words("ja", gettext, "Subscribe to updates")))
    page.get_by_label(re.compile(words("ja", gettext, "Email address"))).first.fill(
        "kenji@example.test"
    )
    submit(page, page.locator("form:has(#id_email-email) button[type=submit]"))
    page.screenshot(path=f"{shots}-ja-subscribed-{size}.png", full_page=True)

    [message] = [m for m in mail.outbox if m.to == ["kenji@example.test"]]
    html = message.alternatives[0][0]
    assert '<html lang="ja"' in html
    assert not message.subject.isascii()
    # The link in the mail confirms, and the confirmation page is Japanese too.
    visit(page, link_in_mail(message, "/subscribe/confirm/"))
    expect(page.locator("html")).to_have_attribute("lang", "ja")


def test_a_page_offering_one_language_has_no_switcher(german, org, outage):
    org.languages = ["fr"]
    org.default_language = "fr"
    org.save(update_fields=["languages", "default_language"])
    visit(german, "/s/acme/")
    expect(german.locator("html")).to_have_attribute("lang", "fr")
    expect(german.locator("nav.sp-languages")).to_have_count(0)
    expect(german.locator("body")).to_contain_text(words("fr", gettext, "Subscribe to updates"))
