"""The main flows, as a person does them in a browser, at desktop and phone sizes.

Each flow clicks the links a person would click, checks that they open, that the texts read
as typed and that nothing scrolls sideways, and keeps screenshots in var/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.factories import PASSWORD

from .conftest import follow, link_in_mail, submit, visit

pytestmark = pytest.mark.django_db(transaction=True)

# Angle brackets and a plus are ordinary text in an update: readers must see them as typed.
ANGLE_BRACKETS = "Send the header <X-Request-Id> to support, and use <Ctrl>+<R> to retry."


def test_sign_up_and_create_an_organization(page, look):
    visit(page, "/accounts/signup/")
    page.get_by_label("Email").first.fill("grace@hopper.test")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    look("sign-up")
    submit(page, page.locator("main").get_by_role("button", name=re.compile("sign up", re.I)))
    look("check-inbox")

    (message,) = mail.outbox
    assert message.to == ["grace@hopper.test"]
    visit(page, link_in_mail(message, "/accounts/confirm-email/"))
    look("confirm-email")
    submit(page, page.locator("main").get_by_role("button", name=re.compile("confirm", re.I)))

    # Confirming signed them in: the dashboard opens, inviting them to make an organization.
    visit(page, "/dashboard/")
    assert page.url.endswith("/dashboard/")
    look("dashboard-empty")
    follow(page, page.locator("main").get_by_role("link", name="Create an organization"))
    page.get_by_label("Name").fill("Hopper Compilers")
    expect(page.get_by_label("Address")).to_have_value("hopper-compilers")
    page.get_by_label("Time zone").select_option("Europe/Paris")
    look("new-organization")
    submit(page, page.get_by_role("button", name="Create organization"))

    assert page.url.endswith("/dashboard/hopper-compilers/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hopper Compilers")
    look("overview")
    follow(page, page.get_by_role("link", name=re.compile("View status page")).first)
    visit(page, "/s/hopper-compilers/")
    expect(page.locator("body")).to_contain_text("Hopper Compilers")
    look("status-page")


def test_add_components(page, look, sign_in, org, owner):
    sign_in(owner)
    visit(page, "/dashboard/acme/")
    follow(page, page.get_by_role("link", name="Components", exact=True))

    def add_component(link: str, name: str, description: str) -> None:
        follow(page, page.get_by_role("link", name=link))
        page.get_by_label("Name").fill(name)
        page.get_by_label("Description (optional)").fill(description)
        look("add-component")
        submit(page, page.get_by_role("button", name="Add component"))
        expect(page.locator("main")).to_contain_text(name)

    # An empty list offers starter components or one added by hand; then "Add component".
    add_component("Add one by hand", "API", "The REST API at api.acme.test")
    add_component("Add component", "Dashboard & reports", "Where <customers> see their usage")
    look("components")

    visit(page, "/s/acme/")
    components = page.locator("section.sp-components")
    expect(components).to_contain_text("API")
    expect(components).to_contain_text("Dashboard & reports")
    look("status-page")
