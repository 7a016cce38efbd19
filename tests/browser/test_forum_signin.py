"""A customer signs in by emailed code on the status page's own subdomain
(`acme.status.localhost`, which Chromium resolves to this machine), at desktop and phone sizes:
the session is that host's alone, the application's host does not know it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.factories import PASSWORD, IncidentFactory

from .conftest import SIZES, submit, visit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page_site(site, settings):
    """The demo-like page's own address on the live server."""
    return f"http://acme.{settings.STATUS_PAGE_DOMAIN}:{urlsplit(site).port}"


@pytest.fixture
def page(browser, size, site, page_site):
    """As tests/browser/conftest.py's page, also allowed to reach the page's subdomain."""
    context = browser.new_context(viewport=SIZES[size], base_url=page_site)
    context.set_default_timeout(10_000)
    reachable = re.compile(rf"^({re.escape(site)}|{re.escape(page_site)})/")
    context.route(lambda url: not reachable.match(url), lambda route: route.abort())
    page = context.new_page()
    yield page
    context.close()


def test_a_customer_signs_in_with_an_emailed_code_on_the_page_subdomain(
    page, look, site, page_site, org
):
    incident = IncidentFactory(organization=org, name="API errors in eu-west")
    incident_path = f"/incidents/{incident.public_id}/"

    visit(page, f"/signin/?next={incident_path}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your email to comment")
    expect(page.locator(".sp-header")).to_contain_text("Acme Cloud")
    page.get_by_label("Email address").fill("nia@customer.test")
    look("email")
    submit(page, page.get_by_role("button", name="Email me a code"))

    expect(page.locator("main")).to_contain_text("We sent a sign-in code to nia@customer.test")
    (message,) = mail.outbox
    assert message.subject == "Your code to comment on the Acme Cloud status page"
    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", message.body, re.MULTILINE)[1]
    page.get_by_label("Code").fill("WRNG-CODE")
    submit_refused = page.get_by_role("button", name="Sign in")
    with page.expect_navigation():
        submit_refused.click()
    expect(page.locator("main")).to_contain_text("That code is not right")
    look("wrong-code")
    page.get_by_label("Code").fill(code)
    submit(page, page.get_by_role("button", name="Sign in"))

    expect(page.get_by_role("heading", level=1)).to_have_text("How should we show your name?")
    page.get_by_role("textbox", name="Your name").fill("Acme Cloud Support")
    with page.expect_navigation():
        page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("main")).to_contain_text("may not contain the organization")
    look("name-refused")
    page.get_by_role("textbox", name="Your name").fill("Nia")
    submit(page, page.get_by_role("button", name="Save and continue"))
    assert page.url == page_site + incident_path

    visit(page, "/signin/")
    expect(page.locator("main")).to_contain_text("Signed in as nia@customer.test")
    look("signed-in")

    # Signed in on the page's host only: the application host has its own (empty) session.
    page.goto(f"{site}/accounts/profile/")
    assert urlsplit(page.url).path == "/accounts/login/"

    page.goto(page_site + "/signin/")
    submit(page, page.get_by_role("button", name="Sign out"))
    visit(page, "/signin/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your email to comment")


def test_staff_signed_in_to_the_application_continue_as_staff_on_the_page_subdomain(
    page, look, site, page_site, org, owner
):
    # Signed in to the application (its host's cookie), not to the page's subdomain.
    page.goto(f"{site}/accounts/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    submit(page, page.locator("main").get_by_role("button", name=re.compile("sign in", re.I)))

    visit(page, "/signin/")
    look("staff-offer")
    submit(page, page.get_by_role("button", name="Sign in as Acme Cloud staff"))
    # Handed over: back on the page's own host, signed in there as staff.
    assert page.url == page_site + "/"
    visit(page, "/signin/")
    expect(page.locator("main")).to_contain_text("Signed in as alice@acme.test, Acme Cloud staff.")
    look("staff-signed-in")


def test_staff_not_yet_signed_in_sign_in_on_the_application_and_come_back(
    page, look, site, page_site, org, owner
):
    """The sign-in form on the application host ends on another host (the page's). Browsers
    check every redirect of a form against the form page's CSP form-action, so the last hop is
    a page that moves on by itself (apps/accounts/views.page_handoff): nothing is refused."""
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if m.type == "error" else None)
    visit(page, "/signin/")
    submit(page, page.get_by_role("button", name="Sign in as Acme Cloud staff"))
    assert page.url.startswith(f"{site}/accounts/login/"), page.url
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name=re.compile("sign in", re.I)).click()
    page.wait_for_url(page_site + "/")
    visit(page, "/signin/")
    expect(page.locator("main")).to_contain_text("Signed in as alice@acme.test, Acme Cloud staff.")
    assert messages == []
