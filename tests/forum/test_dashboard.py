"""Forum moderation in the dashboard: the discussion page as staff see it, staff replies, every
moderation action end to end through the views, and who may do what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.forum import services
from apps.forum.models import Ban, Comment, CommentRevision, Thread
from apps.organizations.models import AuditEntry
from apps.organizations.principals import Customer
from tests.factories import MaintenanceFactory, UserFactory

from .factories import CommentFactory, ThreadFactory

pytestmark = pytest.mark.django_db


def url(name, org, *args):
    return reverse(f"forum:{name}", args=[org.slug, *args])


@pytest.fixture
def thread(incident):
    return ThreadFactory(incident=incident)


@pytest.fixture
def question(thread, customer):
    return CommentFactory(
        thread=thread, author=customer, author_name="Casey Jones", body_source="Is EU down too?"
    )


@pytest.fixture
def as_editor_client(client, editor):
    client.force_login(editor)
    return client


def last_audit(org):
    return AuditEntry.objects.for_org(org).first()


# --- the discussion page -------------------------------------------------------------------------


def test_staff_see_every_comment_with_its_state_revisions_and_flags(
    as_editor_client, org, incident, thread, question, as_editor
):
    pending = CommentFactory(thread=thread, body_source="Held for review", status="pending")
    hidden = CommentFactory(thread=thread, body_source="Buy cheap watches", status="hidden")
    hidden.hidden_reason = "Spam"
    hidden.save()
    removed = CommentFactory(thread=thread, body_source="Rude words", status="removed")
    services.edit_comment(question, actor=as_editor, body="Is EU down? (edited)")
    flagger = UserFactory(email="flagger@reader.test")
    services.flag_comment(
        question, actor=Customer(flagger, org), reason="off_topic", message="Not about EU"
    )

    response = as_editor_client.get(url("discussion", org, incident.public_id))

    assert response.status_code == 200
    page = response.content.decode()
    for comment in (question, pending, hidden, removed):
        assert f'id="c-{comment.public_id}"' in page
    assert "Held for review" in page and "Awaiting review" in page
    assert "Buy cheap watches" in page and "Hidden: Spam" in page
    assert "Rude words" in page and "shown to staff only" in page
    assert "Edited 1 time" in page and "Is EU down too?" in page  # the earlier version
    assert "flagger@reader.test" in page and "Off-topic" in page and "Not about EU" in page
    assert "Mark as answer" not in page  # a question is top-level: pin, not answer
    assert "Pin" in page


def test_a_viewer_sees_the_discussion_without_controls(client, viewer, org, incident, question):
    client.force_login(viewer)
    response = client.get(url("discussion", org, incident.public_id))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Is EU down too?" in page
    for control in ("Post comment", "Hide…", "Remove…", "Lock discussion", "Ban author"):
        assert control not in page


def test_an_outsider_gets_404_for_the_discussion(client, outsider, org, incident, question):
    client.force_login(outsider)
    assert client.get(url("discussion", org, incident.public_id)).status_code == 404
    assert client.get(url("comment", org, question.public_id)).status_code == 404


def test_a_maintenance_has_its_discussion_too(as_editor_client, org):
    maintenance = MaintenanceFactory(organization=org, name="Database upgrade")
    response = as_editor_client.get(url("maintenance_discussion", org, maintenance.public_id))
    assert response.status_code == 200
    assert "No comments yet" in response.content.decode()
    # The incident route does not serve a maintenance (and the other way round).
    assert as_editor_client.get(url("discussion", org, maintenance.public_id)).status_code == 404


def test_a_comments_address_leads_to_it_in_its_discussion(
    as_editor_client, org, incident, question
):
    response = as_editor_client.get(url("comment", org, question.public_id))
    assert response.status_code == 302
    assert response["Location"] == (
        url("discussion", org, incident.public_id) + f"#c-{question.public_id}"
    )
    response = as_editor_client.get(url("thread", org, question.thread.public_id))
    assert response["Location"] == url("discussion", org, incident.public_id)


def test_the_discussion_page_costs_the_same_queries_whatever_its_size(
    as_editor_client, org, incident, thread, django_assert_max_num_queries
):
    def grow(roots):
        for _ in range(roots):
            root = CommentFactory(thread=thread)
            reply = CommentFactory(thread=thread, parent=root)
            CommentFactory(thread=thread, parent=reply)

    grow(3)
    with django_assert_max_num_queries(20) as small:
        as_editor_client.get(url("discussion", org, incident.public_id))
    grow(40)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = as_editor_client.get(url("discussion", org, incident.public_id))
    assert response.content.decode().count('class="fd-comment') == 43 * 3


# --- staff replies -------------------------------------------------------------------------------


def test_staff_post_a_comment_with_the_staff_badge(as_editor_client, org, incident, editor):
    response = as_editor_client.post(
        url("discussion", org, incident.public_id), {"body": "We are on it."}
    )
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"#c-{comment.public_id}")
    assert (comment.author, comment.is_staff, comment.status) == (editor, True, "visible")
    assert comment.thread.incident == incident
    page = as_editor_client.get(response["Location"]).content.decode()
    assert f"Staff · {org.name}" in page


def test_staff_answer_a_question_and_mark_it_as_the_answer(
    as_editor_client, org, incident, question, editor
):
    as_editor_client.post(
        url("discussion", org, incident.public_id),
        {"body": "Yes, EU is affected; a fix is rolling out.", "parent": question.public_id},
    )
    answer = Comment.objects.get(parent=question)
    assert answer.is_staff and answer.root == question

    response = as_editor_client.post(url("answer", org, answer.public_id), {"value": "1"})

    assert response.status_code == 302
    answer.refresh_from_db()
    assert answer.is_answer
    entry = last_audit(org)
    assert (entry.action, entry.actor, entry.target_id) == (
        "forum.comment.mark_answer",
        editor,
        answer.public_id,
    )
    page = as_editor_client.get(url("discussion", org, incident.public_id)).content.decode()
    assert "✓ Answer" in page and "Unmark answer" in page

    as_editor_client.post(url("answer", org, answer.public_id), {"value": "0"})
    answer.refresh_from_db()
    assert not answer.is_answer


def test_a_reply_to_a_comment_of_another_discussion_is_refused(
    as_editor_client, org, incident, question
):
    elsewhere = CommentFactory(thread=ThreadFactory(incident__organization=org))
    response = as_editor_client.post(
        url("discussion", org, incident.public_id),
        {"body": "Misrouted reply", "parent": elsewhere.public_id},
    )
    assert response.status_code == 400
    assert "not in this discussion" in response.content.decode()
    assert "Misrouted reply" in response.content.decode()  # the typed text stays
    assert not Comment.objects.filter(body_source="Misrouted reply").exists()


def test_an_empty_reply_is_a_form_error(as_editor_client, org, incident):
    response = as_editor_client.post(url("discussion", org, incident.public_id), {"body": " "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Comment.objects.exists()


def test_staff_cannot_comment_on_a_locked_discussion(as_editor_client, org, incident, thread):
    thread.locked = True
    thread.save()
    response = as_editor_client.post(
        url("discussion", org, incident.public_id), {"body": "Late news"}
    )
    assert response.status_code == 400
    assert "This discussion is locked" in response.content.decode()
    assert not Comment.objects.exists()


# --- moderating a comment -------------------------------------------------------------------------


def test_pin_and_unpin(as_editor_client, org, question):
    as_editor_client.post(url("pin", org, question.public_id), {"value": "1"})
    question.refresh_from_db()
    assert question.pinned
    as_editor_client.post(url("pin", org, question.public_id), {"value": "0"})
    question.refresh_from_db()
    assert not question.pinned
    assert last_audit(org).action == "forum.comment.unpin"


def test_hide_with_a_public_reason_then_show_again(as_editor_client, org, question):
    response = as_editor_client.post(url("hide", org, question.public_id), {"reason": "Off-topic"})
    assert response.status_code == 302
    question.refresh_from_db()
    assert (question.status, question.hidden_reason) == ("hidden", "Off-topic")

    as_editor_client.post(url("unhide", org, question.public_id))
    question.refresh_from_db()
    assert (question.status, question.hidden_reason) == ("visible", "")
    assert last_audit(org).action == "forum.comment.unhide"


def test_hiding_without_a_reason_is_a_form_error(as_editor_client, org, question):
    response = as_editor_client.post(url("hide", org, question.public_id), {"reason": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    question.refresh_from_db()
    assert question.status == "visible"
    assert not AuditEntry.objects.exists()


def test_a_refused_button_says_why_and_changes_nothing(as_editor_client, org, question):
    # A top-level comment is a question, not an answer.
    response = as_editor_client.post(
        url("answer", org, question.public_id), {"value": "1"}, follow=True
    )
    assert "Only a visible reply can be marked as the answer." in response.content.decode()
    question.refresh_from_db()
    assert not question.is_answer
    assert not AuditEntry.objects.exists()


def test_approve_a_comment_held_for_review(as_editor_client, org, thread, editor):
    pending = CommentFactory(thread=thread, status="pending")
    response = as_editor_client.post(url("approve", org, pending.public_id))
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "visible"
    entry = last_audit(org)
    assert (entry.action, entry.actor) == ("forum.comment.approve", editor)
    assert entry.data["before"]["status"] == "pending"
    assert entry.data["after"]["status"] == "visible"


def test_remove_leaves_a_tombstone_with_the_reason_for_the_audit_log(
    as_editor_client, org, question
):
    as_editor_client.post(url("remove", org, question.public_id), {"reason": "Personal data"})
    question.refresh_from_db()
    assert question.status == "removed"
    assert last_audit(org).data["reason"] == "Personal data"


def test_edit_keeps_the_previous_text_as_a_revision(as_editor_client, org, question, editor):
    page = as_editor_client.get(url("edit", org, question.public_id)).content.decode()
    assert "Is EU down too?" in page  # the form starts from the current text
    response = as_editor_client.post(
        url("edit", org, question.public_id),
        {"body": "Is EU down? [phone number removed]", "reason": "Personal data"},
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.body_source == "Is EU down? [phone number removed]"
    assert question.edited_at is not None
    revision = CommentRevision.objects.get(comment=question)
    assert (revision.body_source, revision.edited_by) == ("Is EU down too?", editor)
    entry = last_audit(org)
    assert entry.action == "forum.comment.edit"
    assert entry.data["before"] == {"body": "Is EU down too?"}


def test_an_empty_edit_is_a_form_error(as_editor_client, org, question):
    response = as_editor_client.post(url("edit", org, question.public_id), {"body": ""})
    assert response.status_code == 400
    question.refresh_from_db()
    assert question.body_source == "Is EU down too?"
    assert not CommentRevision.objects.exists()


def test_ban_the_author_for_a_week(as_editor_client, org, question, customer):
    response = as_editor_client.post(
        url("ban", org, question.public_id), {"length": "7", "reason": "Spam links"}
    )
    assert response.status_code == 302
    ban = Ban.objects.for_org(org).get()
    assert ban.user == customer and ban.reason == "Spam links"
    assert timedelta(days=6, hours=23) < ban.expires_at - timezone.now() <= timedelta(days=7)
    assert last_audit(org).action == "forum.ban"
    page = as_editor_client.get(url("discussion", org, question.thread.incident.public_id))
    assert "Banned" in page.content.decode()


def test_a_ban_until_lifted_has_no_end(as_editor_client, org, question):
    as_editor_client.post(url("ban", org, question.public_id), {"length": "0"})
    assert Ban.objects.for_org(org).get().expires_at is None


def test_members_cannot_be_banned(as_editor_client, org, thread, admin):
    staff_comment = CommentFactory(thread=thread, author=admin, is_staff=True)
    response = as_editor_client.post(url("ban", org, staff_comment.public_id), {"length": "0"})
    assert response.status_code == 400
    assert "Members of the organization cannot be banned" in response.content.decode()
    assert not Ban.objects.exists()


def test_an_unknown_ban_length_is_a_form_error(as_editor_client, org, question):
    response = as_editor_client.post(url("ban", org, question.public_id), {"length": "9999"})
    assert response.status_code == 400
    assert not Ban.objects.exists()


# --- the thread ---------------------------------------------------------------------------------


def test_lock_and_unlock_a_discussion(as_editor_client, org, incident):
    # No comment yet: locking creates the thread.
    as_editor_client.post(url("lock", org, incident.public_id), {"value": "1"})
    thread = Thread.objects.get(incident=incident)
    assert thread.locked
    assert last_audit(org).action == "forum.thread.lock"
    page = as_editor_client.get(url("discussion", org, incident.public_id)).content.decode()
    assert "Unlock discussion" in page and "Post comment" not in page
    as_editor_client.post(url("lock", org, incident.public_id), {"value": "0"})
    thread.refresh_from_db()
    assert not thread.locked


def test_slow_mode(as_editor_client, org, incident, thread):
    response = as_editor_client.post(url("slow_mode", org, incident.public_id), {"seconds": "60"})
    assert response.status_code == 302
    thread.refresh_from_db()
    assert thread.slow_mode_seconds == 60
    entry = last_audit(org)
    assert entry.data["before"] == {"slow_mode_seconds": 0}
    assert entry.data["after"] == {"slow_mode_seconds": 60}


@pytest.mark.parametrize("seconds", ["-1", "86401", "soon"])
def test_a_bad_slow_mode_is_a_form_error(as_editor_client, org, incident, thread, seconds):
    response = as_editor_client.post(
        url("slow_mode", org, incident.public_id), {"seconds": seconds}
    )
    assert response.status_code == 400
    assert b"errorlist" in response.content
    thread.refresh_from_db()
    assert thread.slow_mode_seconds == 0


# --- roles --------------------------------------------------------------------------------------


def test_a_viewer_may_not_moderate_or_reply(client, viewer, org, incident, question):
    client.force_login(viewer)
    posts = [
        (url("discussion", org, incident.public_id), {"body": "Viewer reply"}),
        (url("hide", org, question.public_id), {"reason": "No"}),
        (url("remove", org, question.public_id), {}),
        (url("pin", org, question.public_id), {"value": "1"}),
        (url("ban", org, question.public_id), {"length": "0"}),
        (url("lock", org, incident.public_id), {"value": "1"}),
    ]
    for address, data in posts:
        assert client.post(address, data).status_code == 403, address
    question.refresh_from_db()
    assert (question.status, question.pinned) == ("visible", False)
    assert Comment.objects.count() == 1
    assert not Ban.objects.exists()
    assert not AuditEntry.objects.exists()


def test_an_outsider_gets_404_on_moderation(client, outsider, org, question):
    client.force_login(outsider)
    assert client.post(url("hide", org, question.public_id), {"reason": "x"}).status_code == 404
    question.refresh_from_db()
    assert question.status == "visible"


def test_flags_are_listed_with_who_flagged(as_editor_client, org, question):
    services.flag_comment(
        question, actor=Customer(UserFactory(email="r@x.test"), org), reason="abusive"
    )
    page = as_editor_client.get(url("discussion", org, question.thread.incident.public_id))
    assert "Flagged by 1 person" in page.content.decode()
    assert "Dismiss flags" in page.content.decode()


def test_an_empty_reply_under_a_comment_shows_its_error_there(
    as_editor_client, org, incident, question
):
    response = as_editor_client.post(
        url("discussion", org, incident.public_id), {"body": "", "parent": question.public_id}
    )
    assert response.status_code == 400
    assert response.context["reply_parent"] == question.public_id
    assert response.context["reply_form"].errors["body"] == ["This field is required."]
    assert Comment.objects.count() == 1
