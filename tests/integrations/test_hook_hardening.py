"""Hostile bodies on /hooks/: every one is a 400 with a JSON message saying what is wrong, never
a 500 or a 503 (Alertmanager and Grafana retry a 5xx forever), and nothing is written."""

from __future__ import annotations

import io
import json
import logging

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


def post_chunked(client, url, raw: bytes, *, terminated: bool = True):
    """A body as gunicorn hands over a chunked request: the de-chunked stream, ended at the
    body's end (wsgi.input_terminated), and no Content-Length."""
    return client.generic(
        "POST",
        url,
        b"",
        CONTENT_TYPE="application/json",
        **{
            "wsgi.input": io.BytesIO(raw),
            "wsgi.input_terminated": terminated,
            "HTTP_TRANSFER_ENCODING": "chunked",
        },
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


def test_a_chunked_body_on_a_server_that_cannot_read_it_is_a_411(client, alertmanager):
    body = json.dumps(alertmanager_payload(am_alert("f1", "api"))).encode()

    response = post_chunked(
        client, f"/hooks/{alertmanager.token}/alertmanager", body, terminated=False
    )

    assert response.status_code == 411
    assert "Content-Length" in response.json()["detail"]
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


# --- the token in a header, and out of Candor's logs ----------------------------------------


def test_the_token_can_travel_in_the_x_candor_token_header(client, alertmanager):
    body = json.dumps(alertmanager_payload(am_alert("f1", "api")))

    response = client.post(
        "/hooks/alertmanager",
        body,
        content_type="application/json",
        HTTP_X_CANDOR_TOKEN=alertmanager.token,
    )

    assert response.status_code == 200, response.json()
    assert Incident.objects.count() == 1


def test_the_token_can_travel_as_a_bearer_token(client, alertmanager):
    body = json.dumps(alertmanager_payload(am_alert("f1", "api")))

    response = client.post(
        "/hooks/alertmanager/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alertmanager.token}",
    )

    assert response.status_code == 200, response.json()
    assert Incident.objects.count() == 1


def test_a_header_url_without_a_token_is_a_401_saying_how_to_send_it(client, alertmanager):
    body = json.dumps(alertmanager_payload(am_alert("f1", "api")))

    response = client.post("/hooks/alertmanager", body, content_type="application/json")

    assert response.status_code == 401
    assert "X-Candor-Token" in response.json()["detail"]
    assert Incident.objects.count() == 0


def test_a_wrong_header_token_is_the_unknown_hook_404(client, alertmanager):
    body = json.dumps(alertmanager_payload(am_alert("f1", "api")))

    response = client.post(
        "/hooks/alertmanager", body, content_type="application/json", HTTP_X_CANDOR_TOKEN="hk_no"
    )

    assert response.status_code == 404
    assert "Unknown hook URL" in response.json()["detail"]


def test_a_header_token_of_another_kind_is_a_404(client, alertmanager):
    response = client.post(
        "/hooks/grafana",
        "{}",
        content_type="application/json",
        HTTP_X_CANDOR_TOKEN=alertmanager.token,
    )

    assert response.status_code == 404


def test_django_request_log_lines_do_not_carry_the_token(client, alertmanager, caplog):
    # A GET is a 405, which Django logs as "Method Not Allowed: <path>".
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(f"/hooks/{alertmanager.token}/alertmanager")

    assert response.status_code == 405
    lines = [record.getMessage() for record in caplog.records]
    assert any("/hooks/[token]/alertmanager" in line for line in lines)
    assert not any(alertmanager.token in line for line in lines)


def test_runserver_request_lines_do_not_carry_the_token(caplog):
    server_logger = logging.getLogger("django.server")
    server_logger.addHandler(caplog.handler)
    try:
        server_logger.warning(
            '"%s" %s %s', "POST /hooks/hk_s3cr3tT0ken/alertmanager HTTP/1.1", "400", "57"
        )
    finally:
        server_logger.removeHandler(caplog.handler)

    assert caplog.records[-1].getMessage() == ('"POST /hooks/[token]/alertmanager HTTP/1.1" 400 57')
