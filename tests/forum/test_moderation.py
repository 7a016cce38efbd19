"""Moderation: editors and above act, every action is audited with reason, before and after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.forum import services
from apps.forum.models import Ban, Comment, CommentRevision, Flag
from apps.forum.services import ForumError
from apps.organizations.models import AuditEntry
from apps.organizations.principals import Customer, Member
from tests.factories import UserFactory

from .factories import CommentFactory, ThreadFactory


@pytest.fixture
def thread(incident):
    return ThreadFactory(incident=incident)


@pytest.fixture
def comment(thread, customer):
    return CommentFactory(thread=thread, author=customer, body_source="Is EU down?")


def last_audit(org):
    return AuditEntry.objects.for_org(org).first()


def test_an_editor_hides_a_comment_with_a_public_reason(comment, as_editor, editor, org):
    services.hide_comment(comment, actor=as_editor, reason="Off-topic")
    comment.refresh_from_db()
    assert (comment.status, comment.hidden_reason) == ("hidden", "Off-topic")
    entry = last_audit(org)
    assert entry.action == "forum.comment.hide"
    assert entry.actor == editor
    assert entry.target_id == comment.public_id
    assert entry.data["reason"] == "Off-topic"
    assert entry.data["before"]["status"] == "visible"
    assert entry.data["after"]["status"] == "hidden"


def test_hiding_needs_a_reason(comment, as_editor):
    with pytest.raises(ForumError, match="Give a reason"):
        services.hide_comment(comment, actor=as_editor, reason=" ")
    assert not AuditEntry.objects.exists()


def test_a_viewer_may_not_moderate(comment, as_viewer):
    with pytest.raises(PermissionDenied):
        services.hide_comment(comment, actor=as_viewer, reason="No")
    comment.refresh_from_db()
    assert comment.status == "visible"


def test_a_customer_may_not_moderate(comment, as_customer):
    with pytest.raises(PermissionDenied, match="Only the organization's staff"):
        services.remove_comment(comment, actor=as_customer)


def test_an_editor_of_another_organization_may_not_moderate(comment, outsider, other_org):
    with pytest.raises(PermissionDenied):
        services.hide_comment(comment, actor=Member.of(outsider, other_org), reason="x")


def test_unhide_shows_the_comment_again(comment, as_editor):
    services.hide_comment(comment, actor=as_editor, reason="Spam")
    services.unhide_comment(comment, actor=as_editor)
    comment.refresh_from_db()
    assert (comment.status, comment.hidden_reason) == ("visible", "")


def test_approving_a_pending_comment_publishes_it(thread, as_editor, org):
    pending = CommentFactory(thread=thread, status=Comment.Status.PENDING)
    services.approve_comment(pending, actor=as_editor)
    pending.refresh_from_db()
    assert pending.status == "visible"
    assert last_audit(org).action == "forum.comment.approve"


def test_remove_tombstones_and_unpins(comment, as_editor, org):
    services.pin_comment(comment, actor=as_editor)
    services.remove_comment(comment, actor=as_editor, reason="Abusive")
    comment.refresh_from_db()
    assert (comment.status, comment.pinned) == ("removed", False)
    assert Comment.objects.filter(pk=comment.pk).exists()
    assert last_audit(org).data["before"]["pinned"] is True


def test_a_moderator_edit_keeps_a_revision_and_is_audited(comment, as_editor, editor, org):
    services.edit_comment(comment, actor=as_editor, body="Is EU down? [redacted]", reason="PII")
    comment.refresh_from_db()
    assert comment.body_source == "Is EU down? [redacted]"
    assert comment.edited_at is not None
    revision = CommentRevision.objects.get(comment=comment)
    assert (revision.body_source, revision.edited_by) == ("Is EU down?", editor)
    entry = last_audit(org)
    assert entry.data == {
        "reason": "PII",
        "before": {"body": "Is EU down?"},
        "after": {"body": "Is EU down? [redacted]"},
    }


def test_an_author_edits_their_own_comment(comment, as_customer):
    services.edit_comment(comment, actor=as_customer, body="Is EU down? Fixed for me.")
    assert CommentRevision.objects.filter(comment=comment).count() == 1


def test_a_customer_may_not_edit_someone_elses_comment(comment, org):
    other = Customer(UserFactory(email="x@customer.test"), org)
    with pytest.raises(PermissionDenied):
        services.edit_comment(comment, actor=other, body="Hacked")
    comment.refresh_from_db()
    assert comment.body_source == "Is EU down?"
    assert not CommentRevision.objects.exists()


def test_a_removed_comment_cannot_be_edited(comment, as_editor):
    services.remove_comment(comment, actor=as_editor)
    with pytest.raises(ForumError, match="removed comment cannot be edited"):
        services.edit_comment(comment, actor=as_editor, body="New")


def test_at_most_three_comments_are_pinned(thread, as_editor):
    for _ in range(3):
        services.pin_comment(CommentFactory(thread=thread), actor=as_editor)
    fourth = CommentFactory(thread=thread)
    with pytest.raises(ForumError, match="At most 3 comments"):
        services.pin_comment(fourth, actor=as_editor)
    fourth.refresh_from_db()
    assert fourth.pinned is False


def test_replies_cannot_be_pinned(comment, as_editor):
    reply = CommentFactory(thread=comment.thread, parent=comment)
    with pytest.raises(ForumError, match="top-level"):
        services.pin_comment(reply, actor=as_editor)


def test_one_answer_per_question(comment, as_editor, org):
    first = CommentFactory(thread=comment.thread, parent=comment)
    second = CommentFactory(thread=comment.thread, parent=comment)
    services.mark_answer(first, actor=as_editor)
    services.mark_answer(second, actor=as_editor)
    first.refresh_from_db()
    assert (first.is_answer, second.is_answer) == (False, True)
    assert last_audit(org).action == "forum.comment.mark_answer"


def test_a_question_is_not_its_own_answer(comment, as_editor):
    with pytest.raises(ForumError, match="visible reply"):
        services.mark_answer(comment, actor=as_editor)


def test_locking_and_slow_mode_are_audited(thread, as_editor, org):
    services.lock_thread(thread, actor=as_editor, reason="Resolved")
    services.set_slow_mode(thread, actor=as_editor, seconds=120)
    actions = list(AuditEntry.objects.for_org(org).values_list("action", "data"))
    assert actions[0] == (
        "forum.thread.slow_mode",
        {"reason": "", "before": {"slow_mode_seconds": 0}, "after": {"slow_mode_seconds": 120}},
    )
    assert actions[1][0] == "forum.thread.lock"
    thread.refresh_from_db()
    assert thread.locked is True


def test_slow_mode_is_bounded(thread, as_editor):
    with pytest.raises(ForumError, match="between 0"):
        services.set_slow_mode(thread, actor=as_editor, seconds=-1)


def test_ban_and_unban(org, customer, as_editor):
    expires = timezone.now() + timedelta(days=7)
    services.ban_user(org, customer, actor=as_editor, reason="Spam", expires_at=expires)
    assert Ban.objects.for_org(org).get(user=customer).expires_at == expires
    assert last_audit(org).data["after"]["user"] == customer.email
    services.unban_user(org, customer, actor=as_editor)
    assert not Ban.objects.exists()
    assert last_audit(org).action == "forum.unban"


def test_a_member_cannot_be_banned(org, viewer, as_editor):
    with pytest.raises(ForumError, match="Members of the organization"):
        services.ban_user(org, viewer, actor=as_editor)
    assert not Ban.objects.exists()


def test_a_ban_in_the_past_is_refused(org, customer, as_editor):
    with pytest.raises(ForumError, match="future"):
        services.ban_user(org, customer, actor=as_editor, expires_at=timezone.now())


# --- flags -------------------------------------------------------------------------------------


def flaggers(org, n):
    return [Customer(UserFactory(email=f"reader{i}@customer.test"), org) for i in range(n)]


def test_a_flag_is_one_per_person(comment, org):
    (reader,) = flaggers(org, 1)
    services.flag_comment(comment, actor=reader, reason="spam")
    with pytest.raises(ForumError, match="already flagged"):
        services.flag_comment(comment, actor=reader, reason="abusive")
    assert Flag.objects.count() == 1


def test_a_flag_needs_a_known_reason(comment, org):
    (reader,) = flaggers(org, 1)
    with pytest.raises(ForumError, match="Choose why"):
        services.flag_comment(comment, actor=reader, reason="boring")
    assert not Flag.objects.exists()


def test_authors_cannot_flag_themselves(comment, as_customer):
    with pytest.raises(ForumError, match="your own comment"):
        services.flag_comment(comment, actor=as_customer, reason="spam")


def test_enough_distinct_flags_hide_a_comment_pending_review(comment, org):
    first, second, third = flaggers(org, 3)
    services.flag_comment(comment, actor=first, reason="spam")
    services.flag_comment(comment, actor=second, reason="spam")
    comment.refresh_from_db()
    assert comment.status == "visible"
    services.flag_comment(comment, actor=third, reason="abusive")
    comment.refresh_from_db()
    assert comment.status == "pending"
    entry = last_audit(org)
    assert (entry.action, entry.actor_label) == ("forum.comment.auto_hide", "forum auto-hide")


def test_flags_do_not_hide_staff_comments(thread, org, editor):
    staff = CommentFactory(thread=thread, author=editor, is_staff=True)
    for reader in flaggers(org, 3):
        services.flag_comment(staff, actor=reader, reason="spam")
    staff.refresh_from_db()
    assert staff.status == "visible"


def test_a_new_commenters_edit_may_not_add_more_links_than_a_post(comment, as_customer):
    with pytest.raises(ForumError, match="at most 2 links"):
        services.edit_comment(
            comment, actor=as_customer, body="https://a.test https://b.test https://c.test"
        )
    comment.refresh_from_db()
    assert comment.body_source == "Is EU down?"
    assert not CommentRevision.objects.exists()


def test_a_reader_raises_at_most_ten_flags_a_day(thread, org):
    (reader,) = flaggers(org, 1)
    for comment in CommentFactory.create_batch(10, thread=thread):
        services.flag_comment(comment, actor=reader, reason="spam")
    eleventh = CommentFactory(thread=thread)
    with pytest.raises(ForumError, match="flagged 10 comments today"):
        services.flag_comment(eleventh, actor=reader, reason="spam")
    assert Flag.objects.count() == 10


def test_an_author_edits_only_in_the_first_fifteen_minutes(comment, as_customer, as_editor):
    comment.created_at = timezone.now() - timedelta(minutes=16)
    comment.save()
    with pytest.raises(ForumError, match="15 minutes after posting"):
        services.edit_comment(comment, actor=as_customer, body="Later change")
    assert services.edit_comment(comment, actor=as_editor, body="Moderator fix").edited_at


def test_a_banned_person_may_not_edit_flag_or_mark_affected(
    comment, incident, org, customer, as_customer, as_editor
):
    other = CommentFactory(thread=comment.thread)
    services.ban_user(org, customer, actor=as_editor)
    with pytest.raises(ForumError, match="banned"):
        services.edit_comment(comment, actor=as_customer, body="Edited")
    with pytest.raises(ForumError, match="banned"):
        services.flag_comment(other, actor=as_customer, reason="spam")
    with pytest.raises(ForumError, match="banned"):
        services.mark_affected(incident, actor=as_customer)
    assert (CommentRevision.objects.count(), Flag.objects.count()) == (0, 0)
    assert not incident.affected_marks.exists()
