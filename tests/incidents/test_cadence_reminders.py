"""Staff reminders of promised updates (issue 12 §2): beat reminds the incident's responders
once shortly before the update is due and once when it is overdue, by email and in the staff
Slack channel, each once per due time, also when two beat runs overlap."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail

from apps.incidents import services, tasks
from apps.incidents.models import Incident
from apps.notifications.models import NotificationSettings
from apps.organizations.models import AuditEntry
from apps.organizations.principals import System
from apps.organizations.roles import Role
from tests.factories import MembershipFactory, UserFactory, member
from tests.notifications.receiver import http_receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(org, editor, clock):
    return services.open_incident(
        org, actor=member(editor), name="API errors", status="investigating", body="Looking.",
        next_update_due=clock.now + timedelta(minutes=30),
    )  # fmt: skip


def beat(clock) -> dict[str, int]:
    return tasks.run_update_reminders_at(clock.now)


def reminder_mail(to: str) -> list:
    return [m for m in mail.outbox if m.to == [to]]


def test_no_reminder_while_the_update_is_not_yet_due(org, editor, incident, clock):
    clock.move(minutes=20)

    assert beat(clock) == {"due_soon": 0, "overdue": 0}
    assert mail.outbox == []


def test_one_reminder_shortly_before_and_one_when_overdue(org, editor, owner, incident, clock):
    clock.move(minutes=26)  # 4 minutes before the promised time (lead: 5 minutes)
    first = beat(clock)
    clock.move(minutes=1)
    again = beat(clock)

    assert first == {"due_soon": 1, "overdue": 0}
    assert again == {"due_soon": 0, "overdue": 0}
    [soon] = mail.outbox
    assert soon.to == ["eddie@acme.test"]  # the responder who opened it; not the owner
    assert soon.subject.startswith("Update due by ")
    assert soon.subject.endswith(": API errors")
    assert "The next update is due by" in soon.body and "(in 4 minutes)" in soon.body
    assert f"/dashboard/acme/incidents/{incident.public_id}/" in soon.body
    assert "because you opened this incident or posted one of its updates" in soon.body

    clock.move(minutes=4)  # one minute past the promised time
    overdue = beat(clock)
    clock.move(minutes=10)
    later = beat(clock)

    assert overdue == {"due_soon": 0, "overdue": 1}
    assert later == {"due_soon": 0, "overdue": 0}
    assert len(mail.outbox) == 2
    late = mail.outbox[1]
    assert late.subject.startswith("Update overdue since ")
    assert "is overdue" in late.body
    actions = list(
        AuditEntry.objects.filter(action="incident.update_reminder")
        .order_by("id")
        .values_list("data", flat=True)
    )
    assert [a["reminder"] for a in actions] == ["due_soon", "overdue"]


def test_a_new_promise_gets_its_own_reminders(org, editor, incident, clock):
    clock.move(minutes=31)
    beat(clock)  # overdue reminder for the first promise
    services.post_update(
        incident,
        actor=member(editor),
        status="identified",
        body="Found it.",
        next_update_due=clock.now + timedelta(minutes=10),
    )

    clock.move(minutes=6)
    soon = beat(clock)
    clock.move(minutes=5)
    overdue = beat(clock)

    assert soon == {"due_soon": 1, "overdue": 0}
    assert overdue == {"due_soon": 0, "overdue": 1}
    assert [m.subject.split(" ")[1] for m in mail.outbox] == ["overdue", "due", "overdue"]


def test_an_update_posted_in_time_means_no_overdue_reminder(org, editor, incident, clock):
    clock.move(minutes=27)
    beat(clock)
    services.post_update(
        incident,
        actor=member(editor),
        status="identified",
        body="Still on it.",
        next_update_due=clock.now + timedelta(minutes=30),
    )
    clock.move(minutes=5)

    assert beat(clock) == {"due_soon": 0, "overdue": 0}
    assert len(mail.outbox) == 1


def test_no_reminders_for_no_further_updates_or_resolved_incidents(org, editor, incident, clock):
    other = services.open_incident(
        org, actor=member(editor), name="Slow search", status="identified", body="b",
        next_update_due=clock.now + timedelta(minutes=30),
    )  # fmt: skip
    services.post_update(
        incident, actor=member(editor), status="monitoring", body="Watching.",
        no_further_updates=True,
    )  # fmt: skip
    services.resolve_incident(other, actor=member(editor))
    clock.move(hours=2)

    assert beat(clock) == {"due_soon": 0, "overdue": 0}
    assert mail.outbox == []


def test_responders_are_who_posted_else_every_editor_and_up(org, owner, editor, viewer, clock):
    admin = MembershipFactory(
        organization=org, user=UserFactory(email="adam@acme.test"), role=Role.ADMIN
    ).user
    by_alert = services.open_incident(
        org, actor=System("alertmanager"), name="Disk full", status="investigating", body="b",
        next_update_due=clock.now + timedelta(minutes=10),
    )  # fmt: skip
    users, own = services.responders(by_alert)
    assert not own
    assert sorted(u.email for u in users) == sorted([owner.email, editor.email, admin.email])

    services.post_update(
        by_alert, actor=member(admin), status="identified", body="Cleaning up.",
        next_update_due=clock.now + timedelta(minutes=10),
    )  # fmt: skip
    users, own = services.responders(by_alert)
    assert own and [u.email for u in users] == [admin.email]

    clock.move(minutes=6)
    beat(clock)
    [sent] = mail.outbox
    assert sent.to == [admin.email]
    assert viewer.email not in {address for m in mail.outbox for address in m.to}


def test_the_fallback_mail_says_why_everyone_gets_it(org, owner, clock):
    services.open_incident(
        org, actor=System("alertmanager"), name="Disk full", status="investigating", body="b",
        next_update_due=clock.now + timedelta(minutes=10),
    )  # fmt: skip
    clock.move(minutes=6)

    beat(clock)

    [sent] = reminder_mail(owner.email)
    assert "nobody who can post updates has posted on this incident yet" in sent.body


def test_the_staff_slack_channel_gets_the_reminder(org, editor, incident, clock, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    with http_receiver() as slack:
        NotificationSettings.objects.create(organization=org, staff_slack_url=slack.url)
        clock.move(minutes=27)
        beat(clock)
        clock.move(minutes=4)
        beat(clock)

    assert len(slack.requests) == 2
    soon, overdue = (json.loads(r.body)["text"] for r in slack.requests)
    assert "*API errors*: The next update is due by" in soon
    assert ":warning: *API errors*: The update you promised for" in overdue
    assert "is overdue" in overdue
    assert f"/dashboard/acme/incidents/{incident.public_id}/|Post an update>" in soon


def test_a_slack_hook_to_a_private_address_is_never_called(org, editor, incident, clock):
    # Loopback is not allowed outside the test switch: apps.core.http refuses it at send time.
    with http_receiver() as slack:
        NotificationSettings.objects.create(organization=org, staff_slack_url=slack.url)
        clock.move(minutes=27)
        beat(clock)

    assert slack.requests == []
    assert len(mail.outbox) == 1  # the mail still went out


def test_a_claimed_reminder_is_not_sent_if_an_update_was_posted_meanwhile(
    org, editor, incident, clock
):
    due = incident.next_update_due
    clock.move(minutes=26)
    assert services.claim_reminder(incident, kind="due_soon", due=due)
    services.post_update(
        incident, actor=member(editor), status="identified", body="x",
        next_update_due=clock.now + timedelta(minutes=30),
    )  # fmt: skip

    assert tasks.send_update_reminder(incident.pk, "due_soon", due.isoformat()) is False
    assert mail.outbox == []


def test_each_reminder_is_claimed_once(org, incident, clock):
    due = incident.next_update_due
    clock.move(minutes=26)

    claims = [services.claim_reminder(incident, kind="due_soon", due=due) for _ in range(3)]

    assert claims == [True, False, False]
    assert Incident.objects.get(pk=incident.pk).due_soon_reminded_for == due


def test_two_overlapping_beat_runs_send_each_reminder_once(org, editor, clock):
    """Both runs read the same incidents before either claims (the worst interleaving); the
    conditional UPDATE lets exactly one of them claim each reminder."""
    for n in range(3):
        services.open_incident(
            org, actor=member(editor), name=f"Incident {n}", status="identified", body="b",
            next_update_due=clock.now + timedelta(minutes=3),
        )  # fmt: skip
    clock.move(minutes=1)
    lead = timedelta(minutes=5)
    first_read = services.incidents_to_remind(clock.now, lead)["due_soon"]
    second_read = services.incidents_to_remind(clock.now, lead)["due_soon"]

    claims = [
        services.claim_reminder(incident, kind="due_soon", due=incident.next_update_due)
        for pair in zip(first_read, second_read, strict=True)
        for incident in pair
    ]

    assert claims == [True, False] * 3
    assert AuditEntry.objects.filter(action="incident.update_reminder").count() == 3
    assert beat(clock) == {"due_soon": 0, "overdue": 0}
