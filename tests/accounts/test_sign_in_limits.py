"""Failed password sign-ins are limited per address *and* client, so a stranger who knows an
address cannot lock its owner out; a ceiling per address holds against guessing from many
clients; an emailed code (proof of the mailbox) always lets the owner in."""

from __future__ import annotations

import logging
import re
import time as real_time

import pytest
from allauth.core.internal import ratelimit
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.accounts import adapter as account_adapter
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"
OWNER = "198.51.100.20"


class Clock:
    """time.time() for allauth's rate limits and the adapter's "try again in" (only those)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now

    monotonic = staticmethod(real_time.monotonic)
    sleep = staticmethod(real_time.sleep)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(ratelimit, "time", fake)
    monkeypatch.setattr(account_adapter, "time", fake)
    return fake


@pytest.fixture
def owner_account(db):
    return UserFactory(email="owner@example.com")


def client_at(ip: str) -> Client:
    return Client(REMOTE_ADDR=ip)


def sign_in(client: Client, email: str, password: str):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def signed_in_user(client: Client):
    return client.get(reverse("accounts:profile")).wsgi_request.user


def fail(ip: str, email: str, times: int) -> None:
    client = client_at(ip)
    for _ in range(times):
        response = sign_in(client, email, "not-the-password")
        assert response.status_code == 200


def sign_in_by_code(client: Client, email: str):
    mail.outbox.clear()
    response = client.post(reverse("account_request_login_code"), {"email": email})
    assert response.status_code == 302, response.content
    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", mail.outbox[0].body, re.MULTILINE)[1]
    return client.post(reverse("account_confirm_login_code"), {"code": code})


def test_a_stranger_failing_elsewhere_does_not_lock_the_owner_out(clock, owner_account):
    fail(ATTACKER, owner_account.email, 8)
    owner = client_at(OWNER)
    response = sign_in(owner, owner_account.email, PASSWORD)
    assert response.status_code == 302
    assert signed_in_user(owner) == owner_account


def test_the_stranger_is_limited_and_told_what_to_do(clock, owner_account):
    fail(ATTACKER, owner_account.email, 5)
    attacker = client_at(ATTACKER)
    # Even the right password is refused from the locked client, with how long and the way in.
    response = sign_in(attacker, owner_account.email, PASSWORD)
    assert response.status_code == 200
    assert not signed_in_user(attacker).is_authenticated
    body = response.content.decode()
    assert "Too many failed attempts from this device; try again in 5 minutes" in body
    assert f'<a href="{reverse("account_request_login_code")}">sign in with a code' in body

    clock.advance(4 * 60)
    response = sign_in(attacker, owner_account.email, "still-wrong")
    assert "try again in 1 minute," in response.content.decode()
    clock.advance(61)  # the window has passed
    assert sign_in(attacker, owner_account.email, PASSWORD).status_code == 302


def test_the_owner_locked_on_their_own_device_signs_in_by_code(clock, owner_account):
    fail(OWNER, owner_account.email, 5)
    owner = client_at(OWNER)
    assert sign_in(owner, owner_account.email, PASSWORD).status_code == 200
    response = sign_in_by_code(owner, owner_account.email)
    assert response.status_code == 302
    assert response.url == reverse("orgs:home")
    assert signed_in_user(owner) == owner_account


def test_one_client_within_its_own_limit_never_reaches_the_address_ceiling(clock, owner_account):
    # Five failures every five minutes for two hours: as fast as one client is allowed.
    for _ in range(24):
        fail(ATTACKER, owner_account.email, 5)
        clock.advance(5 * 60 + 1)
    owner = client_at(OWNER)
    assert sign_in(owner, owner_account.email, PASSWORD).status_code == 302


def test_failures_from_many_clients_reach_the_ceiling_then_only_a_code_works(clock, owner_account):
    for n in range(20):  # 20 clients x 5 = the ceiling of 100 an hour
        fail(f"192.0.2.{n + 1}", owner_account.email, 5)
    owner = client_at(OWNER)
    response = sign_in(owner, owner_account.email, PASSWORD)
    assert response.status_code == 200
    assert not signed_in_user(owner).is_authenticated
    body = response.content.decode()
    assert "Too many failed attempts to sign in to this account" in body
    assert "paused for 60 minutes" in body
    assert f'<a href="{reverse("account_request_login_code")}">Sign in with a code' in body
    # Every other address is unaffected.
    other = UserFactory(email="someone-else@example.com")
    assert sign_in(client_at(OWNER), other.email, PASSWORD).status_code == 302
    # The mailbox's owner gets in by code.
    assert sign_in_by_code(owner, owner_account.email).status_code == 302
    assert signed_in_user(owner) == owner_account
    # And an hour later, with a password again.
    clock.advance(3601)
    assert sign_in(client_at("198.51.100.99"), owner_account.email, PASSWORD).status_code == 302


def test_a_correct_password_does_not_count_as_a_failure(clock, owner_account):
    owner = client_at(OWNER)
    for _ in range(7):
        assert sign_in(owner, owner_account.email, PASSWORD).status_code == 302
        owner.logout()


def test_failures_are_logged_without_the_password(clock, owner_account, caplog):
    caplog.set_level(logging.INFO, logger="apps.accounts.adapter")
    fail(ATTACKER, owner_account.email, 6)
    text = caplog.text
    assert f"Password sign-in failed: owner@example.com from {ATTACKER}" in text
    assert f"Password sign-in refused (login_failed): owner@example.com from {ATTACKER}" in text
    assert "not-the-password" not in text


# --- asking for sign-in codes: the same rule (adapter.consume_login_code_request) -------------


def ask_for_code(ip: str, email: str):
    return client_at(ip).post(reverse("account_request_login_code"), {"email": email})


def test_a_stranger_asking_for_codes_does_not_stop_the_owner_getting_one(clock, owner_account):
    for _ in range(3):
        assert ask_for_code(ATTACKER, owner_account.email).status_code == 302
    # The stranger's own client is limited (allauth's form error, no mail)...
    mail.outbox.clear()
    response = ask_for_code(ATTACKER, owner_account.email)
    assert response.status_code == 200
    assert b"Too many failed login attempts" in response.content
    assert mail.outbox == []
    # ...and the owner, elsewhere, still gets a code and signs in with it.
    owner = client_at(OWNER)
    response = sign_in_by_code(owner, owner_account.email)
    assert response.status_code == 302
    assert signed_in_user(owner) == owner_account


def test_one_client_asking_for_codes_stops_at_ten_an_hour(clock, owner_account):
    for _ in range(10):
        assert ask_for_code(ATTACKER, owner_account.email).status_code == 302
        clock.advance(61)
    assert ask_for_code(ATTACKER, owner_account.email).status_code == 200
    clock.advance(3600)
    assert ask_for_code(ATTACKER, owner_account.email).status_code == 302


def test_codes_asked_from_many_clients_reach_the_address_ceiling(clock, owner_account):
    # 60 an hour per address from every client together: bounds the mail an address receives.
    for client_number in range(60):
        assert ask_for_code(f"203.0.113.{client_number}", owner_account.email).status_code == 302
    mail.outbox.clear()
    assert ask_for_code(OWNER, owner_account.email).status_code == 200
    assert mail.outbox == []
    # The refused request did not use up the owner's own client's allowance.
    clock.advance(3601)
    assert ask_for_code(OWNER, owner_account.email).status_code == 302
    assert len(mail.outbox) == 1


def test_code_requests_are_counted_for_the_address_whatever_its_case(clock, owner_account):
    for _ in range(3):
        ask_for_code(ATTACKER, owner_account.email.upper())
    assert ask_for_code(ATTACKER, owner_account.email).status_code == 200
