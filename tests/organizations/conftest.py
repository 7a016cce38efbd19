from __future__ import annotations

import pytest

from apps.organizations import dns


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The production hasher takes most of a second per user; these tests are not about it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_real_dns(monkeypatch):
    """No test may reach a DNS server: an unexpected lookup fails loudly."""

    def refuse(name: str) -> list[str]:
        raise AssertionError(f"unexpected DNS lookup of {name}; monkeypatch resolve_txt")

    monkeypatch.setattr(dns, "resolve_txt", refuse)


@pytest.fixture
def login(client):
    """login(user) -> the test client, logged in as user."""

    def as_user(user):
        client.force_login(user)
        return client

    return as_user
