"""Bad calls to /hooks/: the right 4xx, a JSON message, and no incident, state or status change.

Calls that fail authentication (token, bearer, HMAC) write nothing at all. Authenticated calls
with a bad body are logged as rejected, so staff can see why their alerts do not arrive.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.db import DatabaseError

from apps.incidents.models import Incident
from apps.integrations.alerts import services as alerts
from apps.integrations.alerts.services import create_alert_integration, update_alert_integration
from apps.integrations.alerts.views_hooks import MAX_BODY_BYTES
from apps.integrations.models import AlertEvent, AlertGroupState
from apps.status.models import ComponentStatusChange

from ..factories import ComponentFactory, member
from .test_alerts_hooks import alertmanager_payload, am_alert, grafana_alert, grafana_payload


@pytest.fixture
def alertmanager(org, owner):
    ComponentFactory(organization=org, name="API")
    integration, token = create_alert_integration(
        org, actor=member(owner), kind="alertmanager", name="Prometheus"
    )
    integration.token = token
    return integration


@pytest.fixture
def grafana(org, owner):
    ComponentFactory(organization=org, name="API")
    integration, token = create_alert_integration(
        org, actor=member(owner), kind="grafana", name="Grafana", hmac_secret="s3cret"
    )
    integration.token = token
    return integration


def nothing_changed() -> bool:
    return (
        Incident.objects.count() == 0
        and AlertGroupState.objects.count() == 0
        and ComponentStatusChange.objects.count() == 0
    )


def send(client, url, body, content_type="application/json", **extra):
    data = json.dumps(body) if isinstance(body, dict) else body
    return client.post(url, data=data, content_type=content_type, **extra)


def test_a_wrong_token_is_a_404_with_a_json_message(client, alertmanager):
    response = send(client, "/hooks/hk_nope/alertmanager", alertmanager_payload())

    assert response.status_code == 404
    assert "Unknown hook URL" in response.json()["detail"]
    assert nothing_changed()
    assert AlertEvent.objects.count() == 0


def test_the_token_of_another_kind_is_a_404(client, alertmanager):
    body = grafana_payload(grafana_alert("g1", "api"))

    response = send(client, f"/hooks/{alertmanager.token}/grafana", body)

    assert response.status_code == 404
    assert nothing_changed()


def test_an_unknown_kind_is_a_json_404(client, alertmanager):
    response = send(client, f"/hooks/{alertmanager.token}/nagios", {})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_get_is_a_405(client, alertmanager):
    response = client.get(f"/hooks/{alertmanager.token}/alertmanager")

    assert response.status_code == 405
    assert response.json()["detail"]


def test_a_wrong_alertmanager_version_is_a_400_naming_it(client, alertmanager):
    body = alertmanager_payload(am_alert("a1", "api"))
    body["version"] = "3"

    response = send(client, f"/hooks/{alertmanager.token}/alertmanager", body)

    assert response.status_code == 400
    assert "version '3'" in response.json()["detail"]
    assert nothing_changed()
    assert AlertEvent.objects.get().outcome == AlertEvent.Outcome.REJECTED


def test_a_body_that_is_not_json_is_a_400(client, alertmanager):
    response = send(client, f"/hooks/{alertmanager.token}/alertmanager", "{not json")

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    assert nothing_changed()


def test_alerts_that_are_not_a_list_are_a_400(client, alertmanager):
    body = alertmanager_payload()
    body["alerts"] = {"oops": True}

    response = send(client, f"/hooks/{alertmanager.token}/alertmanager", body)

    assert response.status_code == 400
    assert "alerts" in response.json()["detail"]
    assert nothing_changed()


def test_a_form_post_is_a_415(client, alertmanager):
    response = client.post(f"/hooks/{alertmanager.token}/alertmanager", {"a": "b"})

    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    assert nothing_changed()


def test_an_oversized_body_is_a_413(client, alertmanager):
    body = alertmanager_payload(am_alert("a1", "api"))
    body["padding"] = "x" * MAX_BODY_BYTES

    response = send(client, f"/hooks/{alertmanager.token}/alertmanager", body)

    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert nothing_changed()


def test_a_missing_or_wrong_bearer_token_is_a_401_and_nothing_is_logged(
    client, alertmanager, owner
):
    update_alert_integration(alertmanager, actor=member(owner), bearer_token="right-token")
    url = f"/hooks/{alertmanager.token}/alertmanager"
    body = alertmanager_payload(am_alert("a1", "api"))

    missing = send(client, url, body)
    wrong = send(client, url, body, HTTP_AUTHORIZATION="Bearer wrong-token")
    right = send(client, url, body, HTTP_AUTHORIZATION="Bearer right-token")

    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert AlertEvent.objects.count() == 1  # only the authenticated call


def test_a_bad_hmac_signature_is_a_401_and_writes_nothing(client, grafana):
    body = json.dumps(grafana_payload(grafana_alert("g1", "api"))).encode()
    url = f"/hooks/{grafana.token}/grafana"
    forged = hmac.new(b"guess", body, hashlib.sha256).hexdigest()

    unsigned = send(client, url, body)
    bad = send(client, url, body, HTTP_X_GRAFANA_ALERTING_SIGNATURE=forged)

    assert (unsigned.status_code, bad.status_code) == (401, 401)
    assert "signature" in bad.json()["detail"].lower()
    assert nothing_changed()
    assert AlertEvent.objects.count() == 0


def test_a_signature_in_a_custom_header(client, grafana, owner):
    update_alert_integration(grafana, actor=member(owner), signature_header="X-Signature")
    body = json.dumps(grafana_payload(grafana_alert("g1", "api"))).encode()
    signature = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()

    response = send(client, f"/hooks/{grafana.token}/grafana", body, HTTP_X_SIGNATURE=signature)

    assert response.status_code == 200


def test_a_wrong_grafana_version_is_a_400(client, grafana, owner):
    update_alert_integration(grafana, actor=member(owner), hmac_secret="")
    body = grafana_payload(grafana_alert("g1", "api"))
    body["version"] = "0"

    response = send(client, f"/hooks/{grafana.token}/grafana", body)

    assert response.status_code == 400
    assert "Grafana" in response.json()["detail"]


def test_a_database_outage_is_a_503_so_the_sender_retries(client, alertmanager, monkeypatch):
    def broken(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(alerts, "receive_notification", broken)

    response = send(client, f"/hooks/{alertmanager.token}/alertmanager", alertmanager_payload())

    assert response.status_code == 503
    assert response["Retry-After"]
