"""Event kinds belong to the apps that emit them (issue 10): each registers its kinds with a
label, the pipeline stores a kind as a plain string, and the dashboard's filter and labels and
the API's `kind` enum read the registry, so a kind registered later (the forum's) needs no change
in apps.notifications."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from apps.forum.notifications import EventKind as ForumKind
from apps.incidents.notifications import EventKind
from apps.notifications import registry
from apps.notifications.models import NotificationEvent
from apps.notifications.registry import Renderer
from apps.status.notifications import EventKind as ComponentKind
from tests.factories import IncidentFactory

from .factories import NotificationEventFactory

APP = Path(__file__).resolve().parents[2] / "apps" / "notifications"
# The kinds Candor emitted before they moved to their apps; stored events and webhook
# subscribers (`meta.event_type`) depend on these exact strings.
KINDS_BEFORE_THE_MOVE = {
    "incident.opened",
    "incident.updated",
    "incident.resolved",
    "incident.postmortem_published",
    "component.status_changed",
    "maintenance.scheduled",
    "maintenance.reminder",
    "maintenance.started",
    "maintenance.updated",
    "maintenance.completed",
    "maintenance.cancelled",
}
# Registered by the forum (issue 11), with no change in apps.notifications.
FORUM_KINDS = {
    "discussion.replies",
    "comment.created",
    "comment.flagged",
    "thread.affected_threshold",
}

# Kinds added since, each by the feature that emits it.
KINDS_ADDED_SINCE = {
    "incident.promise_kept",  # issue 12: every action item of a published postmortem done
}
KINDS = KINDS_BEFORE_THE_MOVE | FORUM_KINDS | KINDS_ADDED_SINCE


@pytest.fixture
def forum_kind(monkeypatch):
    """A kind another app registers after the pipeline's forms and serializers were defined."""
    monkeypatch.setattr(registry, "_renderers", dict(registry._renderers))
    monkeypatch.setattr(registry, "_labels", dict(registry._labels))
    registry.register("forum.reply", Renderer(), label="Forum reply")
    return "forum.reply"


def test_the_emitting_apps_register_every_kind_with_its_label():
    choices = dict(registry.kind_choices())

    assert set(choices) == KINDS
    assert choices["incident.opened"] == "Incident opened"
    assert choices["component.status_changed"] == "Component status changed"
    assert {kind.value: kind.label for kind in EventKind} | {
        kind.value: kind.label for kind in ComponentKind
    } | {kind.value: kind.label for kind in ForumKind} == choices


def test_the_kind_field_has_no_choices_and_stores_any_registered_kind(org, forum_kind):
    event = NotificationEventFactory(organization=org, kind=forum_kind)

    event.refresh_from_db()
    assert NotificationEvent._meta.get_field("kind").choices is None
    assert event.kind == "forum.reply"


def test_a_kind_needs_a_label_and_keeps_the_one_it_was_given(forum_kind):
    with pytest.raises(ValueError, match="label"):
        registry.register("forum.thread", Renderer())
    with pytest.raises(ValueError, match="already has the label"):
        registry.register(
            forum_kind, registry.renderer_for(NotificationEvent(kind=forum_kind)), label="Reply"
        )


def test_a_kind_no_app_registers_any_more_reads_as_itself():
    assert registry.kind_label("incident.exploded") == "incident.exploded"
    assert registry.kind_label(EventKind.MAINTENANCE_REMINDER) == "Maintenance reminder"


def test_the_dashboard_filters_and_labels_by_the_registered_kinds(client, viewer, org, forum_kind):
    incident = IncidentFactory(organization=org, name="Elevated API errors")
    NotificationEventFactory(organization=org, kind=EventKind.INCIDENT_RESOLVED, incident=incident)
    NotificationEventFactory(organization=org, kind=forum_kind, snapshot={})
    client.force_login(viewer)

    page = client.get(f"/dashboard/{org.slug}/notifications/").content.decode()
    replies = client.get(f"/dashboard/{org.slug}/notifications/", {"kind": forum_kind})

    assert '<option value="forum.reply">Forum reply</option>' in page
    assert '<option value="incident.resolved">Incident resolved</option>' in page
    assert ">Incident resolved</span>" in page
    assert "Elevated API errors" not in replies.content.decode()
    assert ">Forum reply</span>" in replies.content.decode()


def test_the_api_filters_and_names_a_kind_registered_later(api, api_key, org, forum_kind):
    reply = NotificationEventFactory(organization=org, kind=forum_kind, snapshot={})
    NotificationEventFactory(organization=org, kind=EventKind.INCIDENT_OPENED)

    response = api(api_key).get("/api/v1/notification-events/", {"kind": forum_kind})

    assert response.status_code == 200
    assert [(row["id"], row["kind"]) for row in response.json()["results"]] == [
        (reply.public_id, "forum.reply")
    ]


def test_the_schema_documents_the_same_kinds_as_before_the_move(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    [kind_filter] = [
        parameter
        for parameter in schema["paths"]["/api/v1/notification-events/"]["get"]["parameters"]
        if parameter["name"] == "kind"
    ]

    assert set(schema["components"]["schemas"]["NotificationEventKindEnum"]["enum"]) == KINDS
    assert set(kind_filter["schema"]["enum"]) == KINDS


def test_the_pipeline_names_no_kind_of_the_apps_that_emit():
    strings = {
        node.value
        for path in APP.rglob("*.py")
        if "migrations" not in path.parts
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }

    assert strings & KINDS == set()
