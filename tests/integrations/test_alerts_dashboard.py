"""Dashboard pages for alert integrations: admins manage, viewers look, outsiders get 404."""

from __future__ import annotations

import json
import re

import pytest

from apps.incidents.models import Incident
from apps.integrations.alerts.services import create_alert_integration, update_alert_integration
from apps.integrations.models import AlertGroupState, AlertIntegration

from ..factories import ComponentFactory, member
from .test_alerts_hooks import alertmanager_payload, am_alert


@pytest.fixture
def integration(org, owner):
    integration, token = create_alert_integration(
        org, actor=member(owner), kind="alertmanager", name="Prometheus"
    )
    integration.token = token
    return integration


def url(org, name="", *args):
    base = f"/dashboard/{org.slug}/alerts/"
    return base + "/".join([*args, name]).strip("/") + ("/" if name or args else "")


FORM = {
    "kind": "alertmanager",
    "name": "Production",
    "enabled": "on",
    "component_label": "component",
    "severity_label": "severity",
    "severity_map": "page = major_outage\nticket = degraded_performance",
    "default_status": "degraded_performance",
    "on_firing": "incident",
    "on_resolved": "monitoring",
    "deliver_notifications": "on",
    "signature_header": "X-Grafana-Alerting-Signature",
}


def test_it_works_an_admin_creates_an_integration_and_sees_its_url_once(
    client, admin, org, settings
):
    settings.SITE_URL = "https://candor.example"
    client.force_login(admin)

    response = client.post(url(org, "new"), FORM)

    assert response.status_code == 200
    integration = AlertIntegration.objects.get()
    assert integration.severity_map == {"page": "major_outage", "ticket": "degraded_performance"}
    page = response.content.decode()
    assert "https://candor.example/hooks/hk_" in page
    assert "curl" in page
    assert response["Cache-Control"].startswith("max-age=0")
    detail = client.get(url(org, integration.public_id)).content.decode()
    hook_url = re.search(r'id="hook-url" type="text" value="([^"]+)"', page)[1]
    assert hook_url.startswith("https://candor.example/hooks/hk_")
    assert hook_url not in detail


def test_the_list_shows_integrations_and_the_log(client, viewer, org, integration):
    ComponentFactory(organization=org, name="API")
    client.post(
        f"/hooks/{integration.token}/alertmanager",
        data=json.dumps(alertmanager_payload(am_alert("a1", "api"))),
        content_type="application/json",
    )
    client.force_login(viewer)

    response = client.get(url(org))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Prometheus" in page
    assert "Opened incident" in page


def test_edit_rotate_toggle_and_delete(client, admin, org, integration):
    client.force_login(admin)
    form = {k: v for k, v in FORM.items() if k != "kind"} | {"name": "Renamed"}

    edited = client.post(url(org, "", integration.public_id), form)
    rotated = client.post(url(org, "rotate", integration.public_id))
    toggled = client.post(url(org, "toggle", integration.public_id))
    integration.refresh_from_db()
    assert (integration.name, integration.enabled) == ("Renamed", False)
    assert edited.status_code == 302
    assert "/hooks/hk_" in rotated.content.decode()
    assert toggled.status_code == 302

    deleted = client.post(url(org, "delete", integration.public_id))

    assert deleted.status_code == 302
    assert AlertIntegration.objects.count() == 0


def test_a_viewer_gets_403_on_every_write(client, viewer, org, integration):
    client.force_login(viewer)

    for name in ("", "rotate", "toggle", "delete"):
        assert client.post(url(org, name, integration.public_id), FORM).status_code == 403
    assert client.post(url(org, "new"), FORM).status_code == 403
    assert AlertIntegration.objects.get().name == "Prometheus"


def test_an_outsider_gets_404(client, outsider, org, integration):
    client.force_login(outsider)

    assert client.get(url(org)).status_code == 404
    assert client.get(url(org, "", integration.public_id)).status_code == 404


