"""Guessing API keys and hook tokens: repeated failures from one address slow down (429 with
Retry-After) and are logged without key material; valid keys from other addresses still work;
the limit fails open (and says so) if the cache is down."""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.core.cache import cache

from apps.api import throttling
from apps.api.throttling import AUTH_FAILURES_PER_MINUTE
from apps.incidents.models import Incident
from apps.integrations.alerts.services import create_alert_integration

from ..factories import ComponentFactory, member
from ..integrations.test_alerts_hooks import alertmanager_payload, am_alert

pytestmark = pytest.mark.django_db

URL = "/api/v1/organization/"
GUESS = "cnd_" + "x" * 40
ATTACKER = "203.0.113.9"


class _MidMinute:
    """The throttling module's clock, held in the middle of the current minute: failures are
    counted per calendar minute, and a test that ran across a minute's end saw its count start
    again and no limit reached (it happened in CI)."""

    def __init__(self) -> None:
        self.now = float(int(time.time()) // 60 * 60 + 30)
        self.monotonic = time.monotonic

    def time(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def mid_minute(monkeypatch):
    monkeypatch.setattr(throttling, "time", _MidMinute())


def guess_keys(client, times: int, address: str = ATTACKER) -> list[int]:
    return [
        client.get(URL, HTTP_AUTHORIZATION=f"Bearer {GUESS}", REMOTE_ADDR=address).status_code
        for _ in range(times)
    ]


def test_bad_keys_from_one_address_get_a_429_with_retry_after(client):
    statuses = guess_keys(client, AUTH_FAILURES_PER_MINUTE)

    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {GUESS}", REMOTE_ADDR=ATTACKER)

    assert statuses == [401] * AUTH_FAILURES_PER_MINUTE
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "failed" in response.json()["detail"]


def test_the_blocked_address_is_refused_even_with_a_valid_key(client, api_key):
    guess_keys(client, AUTH_FAILURES_PER_MINUTE)

    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {api_key.secret}", REMOTE_ADDR=ATTACKER)

    assert response.status_code == 429


def test_valid_keys_from_other_addresses_are_not_affected(client, api_key):
    guess_keys(client, AUTH_FAILURES_PER_MINUTE + 5)

    response = client.get(
        URL, HTTP_AUTHORIZATION=f"Bearer {api_key.secret}", REMOTE_ADDR="198.51.100.4"
    )

    assert response.status_code == 200


def test_successful_requests_do_not_count(client, api_key):
    for _ in range(AUTH_FAILURES_PER_MINUTE + 5):
        client.get(URL, HTTP_AUTHORIZATION=f"Bearer {api_key.secret}", REMOTE_ADDR=ATTACKER)

    assert guess_keys(client, 1) == [401]


def test_failures_are_logged_without_key_material(client, caplog):
    with caplog.at_level(logging.INFO, logger="apps.api.throttling"):
        guess_keys(client, AUTH_FAILURES_PER_MINUTE + 1)

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(ATTACKER in line and "failed" in line for line in warnings)
    assert not any(GUESS in r.getMessage() or "xxxx" in r.getMessage() for r in caplog.records)


def test_the_limit_fails_open_and_logs_when_the_cache_is_down(client, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    for method in ("get", "add", "incr"):
        monkeypatch.setattr(cache, method, broken)

    with caplog.at_level(logging.WARNING, logger="apps.api.throttling"):
        statuses = guess_keys(client, AUTH_FAILURES_PER_MINUTE + 2)

    assert statuses == [401] * (AUTH_FAILURES_PER_MINUTE + 2)
    assert any("cache unavailable" in r.getMessage() for r in caplog.records)


# --- hook tokens ---------------------------------------------------------------------------


@pytest.fixture
def alertmanager(org, owner):
    ComponentFactory(organization=org, name="API")
    integration, token = create_alert_integration(
        org, actor=member(owner), kind="alertmanager", name="Prometheus"
    )
    integration.token = token
    return integration


def post_alert(client, url: str, address: str = ATTACKER):
    body = json.dumps(alertmanager_payload(am_alert("f1", "api")))
    return client.post(url, body, content_type="application/json", REMOTE_ADDR=address)


def test_guessed_hook_tokens_from_one_address_get_a_429(client, alertmanager):
    statuses = [
        post_alert(client, f"/hooks/hk_guess{number}/alertmanager").status_code
        for number in range(AUTH_FAILURES_PER_MINUTE)
    ]

    response = post_alert(client, f"/hooks/{alertmanager.token}/alertmanager")

    assert statuses == [404] * AUTH_FAILURES_PER_MINUTE
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "failed" in response.json()["detail"]
    assert Incident.objects.count() == 0


def test_the_real_sender_at_another_address_still_gets_through(client, alertmanager):
    for number in range(AUTH_FAILURES_PER_MINUTE + 5):
        post_alert(client, f"/hooks/hk_guess{number}/alertmanager")

    response = post_alert(client, f"/hooks/{alertmanager.token}/alertmanager", "10.1.2.3")

    assert response.status_code == 200
    assert Incident.objects.count() == 1
