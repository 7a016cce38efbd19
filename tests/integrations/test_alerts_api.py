"""Management API resource `integrations`: create (with the hook URL once), read, change, rotate,
delete; another organization's key gets 404."""

from __future__ import annotations

import json

from apps.integrations.alerts.services import create_alert_integration
from apps.integrations.models import AlertIntegration
from apps.organizations.principals import System

URL = "/api/v1/integrations/"
JSON = "application/json"


def test_it_works_create_then_the_hook_url_posts_alerts(api, admin_key, client, org, settings):
    settings.SITE_URL = "https://candor.example"
    created = api(admin_key).post(
        URL,
        {"name": "Prometheus", "kind": "alertmanager", "severity_map": {"page": "major_outage"}},
        content_type=JSON,
    )
    body = created.json()
    fetched = api(admin_key).get(f"{URL}{body['id']}/")
    hook_path = body["hook_url"].removeprefix("https://candor.example")
    client.defaults.pop("HTTP_AUTHORIZATION")
    posted = client.post(
        hook_path, data=json.dumps({"version": "4", "alerts": []}), content_type=JSON
    )

    assert created.status_code == 201
    assert body["hook_url"].startswith("https://candor.example/hooks/hk_")
    assert body["hook_url"].endswith("/alertmanager")
    assert body["severity_map"] == {"page": "major_outage"}
    assert "hook_url" not in fetched.json()
    assert fetched.json()["hook_url_hint"].endswith("…/alertmanager")
    assert posted.status_code == 200


def test_secrets_are_write_only(api, admin_key):
    body = (
        api(admin_key)
        .post(
            URL,
            {"name": "Grafana", "kind": "grafana", "hmac_secret": "s3cret", "bearer_token": "t0k"},
            content_type=JSON,
        )
        .json()
    )

    assert body["hmac_secret_set"] is True
    assert body["bearer_token_set"] is True
    assert "s3cret" not in json.dumps(body)
    assert "t0k" not in json.dumps(body)


def test_rotate_token_gives_a_new_url(api, admin_key, org):
    integration, _token = create_alert_integration(org, actor=System(), kind="generic", name="CI")
    old_hash = integration.token_hash

    response = api(admin_key).post(f"{URL}{integration.public_id}/rotate-token/")

    integration.refresh_from_db()
    assert response.status_code == 200
    assert "/hooks/hk_" in response.json()["hook_url"]
    assert integration.token_hash != old_hash


def test_change_and_delete(api, admin_key, org):
    integration, _token = create_alert_integration(org, actor=System(), kind="generic", name="CI")

    changed = api(admin_key).patch(
        f"{URL}{integration.public_id}/", {"on_resolved": "resolve"}, content_type=JSON
    )
    deleted = api(admin_key).delete(f"{URL}{integration.public_id}/")

    assert changed.status_code == 200
    assert changed.json()["on_resolved"] == "resolve"
    assert deleted.status_code == 204
    assert AlertIntegration.objects.count() == 0


def test_bad_input_is_a_400_naming_the_field(api, admin_key):
    bad_kind = api(admin_key).post(URL, {"name": "x", "kind": "nagios"}, content_type=JSON)
    bad_map = api(admin_key).post(
        URL, {"name": "x", "kind": "generic", "severity_map": {"p1": "fine"}}, content_type=JSON
    )

    assert bad_kind.status_code == 400
    assert "kind" in bad_kind.json()
    assert bad_map.status_code == 400
    assert "severity_map" in bad_map.json()
    assert AlertIntegration.objects.count() == 0


def test_the_kind_cannot_change(api, admin_key, org):
    integration, _token = create_alert_integration(org, actor=System(), kind="generic", name="CI")

    response = api(admin_key).patch(
        f"{URL}{integration.public_id}/", {"kind": "grafana"}, content_type=JSON
    )

    assert response.status_code == 400


def test_another_organizations_key_gets_404(api, other_admin_key, org):
    integration, _token = create_alert_integration(org, actor=System(), kind="generic", name="CI")

    for method in ("get", "patch", "delete"):
        response = getattr(api(other_admin_key), method)(
            f"{URL}{integration.public_id}/", content_type=JSON
        )
        assert response.status_code == 404, method
    rotate = api(other_admin_key).post(f"{URL}{integration.public_id}/rotate-token/")
    listed = api(other_admin_key).get(URL)

    assert rotate.status_code == 404
    assert listed.json()["results"] == []


def test_a_read_only_key_cannot_create(api, read_only_key):
    response = api(read_only_key).post(URL, {"name": "x", "kind": "generic"}, content_type=JSON)

    assert response.status_code == 403


def test_list_query_count(api, admin_key, org, django_assert_max_num_queries):
    for number in range(5):
        create_alert_integration(org, actor=System(), kind="generic", name=f"CI {number}")

    with django_assert_max_num_queries(8):
        response = api(admin_key).get(URL)

    assert len(response.json()["results"]) == 5


def test_a_write_key_cannot_manage_integrations(api, api_key):
    response = api(api_key).post(URL, {"name": "x", "kind": "alertmanager"}, content_type=JSON)
    assert response.status_code == 403
    assert api(api_key).get(URL).status_code == 403


def test_the_update_window_is_a_field_checked_on_write(api, admin_key, org):
    integration, _token = create_alert_integration(org, actor=System(), kind="generic", name="CI")
    path = f"{URL}{integration.public_id}/"

    default = api(admin_key).get(path).json()["update_window_minutes"]
    changed = api(admin_key).patch(path, {"update_window_minutes": 15}, content_type=JSON)
    too_long = api(admin_key).patch(path, {"update_window_minutes": 61}, content_type=JSON)

    assert default == 5
    assert changed.status_code == 200
    assert changed.json()["update_window_minutes"] == 15
    assert too_long.status_code == 400
    assert "update_window_minutes" in too_long.json()
    integration.refresh_from_db()
    assert integration.update_window_minutes == 15
