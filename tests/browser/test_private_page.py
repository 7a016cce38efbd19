"""A private status page tried as a new reader would, on the page's own subdomain
(`acme.status.localhost`): asked to sign in, let in by code with an address at an allowed
domain, shown whom the page is for (and a way out) with any other address."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from apps.organizations.principals import Member
from apps.organizations.services import set_page_visibility
from tests.factories import ComponentFactory, IncidentFactory

from .conftest import SIZES, submit, visit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page_site(site, settings):
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


@pytest.fixture
def private_page(org, owner):
    ComponentFactory(organization=org, name="Ledger engine")
    IncidentFactory(organization=org, name="Ledger engine is slow")
    set_page_visibility(
        org, actor=Member.of(owner, org), visibility="private", allowed_domains="acme-corp.test"
    )
    return org


def sign_in_by_code(page, email: str):
    page.get_by_label("Email address").fill(email)
    submit(page, page.get_by_role("button", name="Email me a code"))
    message = mail.outbox[-1]
    assert message.subject == "Your code to sign in to the Acme Cloud status page"
    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", message.body, re.MULTILINE)[1]
    page.get_by_label("Code").fill(code)
    # Not `submit`: the refusal page is a 403 on purpose; each test checks what it got.
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def test_a_reader_at_an_allowed_domain_signs_in_and_sees_the_page(
    page, look, page_site, private_page
):
    visit(page, "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("This status page is private")
    expect(page.locator("main")).not_to_contain_text("Ledger engine")
    look("asked-to-sign-in")
    sign_in_by_code(page, "rita@acme-corp.test")

    assert page.url == page_site + "/"
    expect(page.locator("main")).to_contain_text("Ledger engine is slow")
    look("the-page")


def test_a_reader_at_another_domain_is_told_whom_the_page_is_for(
    page, look, page_site, private_page
):
    visit(page, "/history/")
    sign_in_by_code(page, "sam@elsewhere.test")

    expect(page.get_by_role("heading", level=1)).to_have_text("This status page is private")
    main = page.locator("main")
    expect(main).to_contain_text("private to Acme Cloud: people with an address at @acme-corp.test")
    expect(main).to_contain_text("sam@elsewhere.test")
    expect(main).not_to_contain_text("Ledger engine")
    look("refused")
    submit(page, page.get_by_role("button", name="Sign out"))
    expect(page.get_by_label("Email address")).to_be_visible()