def test_an_editor_publishes_a_draft_from_the_list(client, editor, owner, org, integration):
    ComponentFactory(organization=org, name="API")
    update_alert_integration(integration, actor=member(owner), on_firing="draft")
    client.post(
        f"/hooks/{integration.token}/alertmanager",
        data=json.dumps(alertmanager_payload(am_alert("a1", "api"))),
        content_type="application/json",
    )
    draft = AlertGroupState.objects.get()
    client.force_login(editor)
    assert "Publish incident" in client.get(url(org)).content.decode()

    response = client.post(url(org, "publish", "drafts", draft.public_id))

    assert response.status_code == 302
    assert Incident.objects.count() == 1


def test_an_editor_dismisses_a_draft_and_repeats_do_not_bring_it_back(
    client, editor, owner, org, integration
):
    ComponentFactory(organization=org, name="API")
    update_alert_integration(integration, actor=member(owner), on_firing="draft")
    body = json.dumps(alertmanager_payload(am_alert("a1", "api")))
    hook = f"/hooks/{integration.token}/alertmanager"
    client.post(hook, data=body, content_type="application/json")
    draft = AlertGroupState.objects.get()
    client.force_login(editor)

    client.post(url(org, "dismiss", "drafts", draft.public_id))
    client.post(hook, data=body, content_type="application/json")

    draft.refresh_from_db()
    assert draft.state == AlertGroupState.State.DISMISSED
    assert Incident.objects.count() == 0


def test_a_bad_severity_map_is_a_form_error(client, admin, org):
    client.force_login(admin)

    response = client.post(url(org, "new"), FORM | {"severity_map": "page: down"})

    assert response.status_code == 200
    assert "Line 1" in response.content.decode()
    assert AlertIntegration.objects.count() == 0


def test_the_url_page_offers_the_header_form_that_keeps_the_token_out_of_access_logs(
    client, admin, org, settings
):
    settings.SITE_URL = "https://candor.example"
    client.force_login(admin)

    page = client.post(url(org, "new"), FORM).content.decode()

    integration = AlertIntegration.objects.get()
    assert f"https://candor.example/hooks/{integration.kind}</code>" in page
    assert "X-Candor-Token" in page
    assert "access logs" in page


def test_the_update_window_is_set_in_the_form_with_its_help_text(client, admin, org, integration):
    client.force_login(admin)
    form = {k: v for k, v in FORM.items() if k != "kind"}

    page = client.get(url(org, "", integration.public_id)).content.decode()
    saved = client.post(url(org, "", integration.public_id), form | {"update_window_minutes": "0"})
    refused = client.post(
        url(org, "", integration.public_id), form | {"update_window_minutes": "61"}
    )

    assert 'name="update_window_minutes" value="5"' in page
    assert "An alert storm posts at most one update per incident" in page
    assert saved.status_code == 302
    assert refused.status_code == 200
    integration.refresh_from_db()
    assert integration.update_window_minutes == 0


def test_the_log_shows_a_held_call_and_what_it_was_coalesced_into(client, viewer, org, integration):
    from datetime import timedelta

    from django.utils import timezone

    from apps.integrations.alerts.services import post_due_updates

    ComponentFactory(organization=org, name="API")
    ComponentFactory(organization=org, name="Web")
    hook = f"/hooks/{integration.token}/alertmanager"
    first = am_alert("a1", "api")
    for alerts in ([first], [first, am_alert("w1", "web")]):
        body = json.dumps(alertmanager_payload(*alerts))
        client.post(hook, data=body, content_type="application/json")
    client.force_login(viewer)

    held_page = client.get(url(org)).content.decode()
    post_due_updates(timezone.now() + timedelta(minutes=5))
    settled_page = client.get(url(org)).content.decode()

    assert "Coalesced: held for one update at" in held_page
    assert ">Held</span>" in held_page
    assert "→ coalesced into the update of" in settled_page
    assert "Window ended: Added Web to incident" in settled_page
    assert ">Held</span>" not in settled_page
