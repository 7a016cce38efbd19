from __future__ import annotations

import time

import pytest
from django.test import override_settings

from apps.core import views


def fail(message: str):
    def check() -> None:
        raise ConnectionError(message)

    return check


def test_healthz_answers_200_without_touching_the_database(client):
    # No `db` fixture: pytest-django makes any database access here an error.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_answers_200_when_everything_answers(client, db):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
        "failing": [],
    }


@pytest.mark.parametrize("part", ["database", "cache"])
def test_readyz_answers_503_naming_the_part_that_failed(client, db, monkeypatch, part):
    monkeypatch.setitem(views.CHECKS, part, fail("db.internal:5432 refused user candor"))

    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["failing"] == [part]
    assert body["checks"][part] == "error: ConnectionError"


def test_readyz_does_not_reveal_error_messages(client, db, monkeypatch):
    monkeypatch.setitem(views.CHECKS, "database", fail("db.internal:5432 refused user candor"))

    response = client.get("/readyz")

    assert b"db.internal" not in response.content


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_readyz_answers_503_quickly_when_the_broker_is_unreachable(client, db):
    started = time.monotonic()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert response.json()["checks"]["database"] == "ok"
    assert time.monotonic() - started < 3


def test_health_endpoints_refuse_other_methods(client, db):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405
