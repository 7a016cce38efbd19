"""An owner requires two-factor authentication as a new owner would, in a browser; a member
without it is sent to set it up, and brought back to the page they asked for."""

from __future__ import annotations

import re
import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import expect

from tests.factories import PASSWORD

from .conftest import follow, submit, visit

pytestmark = pytest.mark.django_db(transaction=True)


def set_up_authenticator_app(page, look, step: str) -> None:
    """allauth's setup as a person does it: the password again, then a code from the app (here
    computed from the secret the page shows, as the app would)."""
    if "/accounts/reauthenticate/" in page.url:
        page.get_by_label("Password").fill(PASSWORD)
        submit(page, page.locator("main").get_by_role("button", name="Confirm"))
    assert "/accounts/2fa/totp/activate/" in page.url, page.url
    look(f"{step}-setup")
    secret = page.locator("#authenticator_secret").input_value()
    # A code read in the last seconds of its 30 s period may reach the server in the next one
    # (allauth accepts only the current period): wait for a fresh period, as a person would
    # when their app's countdown is nearly out.
    left = 30 - time.time() % 30
    if left < 6:
        time.sleep(left + 0.2)
    page.get_by_label("Authenticator code").fill(
        format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    )
    submit(page, page.locator("main").get_by_role("button", name="Activate"))
    expect(page.locator("main")).to_contain_text("Recovery Codes")
    look(f"{step}-recovery-codes")


def test_an_owner_requires_two_factor_and_a_member_sets_it_up(
    page, look, sign_in, org, owner, editor
):
    sign_in(owner)
    visit(page, "/dashboard/acme/settings/")
    requirement = page.get_by_label("Require two-factor authentication")
    # Not before the owner has it: the form says so.
    requirement.check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save settings").click()
    expect(page.locator("main")).to_contain_text(
        "Set up two-factor authentication for your own account first"
    )
    look("refused")

    follow(page, page.get_by_role("link", name="Your two-factor authentication"))
    follow(page, page.locator("main").get_by_role("link", name=re.compile("Activate", re.I)))
    set_up_authenticator_app(page, look, "owner")

    visit(page, "/dashboard/acme/settings/")
    page.get_by_label("Require two-factor authentication").check()
    submit(page, page.get_by_role("button", name="Save settings"))
    expect(page.locator("#two-factor-missing")).to_contain_text(
        "1 member still needs to set up two-factor authentication"
    )
    look("required")

    # The editor, without two-factor, opens an incident list and is sent to set it up.
    page.context.clear_cookies()
    sign_in(editor)
    page.goto("/dashboard/acme/incidents/")
    expect(page.locator(".messages")).to_contain_text(
        "Acme Cloud requires two-factor authentication of its members"
    )
    look("member-sent")
    set_up_authenticator_app(page, look, "member")
    follow(page, page.get_by_role("link", name="continue where you were"))
    assert page.url.endswith("/dashboard/acme/incidents/")
    look("member-back")

    visit(page, "/dashboard/acme/team/")
    expect(page.locator("#two-factor-missing")).to_contain_text("Every member has it.")
