"""The organization's data export (apps/privacy/export.py): what it holds, what it never holds,
who may have it, and what it costs."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.organizations.models import AuditEntry
from tests.factories import IncidentUpdateFactory, MembershipFactory, UserFactory
from tests.forum.factories import CommentFactory
from tests.notifications.factories import EmailSubscriberFactory

from .conftest import fill

pytestmark = pytest.mark.django_db


def export_url(org) -> str:
    return reverse("privacy:export", args=[org.slug])


def download(client, org) -> tuple[object, bytes]:
    response = client.post(export_url(org))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def exported(client, owner, org) -> dict:
    client.force_login(owner)
    response, body = download(client, org)
    assert response.status_code == 200
    return json.loads(body)


def test_the_export_is_a_versioned_json_download(client, org, owner):
    client.force_login(owner)
    response, body = download(client, org)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="candor-export-acme-')
    assert response["Cache-Control"] == "no-store"
    document = json.loads(body)
    assert document["format"] == "candor-export/1"
    assert document["exported_by"] == "alice@acme.test"
    assert document["organization"]["slug"] == "acme"


def test_it_holds_the_organization_and_its_team(client, org, owner, filled):
    document = exported(client, owner, org)
    assert document["organization"]["name"] == "Acme Cloud"
    assert document["organization"]["default_language"] == "en"
    assert document["organization"]["languages"] == ["en", "de", "fr", "es", "ja"]
    assert document["organization"]["notification_settings"]["staff_slack_url_set"] is True
    assert [(m["email"], m["role"]) for m in document["members"]] == [("alice@acme.test", "owner")]
    assert [i["email"] for i in document["invitations"]] == ["invitee-acme@example.com"]
    assert [d["hostname"] for d in document["domains"]] == ["status.acme.example"]
    assert [k["name"] for k in document["api_keys"]] == ["Acme key"]
    assert [a["name"] for a in document["alert_integrations"]] == ["Acme alerts"]


def test_it_holds_components_incidents_updates_postmortems_and_follow_ups(
    client, org, owner, filled
):
    document = exported(client, owner, org)
    assert [g["name"] for g in document["component_groups"]] == ["Acme group"]
    [component] = document["components"]
    assert (component["name"], component["group"]) == (
        "Acme API",
        filled["component"].group.public_id,
    )
    incidents = {i["public_id"]: i for i in document["incidents"]}
    incident = incidents[filled["incident"].public_id]
    assert incident["name"] == "Acme outage"
    assert incident["components"] == [filled["component"].public_id]
    assert [u["body"] for u in incident["updates"]] == ["Acme update body"]
    maintenance = incidents[filled["maintenance"].public_id]
    assert (maintenance["kind"], maintenance["name"]) == ("maintenance", "Acme maintenance")
    [postmortem] = document["postmortems"]
    assert postmortem["incident"] == filled["incident"].public_id
    assert postmortem["summary"] == "Acme postmortem summary"
    [item] = document["follow_ups"]
    assert (item["title"], item["postmortem"]) == ("Acme follow-up", filled["postmortem"].public_id)
    assert [t["name"] for t in document["incident_templates"]] == ["Acme template"]


def test_it_holds_subscribers_with_channels_and_confirmation(client, org, owner, filled):
    EmailSubscriberFactory(
        organization=org, email="pending@example.com", confirmed_at=None, language="ja"
    )
    document = exported(client, owner, org)
    by_channel = {}
    for subscriber in document["subscribers"]:
        by_channel.setdefault(subscriber["channel"], []).append(subscriber)
    emails = {s["email"]: s for s in by_channel["email"]}
    assert emails["reader-acme@example.com"]["confirmed"] is True
    assert emails["reader-acme@example.com"]["components"] == [filled["component"].public_id]
    assert emails["pending@example.com"]["confirmed"] is False
    assert emails["pending@example.com"]["language"] == "ja"
    [webhook] = by_channel["webhook"]
    assert (webhook["url"], webhook["url_redacted"]) == ("https://hooks.acme.example", True)
    [slack] = by_channel["slack"]
    assert slack["url"] == "https://hooks.slack.com/…"


def test_it_holds_the_forum_and_the_audit_log(client, org, owner, filled):
    document = exported(client, owner, org)
    [thread] = document["forum_threads"]
    assert thread["incident"] == filled["incident"].public_id
    [comment] = document["forum_comments"]
    assert comment["body_source"] == "Acme comment body"
    assert (comment["author_name"], comment["author_email"]) == (
        "Acme Cu",
        "customer-acme@example.com",
    )
    assert [f["email"] for f in document["forum_flags"]] == ["flagger-acme@example.com"]
    assert [b["email"] for b in document["forum_bans"]] == ["banned-acme@example.com"]
    assert [m["email"] for m in document["forum_affected_marks"]] == ["customer-acme@example.com"]
    actions = [entry["action"] for entry in document["audit_log"]]
    assert "alert_integration.create" in actions
    assert "org.export" in actions  # this export's own row, recorded before the first byte


def test_no_secret_appears_anywhere_in_the_export(client, org, owner, filled):
    client.force_login(owner)
    _response, body = download(client, org)
    text = body.decode()
    leaked = [secret for secret in filled["secrets"] if secret and secret in text]
    assert leaked == []


def test_another_organizations_rows_never_appear(client, org, owner, other_org, outsider, filled):
    fill(other_org, outsider, tag="Globex")
    client.force_login(owner)
    _response, body = download(client, org)
    assert b"Globex" not in body
    assert b"globex" not in body
    assert b"oscar@" not in body


def test_the_export_is_audited_with_who_when_and_size(client, org, owner, filled):
    client.force_login(owner)
    _response, body = download(client, org)
    entry = AuditEntry.objects.get(organization=org, action="org.export")
    assert entry.actor == owner
    assert entry.data["completed"] is True
    assert entry.data["bytes"] == len(body)
    assert entry.data["rows"]["subscribers"] == 3
    assert entry.data["rows"]["forum_comments"] == 1


@pytest.mark.parametrize("role", ["admin", "editor", "viewer"])
def test_only_owners_may_export(client, org, role, filled):
    member = MembershipFactory(organization=org, role=role).user
    client.force_login(member)
    response = client.post(export_url(org))
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(organization=org, action="org.export").exists()


def test_an_owner_of_another_organization_gets_404(client, org, outsider, filled):
    client.force_login(outsider)
    assert client.post(export_url(org)).status_code == 404


def test_the_export_is_a_post(client, org, owner):
    client.force_login(owner)
    assert client.get(export_url(org)).status_code == 405


def test_the_settings_page_offers_the_export_to_owners_only(client, org, owner, admin):
    settings_url = reverse("organizations:settings", args=[org.slug])
    client.force_login(owner)
    assert export_url(org).encode() in client.get(settings_url).content
    client.force_login(admin)
    assert export_url(org).encode() not in client.get(settings_url).content


def _count_queries(client, org) -> int:
    with CaptureQueriesContext(connection) as queries:
        response, _body = download(client, org)
    assert response.status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_depend_on_the_number_of_rows(client, org, owner, filled):
    client.force_login(owner)
    _count_queries(client, org)  # the first request also writes the session's current_org
    few = _count_queries(client, org)
    incident = filled["incident"]
    thread = filled["comment"].thread
    for n in range(30):
        IncidentUpdateFactory(incident=incident, body=f"more {n}")
        EmailSubscriberFactory(organization=org, components=[filled["component"]])
        CommentFactory(thread=thread, author=UserFactory())
    many = _count_queries(client, org)
    assert many == few


def test_rows_stream_in_chunks(client, org, owner, filled, monkeypatch):
    from apps.privacy import export

    monkeypatch.setattr(export, "CHUNK_BYTES", 512)
    for _ in range(40):
        EmailSubscriberFactory(organization=org)
    client.force_login(owner)
    response = client.post(export_url(org))
    chunks = list(response.streaming_content)
    assert len(chunks) > 5
    assert json.loads(b"".join(chunks))["format"] == "candor-export/1"
