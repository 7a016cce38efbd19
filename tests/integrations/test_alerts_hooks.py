"""Inbound alerts: Alertmanager v4 and Grafana payloads open, extend and resolve incidents."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from apps.incidents.models import Incident, IncidentStatus
from apps.integrations.alerts.services import create_alert_integration, update_alert_integration
from apps.integrations.models import AlertEvent, AlertGroupState
from apps.organizations.principals import System
from apps.status.models import ComponentStatus, ComponentStatusChange

from ..factories import ComponentFactory, ComponentGroupFactory, member

GROUP_KEY = '{}/{severity=~"^(?:critical|warning)$"}:{alertname="HighErrorRate"}'


def alertmanager_payload(*alerts: dict, status: str = "firing") -> dict:
    """The shape Alertmanager 0.27 posts (webhook version 4)."""
    return {
        "receiver": "status\\-page",
        "status": status,
        "alerts": list(alerts),
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate", "job": "api"},
        "commonAnnotations": {"summary": "Elevated API error rates"},
        "externalURL": "http://alertmanager.internal:9093",
        "version": "4",
        "groupKey": GROUP_KEY,
        "truncatedAlerts": 0,
    }


def am_alert(fingerprint: str, component: str, *, severity: str = "critical", resolved=False):
    return {
        "status": "resolved" if resolved else "firing",
        "labels": {
            "alertname": "HighErrorRate",
            "component": component,
            "severity": severity,
            "instance": "10.0.0.7:9100",
        },
        "annotations": {"summary": "Elevated API error rates", "description": "5xx > 5%"},
        "startsAt": "2026-11-28T08:01:02.123456789Z",
        "endsAt": "2026-11-28T08:20:00.5Z" if resolved else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.internal:9090/graph?g0.expr=...",
        "fingerprint": fingerprint,
    }


def grafana_payload(*alerts: dict, status: str = "firing") -> dict:
    """The shape Grafana 11 unified alerting posts to a webhook contact point."""
    return {
        "receiver": "candor",
        "status": status,
        "orgId": 1,
        "alerts": list(alerts),
        "groupLabels": {"alertname": "Checkout latency"},
        "commonLabels": {"alertname": "Checkout latency", "grafana_folder": "Shop"},
        "commonAnnotations": {},
        "externalURL": "https://grafana.example.com/",
        "version": "1",
        "groupKey": '{}:{alertname="Checkout latency"}',
        "truncatedAlerts": 0,
        "title": "[FIRING:1] Checkout latency Shop",
        "state": "alerting" if status == "firing" else "ok",
        "message": "**Firing**\n\nValue: A=1.2",
    }


def grafana_alert(fingerprint: str, component: str, *, resolved: bool = False) -> dict:
    return {
        "status": "resolved" if resolved else "firing",
        "labels": {"alertname": "Checkout latency", "component": component, "severity": None},
        "annotations": None,
        "startsAt": "2026-11-28T08:00:00Z",
        "endsAt": "2026-11-28T08:30:00Z" if resolved else "0001-01-01T00:00:00Z",
        "generatorURL": "https://grafana.example.com/alerting/grafana/abc/view",
        "fingerprint": fingerprint,
        "silenceURL": "https://grafana.example.com/alerting/silence/new",
        "dashboardURL": "",
        "panelURL": "",
        "values": {"A": 1.2},
        "valueString": "[ var='A' labels={} value=1.2 ]",
    }


@pytest.fixture
def api_component(org):
    return ComponentFactory(organization=org, name="API")


@pytest.fixture
def web_component(org):
    return ComponentFactory(
        organization=org,
        name="Website",
        group=ComponentGroupFactory(organization=org, name="Frontend"),
    )


@pytest.fixture
def alertmanager(org, owner):
    integration, token = create_alert_integration(
        org, actor=member(owner), kind="alertmanager", name="Prometheus"
    )
    integration.token = token
    return integration


@pytest.fixture
def grafana(org, owner):
    integration, token = create_alert_integration(
        org, actor=member(owner), kind="grafana", name="Grafana"
    )
    integration.token = token
    return integration


def post(client, integration, body, *, kind=None, **extra):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(
        f"/hooks/{integration.token}/{kind or integration.kind}",
        data=data,
        content_type=extra.pop("content_type", "application/json"),
        **extra,
    )


def test_a_firing_alertmanager_alert_opens_an_incident_on_its_component(
    client, alertmanager, api_component, web_component
):
    response = post(client, alertmanager, alertmanager_payload(am_alert("a1", "api")))

    assert response.status_code == 200
    assert response.json()["status"] == "changed"
    incident = Incident.objects.get()
    assert incident.name == "Elevated API error rates"
    assert incident.status == IncidentStatus.INVESTIGATING
    assert list(incident.components.all()) == [api_component]
    api_component.refresh_from_db()
    web_component.refresh_from_db()
    assert api_component.status == ComponentStatus.MAJOR_OUTAGE
    assert web_component.status == ComponentStatus.OPERATIONAL
    assert response.json()["incident"] == incident.public_id


def test_the_same_notification_twice_changes_nothing_the_second_time(
    client, alertmanager, api_component
):
    body = alertmanager_payload(am_alert("a1", "api"))
    post(client, alertmanager, body)
    updates_before = Incident.objects.get().updates.count()

    response = post(client, alertmanager, body)

    assert response.json()["status"] == "ignored"
    assert Incident.objects.count() == 1
    assert Incident.objects.get().updates.count() == updates_before
    assert ComponentStatusChange.objects.count() == 1
    assert AlertEvent.objects.count() == 2


def test_a_second_firing_alert_of_the_group_adds_its_component_then_all_resolved_monitors(
    client, alertmanager, owner, api_component, web_component
):
    # No coalescing window: every visible change posts at once (the window: test_alert_storms).
    update_alert_integration(alertmanager, actor=member(owner), update_window_minutes=0)
    first = am_alert("a1", "api")
    second = am_alert("b2", "Frontend - Website", severity="warning")
    post(client, alertmanager, alertmanager_payload(first))

    post(client, alertmanager, alertmanager_payload(first, second))

    incident = Incident.objects.get()
    assert set(incident.components.all()) == {api_component, web_component}
    web_component.refresh_from_db()
    assert web_component.status == ComponentStatus.PARTIAL_OUTAGE
    assert "also affects Website" in incident.updates.first().body

    resolved = [am_alert("a1", "api", resolved=True), am_alert("b2", "website", resolved=True)]
    post(client, alertmanager, alertmanager_payload(*resolved, status="resolved"))

    incident.refresh_from_db()
    api_component.refresh_from_db()
    web_component.refresh_from_db()
    assert incident.status == IncidentStatus.MONITORING
    assert api_component.status == ComponentStatus.OPERATIONAL
    assert web_component.status == ComponentStatus.OPERATIONAL


def test_resolve_setting_resolves_the_incident(client, alertmanager, owner, api_component):
    update_alert_integration(alertmanager, actor=member(owner), on_resolved="resolve")
    post(client, alertmanager, alertmanager_payload(am_alert("a1", "api")))

    post(
        client,
        alertmanager,
        alertmanager_payload(am_alert("a1", "api", resolved=True), status="resolved"),
    )

    incident = Incident.objects.get()
    assert incident.status == IncidentStatus.RESOLVED
    assert AlertGroupState.objects.get().state == AlertGroupState.State.CLOSED


def test_an_alert_that_fires_again_after_resolution_opens_a_new_incident(
    client, alertmanager, owner, api_component
):
    update_alert_integration(alertmanager, actor=member(owner), on_resolved="resolve")
    post(client, alertmanager, alertmanager_payload(am_alert("a1", "api")))
    post(client, alertmanager, alertmanager_payload(am_alert("a1", "api", resolved=True)))
    again = am_alert("a1", "api")
    again["startsAt"] = "2026-11-28T09:00:00Z"

    post(client, alertmanager, alertmanager_payload(again))

    assert Incident.objects.count() == 2
    assert Incident.objects.filter(status=IncidentStatus.INVESTIGATING).count() == 1


def test_partial_resolution_gives_back_only_the_recovered_component(
    client, alertmanager, owner, api_component, web_component
):
    update_alert_integration(alertmanager, actor=member(owner), update_window_minutes=0)
    first, second = am_alert("a1", "api"), am_alert("b2", "website")
    post(client, alertmanager, alertmanager_payload(first, second))

    post(
        client, alertmanager, alertmanager_payload(first, am_alert("b2", "website", resolved=True))
    )

    api_component.refresh_from_db()
    web_component.refresh_from_db()
    assert api_component.status == ComponentStatus.MAJOR_OUTAGE
    assert web_component.status == ComponentStatus.OPERATIONAL
    assert Incident.objects.get().status == IncidentStatus.INVESTIGATING


def test_grafana_firing_and_resolved_with_null_labels_and_annotations(
    client, grafana, api_component
):
    response = post(client, grafana, grafana_payload(grafana_alert("g1", "API")))

    assert response.status_code == 200
    incident = Incident.objects.get()
    assert incident.name == "Checkout latency"
    api_component.refresh_from_db()
    # severity is null: the default status applies.
    assert api_component.status == ComponentStatus.DEGRADED_PERFORMANCE

    post(
        client,
        grafana,
        grafana_payload(grafana_alert("g1", "API", resolved=True), status="resolved"),
    )

    incident.refresh_from_db()
    assert incident.status == IncidentStatus.MONITORING


def test_grafana_hmac_signature_is_checked(client, grafana, owner, api_component):
    update_alert_integration(grafana, actor=member(owner), hmac_secret="s3cret")
    body = json.dumps(grafana_payload(grafana_alert("g1", "api"))).encode()
    signature = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()

    good = post(client, grafana, body, HTTP_X_GRAFANA_ALERTING_SIGNATURE=signature)

    assert good.status_code == 200
    assert Incident.objects.count() == 1


def test_grafana_hmac_with_a_timestamp_header(client, grafana, owner, api_component):
    update_alert_integration(
        grafana,
        actor=member(owner),
        hmac_secret="s3cret",
        timestamp_header="X-Grafana-Alerting-Timestamp",
    )
    body = json.dumps(grafana_payload(grafana_alert("g1", "api"))).encode()
    stamp = str(int(time.time()))
    signature = hmac.new(b"s3cret", stamp.encode() + b":" + body, hashlib.sha256).hexdigest()

    response = post(
        client,
        grafana,
        body,
        HTTP_X_GRAFANA_ALERTING_SIGNATURE=signature,
        HTTP_X_GRAFANA_ALERTING_TIMESTAMP=stamp,
    )

    assert response.status_code == 200


def test_draft_setting_waits_for_staff_and_publishing_opens_the_incident(
    client, alertmanager, owner, api_component
):
    from apps.integrations.alerts.services import publish_draft

    update_alert_integration(alertmanager, actor=member(owner), on_firing="draft")
    post(client, alertmanager, alertmanager_payload(am_alert("a1", "api")))

    assert Incident.objects.count() == 0
    api_component.refresh_from_db()
    assert api_component.status == ComponentStatus.OPERATIONAL
    draft = AlertGroupState.objects.get()
    assert draft.state == AlertGroupState.State.PENDING

    incident = publish_draft(draft, actor=member(owner))

    assert incident.components.get() == api_component
    api_component.refresh_from_db()
    assert api_component.status == ComponentStatus.MAJOR_OUTAGE


def test_alerts_without_a_matching_component_are_ignored_and_the_log_says_why(
    client, alertmanager, api_component
):
    response = post(client, alertmanager, alertmanager_payload(am_alert("a1", "billing")))

    assert response.json()["status"] == "ignored"
    assert Incident.objects.count() == 0
    assert "no component named billing" in AlertEvent.objects.get().summary


def test_a_component_label_can_name_the_component_by_its_public_id(
    client, alertmanager, api_component
):
    post(client, alertmanager, alertmanager_payload(am_alert("a1", api_component.public_id)))

    assert Incident.objects.get().components.get() == api_component


def test_a_custom_label_and_severity_map(client, alertmanager, owner, api_component):
    update_alert_integration(
        alertmanager,
        actor=member(owner),
        component_label="service",
        severity_map={"page": "major_outage"},
    )
    alert = am_alert("a1", "ignored")
    alert["labels"].update({"service": "API", "severity": "PAGE"})

    post(client, alertmanager, alertmanager_payload(alert))

    api_component.refresh_from_db()
    assert api_component.status == ComponentStatus.MAJOR_OUTAGE


def test_truncated_alerts_are_noted_in_the_log(client, alertmanager, api_component):
    body = alertmanager_payload(am_alert("a1", "api"))
    body["truncatedAlerts"] = 3

    post(client, alertmanager, body)

    assert "3 alert(s) left out" in AlertEvent.objects.get().summary


def test_unknown_fields_and_missing_optional_ones_are_fine(client, alertmanager, api_component):
    body = alertmanager_payload(am_alert("a1", "api"))
    del body["commonAnnotations"], body["externalURL"], body["groupLabels"]
    body["somethingNew"] = {"nested": [1, 2]}
    del body["alerts"][0]["fingerprint"], body["alerts"][0]["generatorURL"]

    response = post(client, alertmanager, body)

    assert response.status_code == 200
    assert Incident.objects.get().name == "HighErrorRate"


def test_a_disabled_integration_answers_200_and_changes_nothing(
    client, alertmanager, owner, api_component
):
    update_alert_integration(alertmanager, actor=member(owner), enabled=False)

    response = post(client, alertmanager, alertmanager_payload(am_alert("a1", "api")))

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert Incident.objects.count() == 0


def test_the_token_of_one_organization_never_touches_another_organizations_components(
    client, alertmanager, other_org, api_component
):
    theirs = ComponentFactory(organization=other_org, name="API")
    other_alertmanager, token = create_alert_integration(
        other_org, actor=System(), kind="alertmanager", name="Theirs"
    )
    other_alertmanager.token = token

    post(client, other_alertmanager, alertmanager_payload(am_alert("a1", api_component.public_id)))
    post(client, alertmanager, alertmanager_payload(am_alert("a1", "api")))

    theirs.refresh_from_db()
    assert theirs.status == ComponentStatus.OPERATIONAL
    assert Incident.objects.for_org(other_org).count() == 0
    assert Incident.objects.for_org(alertmanager.organization).count() == 1


def test_two_groups_share_a_component_and_resolving_one_keeps_it_down(
    client, alertmanager, api_component
):
    post(client, alertmanager, alertmanager_payload(am_alert("a1", "api")))
    other_group = alertmanager_payload(am_alert("z9", "api"))
    other_group["groupKey"] = '{}:{alertname="Latency"}'
    post(client, alertmanager, other_group)

    post(client, alertmanager, alertmanager_payload(am_alert("a1", "api", resolved=True)))

    api_component.refresh_from_db()
    assert api_component.status == ComponentStatus.MAJOR_OUTAGE


@pytest.fixture
def generic(org, owner):
    integration, token = create_alert_integration(
        org, actor=member(owner), kind="generic", name="Cron"
    )
    integration.token = token
    return integration


def test_generic_single_alert_shortcut_opens_and_resolves(client, generic, api_component):
    firing = {
        "title": "Checkout is slow",
        "component": "API",
        "severity": "warning",
        "fingerprint": "checkout-latency",
    }

    post(client, generic, firing)
    post(client, generic, firing)  # a repeat
    post(client, generic, firing | {"status": "resolved"})

    incident = Incident.objects.get()
    assert incident.name == "Checkout is slow"
    assert incident.status == IncidentStatus.MONITORING
    assert ComponentStatusChange.objects.filter(to_status="partial_outage").count() == 1


def test_generic_list_form_with_group_key(client, generic, api_component, web_component):
    body = {
        "version": "1",
        "group_key": "edge",
        "title": "Edge problems",
        "alerts": [
            {
                "fingerprint": "e1",
                "status": "firing",
                "labels": {"component": "API,Website"},
                "starts_at": "2026-11-28T08:00:00.123456789+01:00",
            },
        ],
    }

    response = post(client, generic, body)

    assert response.status_code == 200
    assert set(Incident.objects.get().components.all()) == {api_component, web_component}


def test_generic_wrong_version_is_a_400(client, generic):
    response = post(client, generic, {"version": "2", "alerts": []})

    assert response.status_code == 400
    assert "version" in response.json()["detail"]


def test_a_refusal_by_the_incident_services_is_logged_and_answered_200(
    client, alertmanager, api_component, monkeypatch
):
    from django.core.exceptions import ValidationError

    from apps.incidents import services as incident_services

    def refuse(*args, **kwargs):
        raise ValidationError("This was changed by someone else a moment ago.")

    monkeypatch.setattr(incident_services, "open_incident", refuse)

    response = post(client, alertmanager, alertmanager_payload(am_alert("a1", "api")))

    assert response.status_code == 200
    assert "Not applied" in AlertEvent.objects.get().summary
    # The state rolled back: the next delivery is applied, not taken for a repeat.
    assert AlertGroupState.objects.get().alerts == {}


def test_the_log_keeps_thirty_days(client, alertmanager, api_component):
    from datetime import timedelta

    from django.utils import timezone

    post(client, alertmanager, alertmanager_payload(am_alert("a1", "api")))
    AlertEvent.objects.update(received_at=timezone.now() - timedelta(days=31))

    post(client, alertmanager, alertmanager_payload(am_alert("a1", "api")))

    assert AlertEvent.objects.count() == 1


def test_a_trailing_slash_works_too(client, alertmanager, api_component):
    response = client.post(
        f"/hooks/{alertmanager.token}/alertmanager/",
        data=json.dumps(alertmanager_payload(am_alert("a1", "api"))),
        content_type="application/json",
    )

    assert response.status_code == 200
    assert Incident.objects.count() == 1
