from __future__ import annotations

import time

import pytest

from apps.forum.rules import (
    check_display_name,
    check_form_submission,
    customer_display_name,
    sign_form_timestamp,
)
from tests.factories import UserFactory


@pytest.mark.parametrize(
    "name",
    [
        "Acme Cloud",
        "acme cloud fan",
        "AcmeCloud",
        "acme",
        "Staff",
        "Jane (support)",
        "SupportBot",
        "TheAdmin",
        "moderator",
        "Official updates",
        "Ca\u202esey",
        "Jane\u200bDoe",
    ],
)
def test_impersonating_names_are_refused(org, name):
    assert check_display_name(name, org) is not None


@pytest.mark.parametrize("name", ["Casey Jones", "Badminton fan", "J. Doe"])
def test_ordinary_names_pass(org, name):
    assert check_display_name(name, org) is None


def test_the_refusal_names_the_reason(org):
    assert check_display_name("Acme Cloud Staff", org) == (
        "Display names may not contain the organization's name (Acme Cloud)."
    )
    assert check_display_name("Help Desk Support", org) == (
        "Display names may not contain the word “support”."
    )


def test_a_customer_impersonating_staff_is_shown_by_their_email_local_part(org):
    user = UserFactory(email="kim@customer.test", display_name="Acme Support")
    assert customer_display_name(user, org) == "kim"


def test_a_customer_whose_local_part_also_impersonates_is_shown_as_customer(org):
    user = UserFactory(email="support@customer.test", display_name="Staff")
    assert customer_display_name(user, org) == "Customer"


def test_a_customer_with_an_honest_name_keeps_it(org):
    user = UserFactory(email="kim@customer.test", display_name="Kim Lee")
    assert customer_display_name(user, org) == "Kim Lee"


def test_a_signed_form_filled_in_by_a_person_passes():
    token = sign_form_timestamp(now=time.time() - 20)
    assert check_form_submission(token, honeypot="") is None


def test_a_filled_honeypot_is_refused():
    token = sign_form_timestamp(now=time.time() - 20)
    assert "Leave the last field empty" in check_form_submission(token, honeypot="http://spam")


def test_a_form_posted_too_fast_is_refused():
    token = sign_form_timestamp()
    assert "quicker than a person" in check_form_submission(token, honeypot="")


def test_a_stale_form_is_refused():
    token = sign_form_timestamp(now=time.time() - 3 * 60 * 60)
    assert check_form_submission(token, honeypot="") == (
        "The form has expired. Reload the page and try again."
    )


def test_a_forged_timestamp_is_refused():
    token = sign_form_timestamp(now=time.time() - 20)
    assert "was changed" in check_form_submission(token[:-2] + "xx", honeypot="")
