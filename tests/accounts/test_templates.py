"""Every allauth page renders inside Candor's layout, not allauth's bare default."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ANONYMOUS_PAGES = [
    "account_login",
    "account_signup",
    "account_request_login_code",
    "account_reset_password",
    "account_reset_password_done",
    "account_email_verification_sent",
]
# Pages that ask something of a logged-in user before going on: entrance layout, no tabs.
LOGGED_IN_ENTRANCE_PAGES = ["account_logout", "account_reauthenticate"]
LOGGED_IN_PAGES = [
    "account_email",
    "account_change_password",
    "mfa_index",
    "mfa_activate_totp",
    "accounts:profile",
]


def assert_candor_layout(response) -> None:
    content = response.content.decode()
    assert response.status_code == 200
    assert 'class="brand"' in content
    assert "/static/css/app.css" in content
    assert "auth-card" in content
    assert "Menu:" not in content  # allauth's default layout


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_anonymous_account_pages_use_the_candor_layout(client, name):
    assert_candor_layout(client.get(reverse(name)))


@pytest.mark.parametrize("name", LOGGED_IN_PAGES)
def test_account_management_pages_use_the_candor_layout(client, name):
    user = UserFactory(email="me@example.com")
    # A real login (not force_login) so pages that need a recent authentication render.
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    response = client.get(reverse(name))
    assert_candor_layout(response)
    assert b'aria-label="Account settings"' in response.content


@pytest.mark.parametrize("name", LOGGED_IN_ENTRANCE_PAGES)
def test_logged_in_confirmation_pages_use_the_candor_layout(client, name):
    client.force_login(UserFactory(email="me@example.com"))
    assert_candor_layout(client.get(reverse(name)))


def test_the_login_page_offers_a_code_and_a_password_reset(client):
    content = client.get(reverse("account_login")).content.decode()
    assert reverse("account_request_login_code") in content
    assert reverse("account_reset_password") in content
    assert reverse("account_signup") in content
    assert "<label" in content


def test_the_page_title_names_the_page(client):
    assert b"<title>Sign In \xc2\xb7 Candor</title>" in client.get(
        reverse("account_login")
    ).content.replace(b"\n", b"").replace(b"    ", b"")


def test_account_emails_are_signed_by_candor(client):
    from django.core import mail

    client.post(reverse("account_request_login_code"), {"email": UserFactory().email})
    assert "Hello from Candor" in mail.outbox[0].body
    assert "testserver" not in mail.outbox[0].body


def test_form_errors_use_the_errorlist_class(client):
    response = client.post(
        reverse("account_signup"), {"email": "x@example.com", "password1": "a", "password2": "b"}
    )
    assert b'class="errorlist' in response.content
