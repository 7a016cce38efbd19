"""Action items on the public page with their dates, and "we did what we promised": when the
last action item of a published postmortem is done, one event tells subscribers, once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core import mail
from django.urls import reverse

from apps.incidents import services
from apps.incidents.models import ActionItem, IncidentStatus, Postmortem
from apps.incidents.notifications import EventKind
from apps.notifications.models import NotificationEvent
from apps.organizations.models import AuditEntry
from apps.status.models import ComponentStatus
from tests.factories import ComponentFactory, IncidentFactory, member
from tests.notifications.factories import EmailSubscriberFactory

from .factories import ActionItemFactory, PostmortemFactory

pytestmark = pytest.mark.django_db
Status = ActionItem.Status
JSON = "application/json"


@pytest.fixture
def incident(org, editor):
    api = ComponentFactory(organization=org, name="API")
    incident = services.open_incident(
        org, actor=member(editor), name="API down", status="investigating", body="Looking.",
        components={api: ComponentStatus.MAJOR_OUTAGE},
    )  # fmt: skip
    services.resolve_incident(incident, actor=member(editor))
    incident.refresh_from_db()
    return incident


def publish(incident, editor, *, notify: bool = True) -> Postmortem:
    services.save_postmortem(incident, actor=member(editor), summary="The API failed.")
    return services.publish_postmortem(incident, actor=member(editor), notify_subscribers=notify)


def add(postmortem, editor, title: str) -> ActionItem:
    return services.add_action_item(postmortem, actor=member(editor), title=title)


def finish(item, editor) -> ActionItem:
    return services.update_action_item(item, actor=member(editor), status=Status.DONE)


def promises() -> list[NotificationEvent]:
    return list(NotificationEvent.objects.filter(kind=EventKind.PROMISE_KEPT))


def test_the_last_item_done_tells_subscribers_once(incident, editor):
    postmortem = publish(incident, editor)
    alert, canary = add(postmortem, editor, "Alert sooner"), add(postmortem, editor, "Canary")
    finish(alert, editor)
    assert promises() == []
    finish(canary, editor)

    [event] = promises()
    assert event.deliver is True
    assert event.subject_id == incident.public_id
    assert event.snapshot["postmortem"] == postmortem.public_id
    assert event.snapshot["action_items"] == 2
    postmortem.refresh_from_db()
    assert postmortem.promise_kept_at is not None
    entry = AuditEntry.objects.get(action="postmortem.promise_kept")
    assert entry.data == {"action_items": 2, "notify_subscribers": True}


def test_reopening_an_item_and_finishing_it_again_sends_nothing_more(incident, editor):
    postmortem = publish(incident, editor)
    item = add(postmortem, editor, "Alert sooner")
    finish(item, editor)
    services.update_action_item(item, actor=member(editor), status=Status.IN_PROGRESS)
    finish(item, editor)
    # Nor does unpublishing and publishing again, then a new item finished.
    services.unpublish_postmortem(incident, actor=member(editor))
    services.publish_postmortem(incident, actor=member(editor), notify_subscribers=True)
    finish(add(Postmortem.objects.get(), editor, "Canary"), editor)
    assert len(promises()) == 1


def test_items_done_while_a_draft_or_added_as_done_send_nothing(incident, editor):
    services.save_postmortem(incident, actor=member(editor), summary="The API failed.")
    draft = Postmortem.objects.get()
    finish(add(draft, editor, "Alert sooner"), editor)
    services.publish_postmortem(incident, actor=member(editor), notify_subscribers=True)
    services.add_action_item(
        Postmortem.objects.get(), actor=member(editor), title="Canary", status=Status.DONE
    )
    assert promises() == []
    assert Postmortem.objects.get().promise_kept_at is None


def test_published_without_notifying_it_is_recorded_but_not_delivered(incident, editor):
    postmortem = publish(incident, editor, notify=False)
    finish(add(postmortem, editor, "Alert sooner"), editor)
    [event] = promises()
    assert event.deliver is False


def test_subscribers_get_one_mail_linking_the_postmortem(
    org, incident, editor, django_capture_on_commit_callbacks
):
    EmailSubscriberFactory(organization=org, email="reader@example.com")
    postmortem = publish(incident, editor)
    first, second = add(postmortem, editor, "Alert sooner"), add(postmortem, editor, "Canary")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        finish(first, editor)
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        finish(second, editor)
    with django_capture_on_commit_callbacks(execute=True):
        services.update_action_item(second, actor=member(editor), status=Status.IN_PROGRESS)
        finish(second, editor)

    [message] = mail.outbox
    assert message.to == ["reader@example.com"]
    assert message.subject == "[Acme Cloud] We did what we promised: API down"
    assert "All 2 changes we promised after this incident are done." in message.body
    assert "- Alert sooner\n- Canary" in message.body
    assert f"/s/acme/incidents/{incident.public_id}/#postmortem" in message.body


def test_ticking_off_the_last_item_in_the_dashboard_sends_it(client, org, incident, editor):
    postmortem = publish(incident, editor)
    item = add(postmortem, editor, "Alert sooner")
    client.force_login(editor)
    response = client.post(
        reverse("incidents:action_item_status", args=[org.slug, incident.public_id,
                                                      item.public_id]),
        {"status": "done"},
    )  # fmt: skip
    assert response.status_code == 302
    assert len(promises()) == 1
    page = client.get(reverse("incidents:postmortem", args=[org.slug, incident.public_id]))
    assert "Subscribers were told “we did what we promised”" in page.content.decode()


def test_finishing_the_last_item_through_the_api_sends_it(api, api_key, incident, editor):
    postmortem = publish(incident, editor)
    item = add(postmortem, editor, "Alert sooner")
    response = api(api_key).patch(
        f"/api/v1/incidents/{incident.public_id}/postmortem/action-items/{item.public_id}/",
        {"status": "done"},
        content_type=JSON,
    )
    assert response.status_code == 200
    assert response.json()["status_changed_at"] is not None
    assert len(promises()) == 1
    body = api(api_key).get(f"/api/v1/incidents/{incident.public_id}/postmortem/").json()
    assert body["promise_kept_at"] is not None


# --- the public page -----------------------------------------------------------------------


def page_of(client, incident) -> str:
    body = client.get(f"/s/{incident.organization.slug}/incidents/{incident.public_id}/")
    return body.content.decode().split('id="postmortem-heading"')[1]


@pytest.fixture
def published(org):
    org.timezone = "America/Los_Angeles"
    org.save(update_fields=["timezone"])
    incident = IncidentFactory(organization=org, status=IncidentStatus.RESOLVED)
    return PostmortemFactory(incident=incident, published=True)


def test_each_item_shows_its_status_with_its_date_in_the_pages_time_zone(client, published):
    # 03:00 UTC on Dec 3 is still Dec 2 in Los Angeles.
    ActionItemFactory(postmortem=published, title="Alert sooner", status=Status.DONE,
                      completed_at=datetime(2026, 12, 3, 3, 0, tzinfo=UTC))  # fmt: skip
    ActionItemFactory(postmortem=published, title="Canary", status=Status.IN_PROGRESS,
                      status_changed_at=datetime(2026, 11, 28, 18, 0, tzinfo=UTC),
                      due_date=date(2027, 1, 15))  # fmt: skip
    ActionItemFactory(postmortem=published, title="Second region", status=Status.PLANNED,
                      due_date=date(2027, 3, 1))  # fmt: skip
    section = page_of(client, published.incident)
    assert (
        'id="postmortem"'
        in client.get(
            f"/s/{published.organization.slug}/incidents/{published.incident.public_id}/"
        ).content.decode()
    )
    assert 'Done on <time datetime="2026-12-03T03:00:00+00:00">2 Dec 2026</time>' in section
    assert (
        'In progress since <time datetime="2026-11-28T18:00:00+00:00">28 Nov 2026</time>, '
        "planned to be done by 15 Jan 2027" in section
    )
    assert "Planned to be done by 1 Mar 2027" in section
    # The anchor "we did what we promised" links to.
    body = client.get(f"/s/acme/incidents/{published.incident.public_id}/").content.decode()
    assert '<section class="sp-postmortem" id="postmortem"' in body
    assert "Every change we promised here is done." not in section


def test_a_status_change_shows_on_the_cached_page_with_its_date(
    client, published, editor, django_capture_on_commit_callbacks
):
    item = ActionItemFactory(postmortem=published, title="Alert sooner")
    assert "In progress since" not in page_of(client, published.incident)  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        item = services.update_action_item(item, actor=member(editor), status=Status.IN_PROGRESS)
    section = page_of(client, published.incident)
    local = item.status_changed_at.astimezone(published.organization.tzinfo)
    assert "In progress since <time datetime=" in section
    assert f"{local.day} {local:%b %Y}</time>" in section
    with django_capture_on_commit_callbacks(execute=True):
        services.update_action_item(item, actor=member(editor), status=Status.DONE)
    section = page_of(client, published.incident)
    assert "Done on <time" in section
    assert "Every change we promised here is done." in section
