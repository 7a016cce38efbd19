"""Hostile bodies on /hooks/: every one is a 400 with a JSON message saying what is wrong, never
a 500 or a 503 (Alertmanager and Grafana retry a 5xx forever), and nothing is written."""

from __future__ import annotations

import io
import json

import pytest

from apps.incidents.models import Incident
from apps.integrations.alerts.services import create_alert_integration
from apps.integrations.alerts.views_hooks import MAX_BODY_BYTES
from apps.integrations.models import AlertIntegration

from ..factories import ComponentFactory, member
from .test_alerts_hooks import alertmanager_payload, am_alert


@pytest.fixture
def alertmanager(org, owner):
    ComponentFactory(organization=org, name="API")
    integration, token = create_alert_integration(
        org, actor=member(owner), kind="alertmanager", name="Prometheus"
    )
    integration.token = token
    return integration


def post_raw(client, url, raw: bytes):
    return client.generic("POST", url, raw, content_type="application/json")


def post_chunked(client, url, raw: bytes):
    """A body as a WSGI server hands over a chunked request: the stream, no Content-Length."""
    return client.generic(
        "POST",
        url,
        b"",
        CONTENT_TYPE="application/json",
        **{"wsgi.input": io.BytesIO(raw), "HTTP_TRANSFER_ENCODING": "chunked"},
    )


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"version": "4", "status": "firing", "alerts": [], "receiver": "\\ud800"}', "surrogate"),
        (b'{"version": "4", "status": "firing", "alerts": [], "receiver": "a\\u0000b"}', "NUL"),
        (b'{"version": "4", "version": "4", "status": "firing", "alerts": []}', "duplicate"),
        (b'{"version": "4", "status": "firing", "alerts": [], "x": NaN}', "NaN"),
    ],
    ids=["deep-nesting", "lone-surrogate", "nul", "duplicate-key", "nan"],
)
def test_a_hostile_body_is_a_400_saying_what_is_wrong(client, alertmanager, raw, words):
    response = post_raw(client, f"/hooks/{alertmanager.token}/alertmanager", raw)

    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert Incident.objects.count() == 0


def test_a_chunked_body_without_content_length_is_read(client, alertmanager):
    body = json.dumps(alertmanager_payload(am_alert("f1", "api"))).encode()

    response = post_chunked(client, f"/hooks/{alertmanager.token}/alertmanager", body)

    assert response.status_code == 200, response.json()
    assert Incident.objects.count() == 1


def test_a_chunked_body_over_the_limit_is_a_413(client, alertmanager):
    body = b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}'

    response = post_chunked(client, f"/hooks/{alertmanager.token}/alertmanager", body)

    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert Incident.objects.count() == 0


def test_the_management_api_refuses_duplicate_keys(api, admin_key):
    raw = b'{"name": "Prometheus", "name": "Other", "kind": "generic"}'

    response = api(admin_key).generic(
        "POST", "/api/v1/integrations/", raw, content_type="application/json"
    )

    assert response.status_code == 400
    assert "duplicate key" in response.json()["detail"]
    assert "name" in response.json()["detail"]
    assert AlertIntegration.objects.count() == 0


def test_a_severity_map_is_capped(api, admin_key):
    mapping = {f"sev{number}": "major_outage" for number in range(10_000)}

    response = api(admin_key).post(
        "/api/v1/integrations/",
        {"name": "x", "kind": "generic", "severity_map": mapping},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "at most 50" in response.json()["detail"]
    assert AlertIntegration.objects.count() == 0


def test_a_severity_map_of_50_is_accepted(api, admin_key):
    mapping = {f"sev{number}": "major_outage" for number in range(50)}

    response = api(admin_key).post(
        "/api/v1/integrations/",
        {"name": "x", "kind": "generic", "severity_map": mapping},
        content_type="application/json",
    )

    assert response.status_code == 201, response.json()
