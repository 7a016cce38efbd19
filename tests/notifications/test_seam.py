"""The generic event seam (issue 10): one `emit` call queued on commit, renderers registered
by the emitting app, no import circle inside the pipeline, and a notice when events wait."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from apps.incidents.notifications import EventKind as Kind
from apps.notifications import pipeline, registry
from apps.notifications.models import Delivery, NotificationEvent, Subscriber
from apps.notifications.registry import Mail, Renderer
from tests.factories import IncidentFactory

from .factories import EmailSubscriberFactory, NotificationEventFactory, WebhookSubscriberFactory
from .receiver import http_receiver

APP = Path(__file__).resolve().parents[2] / "apps" / "notifications"


# --- emit -----------------------------------------------------------------------------------


def test_emit_writes_the_event_and_fans_it_out_only_when_the_transaction_commits(
    org, django_capture_on_commit_callbacks
):
    EmailSubscriberFactory(organization=org)
    incident = IncidentFactory(organization=org, name="Slow checkout")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event = pipeline.emit(Kind.INCIDENT_OPENED, org, incident, {"update": None})

    assert (event.subject_type, event.subject_id) == ("incidents.incident", incident.public_id)
    assert len(callbacks) == 1
    assert not Delivery.objects.filter(event=event).exists()

    callbacks[0]()

    event.refresh_from_db()
    assert event.processed_at is not None
    assert Delivery.objects.get(event=event).status == Delivery.Status.SENT


def test_a_row_written_without_emit_is_left_to_the_sweeper(org, django_capture_on_commit_callbacks):
    # No post_save signal any more: only emit() enqueues; the beat sweeper still finds the row.
    # (A bare create on purpose: it is what the old signal caught.)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        NotificationEvent.objects.create(organization=org, kind=Kind.INCIDENT_OPENED)

    assert callbacks == []


def test_deliveries_of_an_event_whose_subject_was_deleted_are_skipped(
    org, django_capture_on_commit_callbacks, loopback_hooks
):
    # The event names its subject without a foreign key: deleting the incident leaves it.
    EmailSubscriberFactory(organization=org)
    incident = IncidentFactory(organization=org)
    with http_receiver() as hooks:
        WebhookSubscriberFactory(organization=org, url=hooks.url + "/x")
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            event = pipeline.emit(Kind.INCIDENT_OPENED, org, incident, {"update": None})
        incident.delete()
        callbacks[0]()

    assert hooks.requests == []
    assert mail.outbox == []
    assert set(Delivery.objects.filter(event=event).values_list("status", "last_error")) == {
        (Delivery.Status.SKIPPED, "The incident was deleted.")
    }


# --- a kind registered by another app -------------------------------------------------------


class ReplyRenderer(Renderer):
    """What a forum would register for reply mails to a thread's followers."""

    def mail(self, event):
        return Mail(
            subject=f"[{event.organization.name}] New reply: {event.snapshot['thread']}",
            text_template="status/email/component_change.txt",
            html_template="status/email/component_change.html",
            context={
                "organization": event.organization,
                "headline": "New reply",
                "title": event.snapshot["thread"],
                "page_url": event.organization.public_url,
            },
            thread=f"thread/{event.subject_id}",
        )

    def webhook_body(self, event):
        return {"reply": {"thread": event.snapshot["thread"]}}

    def slack_text(self, event):
        return f"New reply in {event.snapshot['thread']}"

    def audience(self, event, subscribers):
        return subscribers.filter(email__in=event.snapshot["followers"])


@pytest.fixture
def replies(monkeypatch):
    monkeypatch.setattr(registry, "_renderers", dict(registry._renderers))
    monkeypatch.setattr(registry, "_labels", dict(registry._labels))
    registry.register("forum.reply", ReplyRenderer(), label="Forum reply")


