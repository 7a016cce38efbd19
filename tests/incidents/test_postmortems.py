"""Postmortem services: drafts, publishing rules, status moves, events, audit, action items."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from apps.incidents import services
from apps.incidents.models import ActionItem, IncidentStatus, Postmortem
from apps.incidents.notifications import EventKind as Kinds
from apps.notifications.models import NotificationEvent
from apps.organizations.models import AuditEntry, Organization
from apps.status.models import ComponentStatus
from tests.factories import ComponentFactory, MaintenanceFactory, member

from .factories import ActionItemFactory, PostmortemFactory

pytestmark = pytest.mark.django_db
Status = ActionItem.Status


@pytest.fixture
def resolved(org, editor):
    api = ComponentFactory(organization=org, name="API")
    incident = services.open_incident(
        org, actor=member(editor), name="API down", status="investigating", body="Looking.",
        components={api: ComponentStatus.MAJOR_OUTAGE},
    )  # fmt: skip
    services.resolve_incident(incident, actor=member(editor))
    incident.refresh_from_db()
    return incident


@pytest.fixture
def draft(resolved, editor):
    return services.save_postmortem(
        resolved,
        actor=member(editor),
        summary="  From 10:02 to 10:47 UTC most API requests failed.  ",
        customer_impact="Everyone using the API could not save changes.",
        cause="A configuration change.",
        resolution="We rolled it back.",
    )


def actions(org) -> list[str]:
    return list(
        AuditEntry.objects.filter(organization=org, action__startswith="postmortem")
        .order_by("id")
        .values_list("action", flat=True)
    )


def postmortem_events() -> list[NotificationEvent]:
    """Postmortem events that will be delivered (the others are kept for the record only)."""
    return list(NotificationEvent.objects.filter(kind=Kinds.POSTMORTEM_PUBLISHED, deliver=True))


def version(org) -> int:
    return Organization.objects.get(pk=org.pk).content_version


# --- drafts ------------------------------------------------------------------------------------


def test_saving_creates_a_draft_with_trimmed_sections(draft, resolved, editor, org):
    assert draft.incident == resolved
    assert draft.organization == org
    assert draft.summary == "From 10:02 to 10:47 UTC most API requests failed."
    assert draft.published_at is None
    assert draft.created_by == editor
    assert len(draft.public_id) == 12
    resolved.refresh_from_db()
    assert resolved.status == IncidentStatus.RESOLVED
    assert actions(org) == ["postmortem.create"]


def test_saving_again_changes_only_the_given_sections(draft, resolved, editor, org):
    saved = services.save_postmortem(
        resolved, actor=member(editor), cause="A bad configuration change."
    )
    assert saved.pk == draft.pk
    assert saved.cause == "A bad configuration change."
    assert saved.summary == draft.summary
    assert Postmortem.objects.count() == 1
    assert AuditEntry.objects.filter(action="postmortem.edit").get().data == {
        "changed": ["cause"], "published": False,
    }  # fmt: skip


def test_a_postmortem_is_started_only_once_the_incident_is_resolved(org, editor):
    incident = services.open_incident(
        org, actor=member(editor), name="Slow", status="investigating", body="Looking."
    )
    with pytest.raises(ValidationError, match="Resolve the incident before starting"):
        services.save_postmortem(incident, actor=member(editor), summary="Notes so far.")
    assert not Postmortem.objects.exists()


def test_maintenances_have_no_postmortem(org, editor):
    with pytest.raises(ValidationError, match="not scheduled maintenance"):
        services.save_postmortem(
            MaintenanceFactory(organization=org), actor=member(editor), summary="x"
        )


def test_a_section_over_the_limit_is_refused(resolved, editor):
    with pytest.raises(ValidationError):
        services.save_postmortem(resolved, actor=member(editor), summary="x" * 20_001)
    assert Postmortem.objects.count() == 0


# --- publishing --------------------------------------------------------------------------------


def test_publishing_moves_the_incident_to_postmortem_and_notifies_when_asked(
    draft, resolved, editor, org, django_capture_on_commit_callbacks
):
    before = version(org)
    with django_capture_on_commit_callbacks(execute=True):
        published = services.publish_postmortem(
            resolved, actor=member(editor), notify_subscribers=True
        )
    resolved.refresh_from_db()
    assert resolved.status == IncidentStatus.POSTMORTEM
    assert published.published_at is not None
    assert published.published_by == editor
    assert published.notified_subscribers is True
    [event] = postmortem_events()
    assert event.subject_id == resolved.public_id
    assert event.snapshot["update"] is None
    assert event.deliver is True
    assert event.snapshot["summary"] == "From 10:02 to 10:47 UTC most API requests failed."
    assert event.component_ids == [c.public_id for c in resolved.components.all()]
    assert actions(org)[-1] == "postmortem.publish"
    assert version(org) > before
    # Nothing is added to the timeline: the postmortem is shown beside it.
    assert resolved.updates.count() == 2


def test_publishing_without_notifying_delivers_nothing(draft, resolved, editor, org):
    services.publish_postmortem(resolved, actor=member(editor), notify_subscribers=False)
    resolved.refresh_from_db()
    assert resolved.status == IncidentStatus.POSTMORTEM
    assert postmortem_events() == []
    # Kept for the record, as every "don't notify" change is.
    [record] = NotificationEvent.objects.filter(kind=Kinds.POSTMORTEM_PUBLISHED)
    assert record.deliver is False and record.subject_id == resolved.public_id
    assert AuditEntry.objects.get(action="postmortem.publish").data == {"notify_subscribers": False}


def test_only_a_resolved_incident_can_have_its_postmortem_published(org, editor):
    incident = services.open_incident(
        org, actor=member(editor), name="Slow", status="investigating", body="Looking."
    )
    services.resolve_incident(incident, actor=member(editor))
    services.save_postmortem(incident, actor=member(editor), summary="Notes so far.")
    # Back again: the draft is kept (and can still be edited), but not published.
    services.reopen_incident(incident, actor=member(editor), body="It is back.")
    services.save_postmortem(incident, actor=member(editor), cause="Still looking.")
    with pytest.raises(ValidationError, match="Resolve the incident before publishing"):
        services.publish_postmortem(incident, actor=member(editor))
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.INVESTIGATING
    assert Postmortem.objects.get().published_at is None


def test_publishing_needs_a_summary(resolved, editor):
    services.save_postmortem(resolved, actor=member(editor), cause="Only a cause so far.")
    with pytest.raises(ValidationError) as error:
        services.publish_postmortem(resolved, actor=member(editor))
    assert "summary" in error.value.message_dict
    resolved.refresh_from_db()
    assert resolved.status == IncidentStatus.RESOLVED


def test_publishing_without_a_postmortem_or_twice_is_refused(resolved, editor):
    with pytest.raises(ValidationError, match="no postmortem yet"):
        services.publish_postmortem(resolved, actor=member(editor))
    services.save_postmortem(resolved, actor=member(editor), summary="What happened.")
    services.publish_postmortem(resolved, actor=member(editor))
    with pytest.raises(ValidationError, match="already published"):
        services.publish_postmortem(resolved, actor=member(editor), notify_subscribers=True)
    assert postmortem_events() == []


def test_editing_a_published_postmortem_keeps_it_published_and_bumps_the_page(
    draft, resolved, editor, org, django_capture_on_commit_callbacks
):
    services.publish_postmortem(resolved, actor=member(editor))
    published_at = Postmortem.objects.get().published_at
    before = version(org)
    with django_capture_on_commit_callbacks(execute=True):
        edited = services.save_postmortem(
            resolved, actor=member(editor), resolution="Rolled back at 10:45."
        )
    assert edited.published_at == published_at
    assert edited.updated_at > published_at
    assert version(org) == before + 1
    resolved.refresh_from_db()
    assert resolved.status == IncidentStatus.POSTMORTEM
    assert postmortem_events() == []  # edits notify nobody


def test_a_published_postmortem_cannot_lose_its_summary(draft, resolved, editor):
    services.publish_postmortem(resolved, actor=member(editor))
    with pytest.raises(ValidationError) as error:
        services.save_postmortem(resolved, actor=member(editor), summary="  ")
    assert "summary" in error.value.message_dict
    assert Postmortem.objects.get().summary == draft.summary


def test_unpublishing_goes_back_to_resolved_and_keeps_the_text(draft, resolved, editor, org):
    services.publish_postmortem(resolved, actor=member(editor))
    services.unpublish_postmortem(resolved, actor=member(editor))
    resolved.refresh_from_db()
    postmortem = Postmortem.objects.get()
    assert resolved.status == IncidentStatus.RESOLVED
    assert postmortem.published_at is None
    assert postmortem.summary == draft.summary
    assert actions(org)[-2:] == ["postmortem.publish", "postmortem.unpublish"]
    with pytest.raises(ValidationError, match="not published"):
        services.unpublish_postmortem(resolved, actor=member(editor))


def test_it_can_be_published_again_after_unpublishing(draft, resolved, editor):
    services.publish_postmortem(resolved, actor=member(editor))
    services.unpublish_postmortem(resolved, actor=member(editor))
    services.publish_postmortem(resolved, actor=member(editor), notify_subscribers=True)
    resolved.refresh_from_db()
    assert resolved.status == IncidentStatus.POSTMORTEM
    assert len(postmortem_events()) == 1


# --- deleting ----------------------------------------------------------------------------------


def test_a_draft_can_be_deleted_with_its_action_items(draft, resolved, editor, org):
    ActionItemFactory(postmortem=draft)
    services.delete_postmortem(resolved, actor=member(editor))
    assert Postmortem.objects.count() == 0
    assert ActionItem.objects.count() == 0
    assert AuditEntry.objects.get(action="postmortem.delete").data == {"action_items": 1}


def test_a_published_postmortem_must_be_unpublished_before_deleting(draft, resolved, editor):
    services.publish_postmortem(resolved, actor=member(editor))
    with pytest.raises(ValidationError, match="Unpublish the postmortem before deleting"):
        services.delete_postmortem(resolved, actor=member(editor))
    assert Postmortem.objects.count() == 1


# --- reopening ---------------------------------------------------------------------------------


def test_reopening_an_incident_with_a_published_postmortem_unpublishes_it(
    draft, resolved, editor, org
):
    services.publish_postmortem(resolved, actor=member(editor))
    services.reopen_incident(resolved, actor=member(editor), body="It is back.")
    resolved.refresh_from_db()
    postmortem = Postmortem.objects.get()
    assert resolved.status == IncidentStatus.INVESTIGATING
    assert postmortem.published_at is None
    assert postmortem.summary == draft.summary
    assert AuditEntry.objects.get(action="incident.reopen").data == {"postmortem_unpublished": True}
    services.resolve_incident(resolved, actor=member(editor))
    services.publish_postmortem(resolved, actor=member(editor))
    resolved.refresh_from_db()
    assert resolved.status == IncidentStatus.POSTMORTEM


def test_a_postmortem_incident_takes_no_updates_until_reopened(draft, resolved, editor):
    services.publish_postmortem(resolved, actor=member(editor))
    with pytest.raises(ValidationError, match="Reopen it"):
        services.post_update(resolved, actor=member(editor), status="investigating", body="Again.")


# --- action items ------------------------------------------------------------------------------


def test_action_items_are_added_in_order(draft, editor, org):
    first = services.add_action_item(draft, actor=member(editor), title="Review config changes")
    second = services.add_action_item(
        draft, actor=member(editor), title=" Add an alert ", description="Page on-call.",
        status=Status.IN_PROGRESS, due_date=date(2030, 1, 31),
    )  # fmt: skip
    assert (first.position, second.position) == (1, 2)
    assert second.title == "Add an alert"
    assert second.due_date == date(2030, 1, 31)
    assert second.completed_at is None
    assert actions(org)[-2:] == ["postmortem.action_item.add", "postmortem.action_item.add"]


def test_an_action_item_needs_a_title_and_a_known_status(draft, editor):
    with pytest.raises(ValidationError, match="title cannot be empty"):
        services.add_action_item(draft, actor=member(editor), title="  ")
    with pytest.raises(ValidationError):
        services.add_action_item(draft, actor=member(editor), title="x", status="cancelled")
    assert ActionItem.objects.count() == 0


def test_marking_done_records_when_and_reopening_clears_it(draft, editor):
    item = services.add_action_item(draft, actor=member(editor), title="Add an alert")
    done = services.update_action_item(item, actor=member(editor), status=Status.DONE)
    assert done.completed_at is not None
    again = services.update_action_item(item, actor=member(editor), status=Status.IN_PROGRESS)
    assert again.completed_at is None
    dated = services.update_action_item(item, actor=member(editor), due_date=date(2030, 2, 1))
    assert dated.due_date == date(2030, 2, 1)
    assert services.update_action_item(item, actor=member(editor), due_date=None).due_date is None


def test_action_items_can_be_moved_and_reordered(draft, editor):
    a, b, c = (services.add_action_item(draft, actor=member(editor), title=t) for t in "abc")
    services.move_action_item(c, actor=member(editor), position=1)
    assert [i.title for i in draft.action_items.all()] == ["c", "a", "b"]
    services.reorder_action_items(
        draft, actor=member(editor), item_ids=[b.public_id, a.public_id, c.public_id]
    )
    assert [(i.title, i.position) for i in draft.action_items.all()] == [
        ("b", 1), ("a", 2), ("c", 3),
    ]  # fmt: skip
    with pytest.raises(ValidationError, match="exactly once"):
        services.reorder_action_items(draft, actor=member(editor), item_ids=[a.public_id])


def test_deleting_an_action_item_closes_the_gap(draft, editor, org):
    _a, b, _c = (services.add_action_item(draft, actor=member(editor), title=t) for t in "abc")
    services.delete_action_item(b, actor=member(editor))
    assert [(i.title, i.position) for i in draft.action_items.all()] == [("a", 1), ("c", 2)]
    assert actions(org)[-1] == "postmortem.action_item.delete"


def test_action_item_changes_on_a_published_postmortem_refresh_the_page(
    draft, resolved, editor, org, django_capture_on_commit_callbacks
):
    services.publish_postmortem(resolved, actor=member(editor))
    before = version(org)
    with django_capture_on_commit_callbacks(execute=True):
        item = services.add_action_item(draft, actor=member(editor), title="Add an alert")
    with django_capture_on_commit_callbacks(execute=True):
        services.update_action_item(item, actor=member(editor), status=Status.DONE)
    assert version(org) == before + 2


def test_plain_text_of_a_postmortem_lists_sections_and_action_items(org):
    postmortem = PostmortemFactory(incident__organization=org, cause="")
    ActionItemFactory(postmortem=postmortem, title="Add an alert", status=Status.DONE)
    text = postmortem.as_text()
    assert text.startswith("What happened\n\nBetween 10:02")
    assert "Why it happened" not in text  # empty sections are left out
    assert text.endswith("- Add an alert (done)")
