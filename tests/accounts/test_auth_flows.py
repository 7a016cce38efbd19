from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


def link_in(message, prefix: str) -> str:
    match = re.search(rf"https?://[^/\s]+({re.escape(prefix)}[^\s]+)", message.body)
    assert match, message.body
    return match[1]


def logged_in_user(client):
    return client.get(reverse("accounts:profile")).wsgi_request.user


def test_sign_up_sends_a_verification_email_and_confirming_logs_in(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "Grace@Example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    user = User.objects.get(email="grace@example.com")
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("[Candor]")
    assert not logged_in_user(client).is_authenticated

    confirm_path = link_in(mail.outbox[0], "/accounts/confirm-email/")
    assert client.get(confirm_path).status_code == 200
    response = client.post(confirm_path)
    assert response.status_code == 302
    assert response.url == reverse("orgs:home")
    assert EmailAddress.objects.get(user=user).verified
    assert logged_in_user(client) == user


def test_an_unverified_user_cannot_log_in_with_a_password(client):
    user = UserFactory(email="unverified@example.com", verified=False)
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.url == reverse("account_email_verification_sent")
    assert not logged_in_user(client).is_authenticated


def test_log_in_with_a_password(client):
    user = UserFactory(email="pat@example.com")
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("orgs:home")
    assert logged_in_user(client) == user


def test_a_wrong_password_is_a_form_error(client):
    user = UserFactory(email="pat@example.com")
    response = client.post(reverse("account_login"), {"login": user.email, "password": "nope"})
    assert response.status_code == 200
    assert b'class="errorlist nonfield"' in response.content


def test_log_in_with_a_code_sent_by_email(client):
    user = UserFactory(email="coder@example.com")
    response = client.post(reverse("account_request_login_code"), {"email": user.email})
    assert response.status_code == 302
    assert response.url == reverse("account_confirm_login_code")
    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", mail.outbox[0].body, re.MULTILINE)[1]
    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert response.url == reverse("orgs:home")
    assert logged_in_user(client) == user


def test_a_wrong_login_code_does_not_log_in(client):
    user = UserFactory(email="coder@example.com")
    client.post(reverse("account_request_login_code"), {"email": user.email})
    response = client.post(reverse("account_confirm_login_code"), {"code": "WRONG1"})
    assert response.status_code == 200
    assert not logged_in_user(client).is_authenticated


def test_password_reset_by_email(client):
    user = UserFactory(email="forgetful@example.com")
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.url == reverse("account_reset_password_done")
    reset_path = link_in(mail.outbox[0], "/accounts/password/reset/key/")
    response = client.get(reset_path)
    # allauth moves the key into the session and redirects to a key-less URL.
    form_path = response.url
    new_password = "a brand new passphrase 42"
    response = client.post(form_path, {"password1": new_password, "password2": new_password})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new_password)


def test_change_password(client):
    user = UserFactory(email="changer@example.com")
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    new_password = "another long passphrase 7"
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new_password, "password2": new_password},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new_password)


def test_change_email_sends_a_verification_to_the_new_address(client):
    user = UserFactory(email="old@example.com")
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    response = client.post(reverse("account_email"), {"action_add": "", "email": "new@example.com"})
    assert response.status_code == 302
    assert mail.outbox[-1].to == ["new@example.com"]
    confirm_path = link_in(mail.outbox[-1], "/accounts/confirm-email/")
    client.post(confirm_path)
    assert EmailAddress.objects.get(email="new@example.com").verified


def test_totp_activation_then_login_asks_for_a_code(client, settings):
    user = UserFactory(email="secure@example.com")
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    # Turning on two-factor asks for the password again (allauth's reauthentication).
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = client.session["mfa.totp.secret"]
    code = format_hotp_value(hotp_value(secret, next(_counters())))
    response = client.post(reverse("mfa_activate_totp"), {"code": code})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    recovery = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    recovery_code = recovery.wrap().get_unused_codes()[0]
    codes_page = client.get(reverse("mfa_view_recovery_codes")).content.decode()
    assert recovery_code in codes_page
    assert "Keep these codes somewhere safe" in codes_page

    client.post(reverse("account_logout"))
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.url == reverse("mfa_authenticate")
    assert not logged_in_user(client).is_authenticated
    response = client.post(reverse("mfa_authenticate"), {"code": recovery_code})
    assert response.status_code == 302
    assert logged_in_user(client) == user


def _counters():
    from allauth.mfa.totp.internal.auth import yield_hotp_counters_from_time

    counters = list(yield_hotp_counters_from_time())
    # The middle one is "now"; the others are the tolerance window.
    yield counters[len(counters) // 2]


def test_repeated_failed_logins_lock_the_address_on_that_client_for_a_while(client):
    # Other clients and sign-in by code: tests/accounts/test_sign_in_limits.py.
    user = UserFactory(email="target@example.com")
    for _ in range(5):
        client.post(reverse("account_login"), {"login": user.email, "password": "wrong"})
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert b"Too many failed attempts from this device" in response.content
    assert not logged_in_user(client).is_authenticated
