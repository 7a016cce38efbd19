"""Every event kind's mail, webhook body and Slack text, compared with golden files.

The golden files under tests/notifications/golden/ were written by the code before the generic
event seam (issue 10): what a subscriber receives must stay byte-for-byte the same while the
pipeline is reorganised. One timeline drives the real services (so `emit` and the renderers are
exercised too) and the real pipeline (eager tasks, a local HTTP receiver for webhooks and Slack,
Django's locmem mail backend).

Ids the services generate (incidents, updates, events, postmortems) are replaced by labels in
creation order and times by placeholders, so a file compares equal on every run; everything
else is compared as sent. To write the files again (only when a change of what subscribers
receive is intended): CANDOR_WRITE_GOLDEN=1 pytest tests/notifications/test_golden.py
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from apps.forum import services as forum
from apps.forum.models import Comment, Thread
from apps.forum.notifications import EventKind as ForumKind
from apps.incidents import services as incidents
from apps.incidents.models import Incident, IncidentUpdate, Postmortem
from apps.notifications import registry
from apps.notifications import services as notifications
from apps.notifications.models import NotificationEvent, Subscriber
from apps.organizations.principals import Customer
from apps.status import services as status
from tests.factories import ComponentFactory, ComponentGroupFactory, UserFactory, member

from .factories import EmailSubscriberFactory, SlackSubscriberFactory, WebhookSubscriberFactory
from .receiver import http_receiver

GOLDEN = Path(__file__).parent / "golden"
MAIL_HEADERS = (
    "Message-ID",
    "In-Reply-To",
    "References",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Id",
    "Auto-Submitted",
)
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
MAIL_TIME = re.compile(r"[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d [A-Z]{3,4}")
# The forum's signed mute links hold database ids, which differ from run to run.
MUTE_TOKEN = re.compile(r"/discussions/(mute|mute-all)/[^/\s\"]+/")
# Kinds that reach only one channel family: a person's reply mail; discussion events for hooks.
MAIL_ONLY = {ForumKind.REPLIES}
HOOKS_ONLY = {ForumKind.COMMENT_CREATED, ForumKind.COMMENT_FLAGGED, ForumKind.AFFECTED_THRESHOLD}


class Timeline:
    """Runs each step with on-commit callbacks executed and records what left the pipeline."""

    def __init__(self, capture, hooks, slack) -> None:
        self.capture = capture
        self.hooks = hooks
        self.slack = slack
        self.steps: dict[str, dict] = {}

    def step(self, name: str, action) -> None:
        mail.outbox.clear()
        self.hooks.requests.clear()
        self.slack.requests.clear()
        with self.capture(execute=True):
            action()
        self.steps[name] = {
            "mail": [
                {
                    "to": message.to,
                    "from": message.from_email,
                    "subject": message.subject,
                    "headers": {h: message.extra_headers.get(h) for h in MAIL_HEADERS},
                    "text": message.body,
                    "html": message.alternatives[0][0],
                }
                for message in mail.outbox
            ],
            "webhook": [
                {
                    "webhook-id": request.headers["webhook-id"],
                    # Everything but meta.generated_at, which is the time of sending.
                    "body": json.loads(request.body),
                }
                for request in self.hooks.requests
            ],
            "slack": [json.loads(request.body) for request in self.slack.requests],
        }


def normalised(text: str, labels: dict[str, str]) -> str:
    for public_id, label in labels.items():
        text = text.replace(public_id, label)
    text = ISO_TIME.sub("<time>", text)
    text = MUTE_TOKEN.sub(r"/discussions/\1/<token>/", text)
    return MAIL_TIME.sub("<mail time>", text)


@pytest.fixture
def timeline(org, owner, django_capture_on_commit_callbacks, loopback_hooks):
    # Every Slack message at once (pacing would hold back the second event of a step).
    loopback_hooks.NOTIFICATIONS_SLACK_MIN_INTERVAL = 0
    with http_receiver() as hooks, http_receiver() as slack:
        EmailSubscriberFactory(
            organization=org,
            email="reader@example.com",
            public_id="sreader00001",
            manage_nonce="n1",
        )
        WebhookSubscriberFactory(
            organization=org,
            url=hooks.url + "/candor",
            email="ops@example.com",
            public_id="shook0000001",
            manage_nonce="n2",
            discussion_events=True,
        )
        SlackSubscriberFactory(
            organization=org,
            url=slack.url + "/slack",
            public_id="sslack000001",
            manage_nonce="n3",
            discussion_events=True,
        )
        yield Timeline(django_capture_on_commit_callbacks, hooks, slack)


def run_every_kind(timeline: Timeline, org, owner) -> dict[str, str]:
    """The timeline: every registered kind at least once. Returns {public id: label}."""
    group = ComponentGroupFactory(
        organization=org, name="Europe", public_id="gcomponents1", position=1
    )
    api = ComponentFactory(
        organization=org, name="API", group=group, public_id="capi00000001", position=1
    )
    web = ComponentFactory(organization=org, name="Web <app>", public_id="cweb00000001", position=2)
    notifications.set_email_component_changes(org, enabled=True, actor=member(owner))
    incident: dict[str, Incident] = {}

    timeline.step(
        "component.status_changed",
        lambda: status.set_component_status(web, "degraded_performance", actor=member(owner)),
    )

    def open_it():
        incident["it"] = incidents.open_incident(
            org,
            actor=member(owner),
            name="Elevated API errors",
            status="investigating",
            body="We are looking into *elevated* errors & timeouts.",
            components={api: "major_outage"},
            next_update_due=timezone.now() + timedelta(minutes=30),
        )

    timeline.step("incident.opened", open_it)
    timeline.step(
        "incident.updated",
        lambda: incidents.post_update(
            incident["it"],
            actor=member(owner),
            status="identified",
            body="A bad deploy.\n\nRolling back now.",
            components={api: "partial_outage"},
        ),
    )
    timeline.step(
        "incident.resolved",
        lambda: incidents.resolve_incident(incident["it"], actor=member(owner), body="All fixed."),
    )

    def publish():
        incidents.save_postmortem(
            incident["it"],
            actor=member(owner),
            summary="A deploy broke the API for twenty minutes.",
            customer_impact="Requests failed.",
            cause="A bad configuration value.",
            resolution="We rolled back.",
        )
        incidents.publish_postmortem(incident["it"], actor=member(owner), notify_subscribers=True)

    timeline.step("incident.postmortem_published", publish)

    start = timezone.now() + timedelta(days=1)

    def schedule(name: str) -> Incident:
        return incidents.schedule_maintenance(
            org,
            actor=member(owner),
            name=name,
            body="We upgrade the database.",
            scheduled_for=start,
            scheduled_until=start + timedelta(hours=2),
            components=[api],
            reminder_hours=2,
        )

    timeline.step("maintenance.scheduled", lambda: incident.update(m=schedule("DB upgrade")))
    timeline.step(
        "maintenance.reminder",
        lambda: incidents.send_maintenance_reminder(incident["m"], at=timezone.now()),
    )
    timeline.step(
        "maintenance.started",
        lambda: incidents.start_maintenance(incident["m"], actor=member(owner), body="Started."),
    )
    timeline.step(
        "maintenance.updated",
        lambda: incidents.post_maintenance_update(
            incident["m"], actor=member(owner), body="Halfway there.", status=None
        ),
    )
    timeline.step(
        "maintenance.completed",
        lambda: incidents.complete_maintenance(incident["m"], actor=member(owner), body="Done."),
    )
    timeline.step(
        "maintenance.cancelled",
        lambda: incidents.cancel_maintenance(
            schedule("Network work"), actor=member(owner), body="Not needed after all."
        ),
    )

    run_the_discussion(timeline, org, owner, incident["it"])

    def keep_the_promise():
        postmortem = Postmortem.objects.get(incident=incident["it"])
        item = incidents.add_action_item(
            postmortem, actor=member(owner), title="Try every deploy on one server first"
        )
        incidents.update_action_item(item, actor=member(owner), status="done")

    timeline.step("incident.promise_kept", keep_the_promise)

    labels = {org.public_id: "org"}
    for model, prefix in (
        (Incident, "incident"),
        (IncidentUpdate, "update"),
        (Postmortem, "postmortem"),
        (NotificationEvent, "event"),
        (Thread, "thread"),
        (Comment, "comment"),
    ):
        for number, public_id in enumerate(
            model.objects.order_by("id").values_list("public_id", flat=True), start=1
        ):
            labels[public_id] = f"{prefix}{number:02d}"
    # A person's own mail row (forum replies), created when their first mail is due.
    people = Subscriber.people.order_by("id").values_list("public_id", flat=True)
    for number, public_id in enumerate(people, start=1):
        labels[public_id] = f"person{number:02d}"
    return labels


def run_the_discussion(timeline: Timeline, org, owner, incident: Incident) -> None:
    """The forum's kinds (issue 11): a customer's comment, a staff answer that mails them,
    a flag, and the tenth person affected (the default alert threshold)."""
    casey = UserFactory(email="casey@customer.test", display_name="Casey Jones")
    owner.display_name = "Alex Morgan"
    owner.save(update_fields=["display_name"])
    question: dict[str, Comment] = {}

    def ask():
        question["c"] = forum.post_comment(
            incident, actor=Customer(casey, org), body="Is the **EU** region affected too?"
        )

    timeline.step("comment.created", ask)
    timeline.step(
        "discussion.replies",
        lambda: forum.post_comment(
            incident,
            actor=member(owner),
            body="Yes: EU requests failed between 09:10 and 09:30 UTC.",
            reply_to=question["c"],
        ),
    )
    flagger = UserFactory(email="fran@customer.test", display_name="Fran")
    timeline.step(
        "comment.flagged",
        lambda: forum.flag_comment(question["c"], actor=Customer(flagger, org), reason="off_topic"),
    )
    people = UserFactory.create_batch(10)
    for person in people[:-1]:
        forum.mark_affected(incident, actor=Customer(person, org))
    timeline.step(
        "thread.affected_threshold",
        lambda: forum.mark_affected(incident, actor=Customer(people[-1], org)),
    )


def test_every_kind_reaches_subscribers_exactly_as_before_the_event_seam(timeline, org, owner):
    labels = run_every_kind(timeline, org, owner)

    assert set(timeline.steps) == registered_kinds()
    for name, step in timeline.steps.items():
        assert name in step_kinds(step) or name in MAIL_ONLY, name
    for name, step in timeline.steps.items():
        for entry in step["webhook"]:
            entry["body"]["meta"]["generated_at"] = "<time>"
        text = normalised(json.dumps(step, indent=2, ensure_ascii=False, sort_keys=True), labels)
        path = GOLDEN / f"{name}.json"
        if os.environ.get("CANDOR_WRITE_GOLDEN") == "1":
            GOLDEN.mkdir(exist_ok=True)
            path.write_text(text + "\n")
        assert text + "\n" == path.read_text(), f"{name}: what subscribers receive changed"


def registered_kinds() -> set[str]:
    return {kind for kind, _label in registry.kind_choices()}


def step_kinds(step: dict) -> set[str]:
    return {entry["body"]["meta"]["event_type"] for entry in step["webhook"]}


def test_the_golden_files_hold_mail_webhooks_and_slack_for_every_kind():
    files = {path.stem: json.loads(path.read_text()) for path in GOLDEN.glob("*.json")}

    assert set(files) == registered_kinds()
    for name, step in files.items():
        assert bool(step["mail"]) == (name not in HOOKS_ONLY), name
        kinds = {entry["body"]["meta"]["event_type"] for entry in step["webhook"]}
        assert (name in kinds) == (name not in MAIL_ONLY), name
        assert step["slack"] or name in MAIL_ONLY, name
