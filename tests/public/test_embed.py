"""embed.js and embed.json: the banner an organization puts on its own site
(apps/public/embed.py, static/js/embed.js), and the dashboard page that sets it up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.incidents import services as incident_services
from apps.organizations.models import AuditEntry, Organization
from apps.public import embed
from tests.factories import (
    DomainFactory,
    IncidentFactory,
    IncidentUpdateFactory,
    MaintenanceFactory,
    member,
)

JSON_URL = "/s/acme/embed.json"
JS_URL = "/s/acme/embed.js"
SETTINGS_URL = "/dashboard/acme/settings/banner/"
SETTINGS = {
    "banner_position": "bottom",
    "banner_background": "#000000",
    "banner_text_color": "#ffffff",
}


def items(client, url=JSON_URL, **extra):
    response = client.get(url, **extra)
    assert response.status_code == 200
    return json.loads(response.content)["items"]


@pytest.fixture
def outage(org):
    incident = IncidentFactory(
        organization=org,
        name="Checkout is failing",
        next_update_due=timezone.now() + timedelta(minutes=20),
    )
    IncidentUpdateFactory(incident=incident, body="Payments fail for some cards. We are on it.")
    return incident


# --- the script ------------------------------------------------------------------------------


def test_the_script_is_javascript_under_5_kb_with_no_cookies_and_no_html_insertion(client, org):
    response = client.get(JS_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    source = response.content.decode()
    assert len(response.content) < 5000
    assert "document.cookie" not in source
    assert "innerHTML" not in source
    assert "insertAdjacentHTML" not in source
    # One namespace, nothing else assigned to window.
    assert source.count("window.") == 1
    assert "window.CandorBanner = " in source


def test_the_served_script_is_the_source_without_indentation_or_comment_lines():
    assert embed.compact("  a();\n\n  // why\n  b();\n") == "a();\nb();\n"


def test_the_script_is_cached_with_an_etag_and_answers_304(client, org):
    first = client.get(JS_URL)
    assert first["ETag"]
    again = client.get(JS_URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert "max-age=0" in first["Cache-Control"]


def test_an_unknown_status_page_has_no_script(client, db):
    response = client.get("/s/nobody/embed.js")
    assert response.status_code == 404
    assert "no status page at this address" in response.content.decode()


# --- the data --------------------------------------------------------------------------------


def test_with_nothing_happening_there_is_nothing_to_show(client, org):
    response = client.get(JSON_URL)
    assert response.status_code == 200
    data = json.loads(response.content)
    assert data["items"] == []
    assert data["banner"] == {"position": "top", "background": "#1e293b", "text": "#ffffff"}


def test_an_open_incident_shows_with_its_status_times_and_discussion_link(client, outage):
    [item] = items(client)
    assert item["name"] == "Checkout is failing"
    assert item["status_label"] == "Investigating"
    assert item["latest_update"] == "Payments fail for some cards. We are on it."
    assert item["next_update_due"] == outage.next_update_due.astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert item["updated_at"].endswith("Z")
    page = f"http://testserver/s/acme/incidents/{outage.public_id}/"
    assert item["url"] == page
    assert item["discussion_url"] == page + "#discussion"


def test_the_discussion_link_leads_to_the_incident_pages_discussion(client, outage):
    [item] = items(client)
    response = client.get(item["url"].removeprefix("http://testserver"))
    assert response.status_code == 200
    assert 'id="discussion"' in response.content.decode()


def test_maintenance_shows_while_in_progress_not_while_only_scheduled(client, org):
    MaintenanceFactory(organization=org, name="Scheduled upgrade")
    MaintenanceFactory(organization=org, name="Upgrade under way", status="in_progress")
    [item] = items(client)
    assert item["name"] == "Upgrade under way"
    assert item["kind"] == "maintenance"
    assert item["next_update_due"] is None


def test_a_resolved_incident_is_gone(
    client, org, owner, outage, django_capture_on_commit_callbacks
):
    assert len(items(client)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        incident_services.post_update(
            outage, actor=member(owner), status="resolved", body="Payments work again."
        )
    assert items(client) == []


def test_the_data_is_cached_per_content_version_with_an_etag(
    client, org, owner, outage, django_capture_on_commit_callbacks
):
    first = client.get(JSON_URL)
    assert client.get(JSON_URL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    with django_capture_on_commit_callbacks(execute=True):
        incident_services.post_update(
            outage, actor=member(owner), status="identified", body="A bad deploy. Rolling back."
        )
    changed = client.get(JSON_URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200
    assert json.loads(changed.content)["items"][0]["status_label"] == "Identified"


def test_other_sites_may_read_it_without_credentials(client, outage):
    response = client.get(JSON_URL, HTTP_ORIGIN="https://shop.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    assert "Set-Cookie" not in response


def test_on_a_custom_domain_every_link_stays_on_that_domain(client, org, outage):
    DomainFactory(organization=org, hostname="status.acme.test", verified_at=datetime.now(UTC))
    [item] = items(client, "/embed.json", HTTP_HOST="status.acme.test")
    assert item["discussion_url"].startswith("http://status.acme.test/incidents/")
    script = client.get("/embed.js", HTTP_HOST="status.acme.test")
    assert script.status_code == 200


def test_on_the_tenant_host_links_use_that_host(client, outage):
    [item] = items(client, "/embed.json", HTTP_HOST="acme.status.localhost")
    assert item["url"].startswith("http://acme.status.localhost/incidents/")


def test_a_title_with_markup_travels_as_escaped_json_text(client, org):
    IncidentFactory(organization=org, name='<img src=x onerror="alert(1)">')
    response = client.get(JSON_URL)
    assert b"<img" not in response.content
    assert json.loads(response.content)["items"][0]["name"] == '<img src=x onerror="alert(1)">'


def test_another_organizations_incident_never_shows(client, org, other_org):
    IncidentFactory(organization=other_org, name="Globex is down")
    assert items(client) == []


# --- the dashboard page ----------------------------------------------------------------------


def test_the_page_gives_the_snippet_badge_markdown_and_outage_page(client, owner, org, outage):
    client.force_login(owner)
    response = client.get(SETTINGS_URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "&lt;script src=&quot;http://localhost:8000/s/acme/embed.js&quot; async&gt;" in body
    assert "[![Acme Cloud status](http://localhost:8000/s/acme/badge.svg)]" in body
    assert "http://localhost:8000/s/acme/down/" in body
    assert "/dashboard/acme/settings/banner/outage-page.html" in body
    assert "1 item would show right now." in body
    # The preview is drawn by the banner's own script, from the same data.
    assert "data-candor-preview" in body
    assert "Checkout is failing" in body


def test_saving_position_and_colours_reaches_the_banner(client, owner, org):
    client.force_login(owner)
    response = client.post(
        SETTINGS_URL,
        {
            "banner_position": "bottom",
            "banner_background": "#FFF8E1",
            "banner_text_color": "#1a1a1a",
        },
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.banner_position, org.banner_background, org.banner_text_color) == (
        "bottom",
        "#fff8e1",
        "#1a1a1a",
    )
    assert AuditEntry.objects.for_org(org).filter(action="banner.update").count() == 1
    banner = json.loads(client.get(JSON_URL).content)["banner"]
    assert banner == {"position": "bottom", "background": "#fff8e1", "text": "#1a1a1a"}


def test_unreadable_colours_are_refused_and_nothing_is_saved(client, owner, org):
    client.force_login(owner)
    version = org.content_version
    response = client.post(
        SETTINGS_URL,
        {"banner_position": "top", "banner_background": "#ffff00", "banner_text_color": "#ffffff"},
    )
    assert response.status_code == 400
    assert "contrast of 1.1:1" in response.content.decode()
    org = Organization.objects.get(pk=org.pk)
    assert org.banner_text_color == "#ffffff" and org.banner_background == "#1e293b"
    assert org.content_version == version
    assert not AuditEntry.objects.for_org(org).filter(action="banner.update").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("banner_position", "middle", "Select a valid choice"),
        ("banner_background", "red", "Use a colour like #2563eb."),
        ("banner_text_color", "", "This field is required."),
    ],
)
def test_bad_settings_get_a_clear_message(client, owner, org, field, value, message):
    client.force_login(owner)
    data = {**SETTINGS, "banner_position": "top"}
    data[field] = value
    response = client.post(SETTINGS_URL, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    org.refresh_from_db()
    assert org.banner_background == "#1e293b"


def test_a_viewer_sees_the_snippets_but_cannot_change_the_banner(client, viewer, org):
    client.force_login(viewer)
    page = client.get(SETTINGS_URL)
    assert page.status_code == 200
    assert "embed.js" in page.content.decode()
    assert "Save banner settings" not in page.content.decode()
    response = client.post(SETTINGS_URL, SETTINGS)
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.banner_position == "top"


def test_an_outsider_gets_404(client, outsider, org):
    client.force_login(outsider)
    assert client.get(SETTINGS_URL).status_code == 404


def test_the_sidebar_links_to_the_page(client, owner, org):
    client.force_login(owner)
    body = client.get("/dashboard/acme/").content.decode()
    assert f'href="{SETTINGS_URL}"' in body
    assert "Banner, badge and outage page" in body


def test_an_editor_may_not_change_the_banner(client, editor, org):
    client.force_login(editor)
    response = client.post(SETTINGS_URL, SETTINGS)
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.banner_position == "top"


def test_the_demo_writes_a_plain_page_with_the_snippet(org, tmp_path, monkeypatch):
    from apps.demo import embed as demo_embed

    monkeypatch.setattr(demo_embed, "example_site_path", lambda: tmp_path / "site.html")
    printed = demo_embed.show(org)
    page = (tmp_path / "site.html").read_text()
    assert '<script src="http://localhost:8000/s/acme/embed.js" async></script>\n</body>' in page
    assert f"file://{tmp_path / 'site.html'}" in printed
    assert "http://localhost:8000/s/acme/down/" in printed
    assert "http://localhost:8000/s/acme/badge.svg" in printed