def test_a_kind_another_app_registers_is_delivered_to_its_audience_without_pipeline_changes(
    org, replies, django_capture_on_commit_callbacks, loopback_hooks
):
    EmailSubscriberFactory(organization=org, email="follower@example.com")
    EmailSubscriberFactory(organization=org, email="bystander@example.com")
    with http_receiver() as hooks:
        WebhookSubscriberFactory(
            organization=org, url=hooks.url + "/x", email="follower@example.com"
        )
        with django_capture_on_commit_callbacks(execute=True):
            event = pipeline.emit(
                "forum.reply",
                org,
                org,  # a forum thread would be the subject; any model with a public id does
                {"thread": "Dark mode?", "followers": ["follower@example.com"]},
            )

    [message] = mail.outbox
    assert message.to == ["follower@example.com"]
    assert message.subject == "[Acme Cloud] New reply: Dark mode?"
    assert message.extra_headers["In-Reply-To"] == f"<thread/{org.public_id}@status.localhost>"
    assert message.extra_headers["Message-ID"].startswith(
        f"<thread/{org.public_id}/{event.public_id}."
    )
    [request] = hooks.requests
    assert b'"reply":{"thread":"Dark mode?"}' in request.body


def test_registering_a_second_renderer_for_a_kind_is_refused(replies):
    with pytest.raises(ValueError, match="already registered"):
        registry.register("forum.reply", ReplyRenderer(), label="Forum reply")


def test_an_event_of_an_unregistered_kind_says_so():
    with pytest.raises(LookupError, match=r"no\.such"):
        registry.renderer_for(NotificationEvent(kind="no.such"))


# --- no import circle -----------------------------------------------------------------------


def app_import_graph() -> dict[str, set[str]]:
    """{module: modules of apps.notifications it imports}, wherever the import is written."""
    graph: dict[str, set[str]] = {}
    for path in APP.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(APP.parent.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, *([node.module] if node.module else [])])
                names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found.update(n for n in names if n.startswith("apps.notifications."))
        graph[module] = found
    return {module: {m for m in found if m in graph} for module, found in graph.items()}


def test_the_notifications_modules_import_each_other_without_a_circle():
    graph = app_import_graph()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, "import circle: " + " -> ".join([*path, module])
        if module in done:
            return
        for imported in graph[module]:
            visit(imported, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())
    # The pipeline, the ledger and the channels enqueue tasks by name; only the app config
    # imports tasks.py (to register them).
    importers = {m for m, found in graph.items() if "apps.notifications.tasks" in found}
    assert importers == {"apps.notifications.apps"}


# --- events waiting for a worker ------------------------------------------------------------


def test_the_event_list_says_when_events_wait_for_a_worker(client, viewer, org, settings):
    settings.NOTIFICATIONS_WAITING_EVENT_MINUTES = 5
    old = timezone.now() - timedelta(minutes=6)
    NotificationEventFactory.create_batch(2, organization=org, created_at=old)
    NotificationEventFactory(organization=org)  # just written: not waiting yet
    NotificationEventFactory(organization=org, created_at=old, processed_at=timezone.now())
    client.force_login(viewer)

    page = client.get(f"/dashboard/{org.slug}/notifications/").content.decode()

    assert "2 events have waited more than 5 minutes: is a worker running?" in page
    assert "celery -A config worker" in page


def test_no_notice_while_events_are_fanned_out(client, viewer, org, other_org):
    old = timezone.now() - timedelta(hours=1)
    NotificationEventFactory(organization=org, created_at=old, processed_at=old)
    NotificationEventFactory(organization=other_org, created_at=old)  # another tenant's
    client.force_login(viewer)

    page = client.get(f"/dashboard/{org.slug}/notifications/").content.decode()

    assert "is a worker running?" not in page
    assert pipeline.waiting_events() == 1
    assert pipeline.waiting_events(org) == 0


def test_subscribers_follow_components_without_notifications_importing_status():
    from apps.status.models import Component

    assert Subscriber._meta.get_field("components").related_model is Component
