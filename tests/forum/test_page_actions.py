"""What signed-in readers and moderators do on the public incident page: post, reply, edit,
delete, flag, "I'm affected too", inline moderation; refusals keep the typed text; every lookup
stays within the page's organization and incident."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.forum.models import AffectedMark, Ban, Comment, Flag, ForumSettings, Thread
from apps.forum.rules import sign_form_timestamp
from apps.organizations.models import AuditEntry
from tests.factories import ComponentFactory, IncidentFactory

from .factories import CommentFactory, ThreadFactory


def url(incident, rest=""):
    return f"/s/acme/incidents/{incident.public_id}/{rest}"


def comment_url(comment, rest):
    return url(comment.thread.incident, f"comments/{comment.public_id}/{rest}")


def form(body="The API returns 503 for us too.", **extra):
    # A form rendered ten seconds ago (faster than FORM_MIN_SECONDS is refused).
    return {"body": body, "ts": sign_form_timestamp(time.time() - 10), "website": "", **extra}


@pytest.fixture
def signed_in(client, customer):
    client.force_login(customer)
    return client


@pytest.fixture
def as_editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def thread(incident):
    return ThreadFactory(incident=incident)


# --- posting ------------------------------------------------------------------------------------


def test_a_customer_posts_and_is_sent_back_to_the_comment(signed_in, incident):
    response = signed_in.post(url(incident, "comments/"), form())
    comment = Comment.objects.get()
    assert response.status_code == 303
    assert response["Location"] == url(incident, f"#comment-{comment.public_id}")
    assert comment.author_name == "Casey Jones" and comment.status == Comment.Status.VISIBLE
    page = signed_in.get(url(incident)).content.decode()
    assert "The API returns 503 for us too." in page


def test_a_reply_hangs_under_its_comment(signed_in, incident, thread):
    question = CommentFactory(thread=thread, author_name="Priya")
    signed_in.post(url(incident, "comments/"), form("Same for me", parent=question.public_id))
    reply = Comment.objects.get(body_source="Same for me")
    assert (reply.parent, reply.depth) == (question, 1)


def test_staff_comments_get_the_badge_from_membership(as_editor_client, incident):
    as_editor_client.post(url(incident, "comments/"), form("We are on it."))
    assert Comment.objects.get().is_staff
    assert "Staff · <bdi>Acme Cloud</bdi>" in as_editor_client.get(url(incident)).content.decode()


def test_htmx_gets_the_discussion_fragment(signed_in, incident):
    response = signed_in.post(url(incident, "comments/"), form(), HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200
    assert text.lstrip().startswith('<section id="discussion"')
    assert "<html" not in text and "The API returns 503 for us too." in text


def refused(client, incident, data, message, status=400, **extra):
    response = client.post(url(incident, "comments/"), data, **extra)
    text = response.content.decode()
    assert response.status_code == status, text[:500]
    assert message in text
    return text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (form(website="http://spam.example"), "Leave the last field empty"),
        ({**form(), "ts": "now"}, "quicker than a person types"),
        ({**form(), "ts": "forged"}, "The form has expired or was changed"),
        (form("x" * 10_001), "Comments are limited to 10,000 characters"),
        (form("   "), "Write something before posting."),
    ],
)
def test_a_refused_post_says_why_keeps_the_text_and_writes_nothing(
    signed_in, incident, data, message
):
    if data["ts"] == "now":
        data = {**data, "ts": sign_form_timestamp()}
    text = refused(signed_in, incident, data, message)
    assert f">{data['body']}</textarea>" in text
    assert not Comment.objects.exists() and not Thread.objects.exists()


def test_a_duplicate_is_refused_with_the_text_kept(signed_in, incident, customer):
    signed_in.post(url(incident, "comments/"), form())
    cache.clear()  # past the rate limit, to reach the duplicate rule
    text = refused(signed_in, incident, form(), "You have just posted this same comment.")
    assert ">The API returns 503 for us too.</textarea>" in text
    assert Comment.objects.count() == 1


def test_the_rate_limit_refuses_a_burst(signed_in, incident):
    signed_in.post(url(incident, "comments/"), form("first"))
    refused(signed_in, incident, form("second"), "You are posting quickly.")
    assert Comment.objects.count() == 1


def test_a_locked_thread_refuses_and_offers_no_form(signed_in, incident, thread):
    thread.locked = True
    thread.save()
    assert 'id="compose"' not in signed_in.get(url(incident)).content.decode()
    refused(signed_in, incident, form(), "This discussion is locked")
    assert not Comment.objects.exists()


def test_a_banned_person_is_refused(signed_in, org, incident, customer):
    Ban.objects.create(organization=org, user=customer, reason="spam")
    page = signed_in.get(url(incident)).content.decode()
    assert "You have been banned" in page and 'id="compose"' not in page
    refused(signed_in, incident, form(), "You have been banned")
    assert not Comment.objects.exists()


def test_links_from_a_new_commenter_wait_for_review_shown_to_them_only(client, signed_in, incident):
    response = signed_in.post(url(incident, "comments/"), form("See https://example.com/x"))
    assert response.status_code == 303
    comment = Comment.objects.get()
    assert comment.status == Comment.Status.PENDING
    page = signed_in.get(url(incident)).content.decode()
    assert "awaiting review by a moderator" in page
    assert "Awaiting review" in page and "https://example.com/x" in page
    client.logout()
    assert "https://example.com/x" not in client.get(url(incident)).content.decode()


def test_too_many_links_from_a_new_commenter_are_refused(signed_in, incident):
    body = "https://a.example https://b.example https://c.example"
    refused(signed_in, incident, form(body), "at most 2 links")


def test_an_anonymous_post_writes_nothing_and_leads_to_sign_in(client, incident):
    response = client.post(url(incident, "comments/"), form())
    assert response.status_code == 303
    assert response["Location"].startswith("/s/acme/signin/?next=")
    assert not Comment.objects.exists()


def test_csrf_is_required(customer, incident):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(customer)
    assert strict.post(url(incident, "comments/"), form()).status_code == 403
    assert not Comment.objects.exists()


# --- tenancy ------------------------------------------------------------------------------------


def test_replying_to_a_comment_of_another_incident_is_refused(signed_in, org, incident):
    elsewhere = CommentFactory(thread=ThreadFactory(incident=IncidentFactory(organization=org)))
    text = refused(
        signed_in, incident, form(parent=elsewhere.public_id), "only reply to comments in"
    )
    assert ">The API returns 503 for us too.</textarea>" in text
    assert Comment.objects.count() == 1


def test_another_organizations_comment_or_incident_is_404(signed_in, org, other_org, incident):
    theirs = CommentFactory(thread=ThreadFactory(incident=IncidentFactory(organization=other_org)))
    ours_elsewhere = CommentFactory(
        thread=ThreadFactory(incident=IncidentFactory(organization=org))
    )
    for comment in (theirs, ours_elsewhere):
        for action in ("edit/", "delete/", "flag/", "moderate/"):
            path = url(incident, f"comments/{comment.public_id}/{action}")
            assert signed_in.post(path, {"body": "x", "reason": "spam"}).status_code == 404
    their_incident = theirs.thread.incident
    for action in ("comments/", "affected/", "moderate/"):
        assert signed_in.post(url(their_incident, action), form()).status_code == 404
    assert Comment.objects.count() == 2
    assert not Flag.objects.exists() and not AffectedMark.objects.exists()


# --- the author's own comment ------------------------------------------------------------------


def mine(thread, customer, **extra):
    return CommentFactory(thread=thread, author=customer, author_name="Casey Jones", **extra)


def test_the_author_edits_within_fifteen_minutes_and_it_says_edited(signed_in, thread, customer):
    comment = mine(thread, customer)
    response = signed_in.post(comment_url(comment, "edit/"), {"body": "Fixed typo"})
    assert response.status_code == 303
    comment.refresh_from_db()
    assert comment.body_source == "Fixed typo" and comment.edited_at is not None
    assert " · edited" in signed_in.get(url(thread.incident)).content.decode()


def test_no_edit_once_someone_replied_or_after_fifteen_minutes(signed_in, thread, customer):
    replied = mine(thread, customer)
    CommentFactory(thread=thread, parent=replied)
    old = mine(thread, customer, created_at=timezone.now() - timedelta(minutes=16))
    page = signed_in.get(url(thread.incident)).content.decode()
    assert f'id="edit-{replied.public_id}"' not in page
    assert f'id="edit-{old.public_id}"' not in page
    response = signed_in.post(comment_url(replied, "edit/"), {"body": "Changed"})
    assert response.status_code == 400
    assert "Someone has replied to this comment" in response.content.decode()
    response = signed_in.post(comment_url(old, "edit/"), {"body": "Changed"})
    assert "edited for 15 minutes after posting" in response.content.decode()
    assert not Comment.objects.filter(body_source="Changed").exists()


def test_someone_elses_comment_cannot_be_edited_or_deleted(signed_in, thread):
    other = CommentFactory(thread=thread)
    assert signed_in.post(comment_url(other, "edit/"), {"body": "Mine now"}).status_code == 403
    assert signed_in.post(comment_url(other, "delete/")).status_code == 403
    other.refresh_from_db()
    assert other.status == Comment.Status.VISIBLE and other.body_source != "Mine now"


def test_deleting_without_replies_removes_it(signed_in, thread, customer):
    comment = mine(thread, customer)
    assert signed_in.post(comment_url(comment, "delete/")).status_code == 303
    assert not Comment.objects.filter(pk=comment.pk).exists()


def test_deleting_with_replies_leaves_a_tombstone(client, signed_in, thread, customer):
    comment = mine(thread, customer, body_source="Regret this", body_html="<p>Regret this</p>")
    CommentFactory(thread=thread, parent=comment)
    signed_in.post(comment_url(comment, "delete/"))
    comment.refresh_from_db()
    assert comment.status == Comment.Status.REMOVED
    client.logout()
    page = client.get(url(thread.incident)).content.decode()
    assert "[deleted by its author]" in page and "Regret this" not in page


# --- flags and "affected" -----------------------------------------------------------------------


def test_a_reader_flags_once(signed_in, thread):
    other = CommentFactory(thread=thread)
    assert signed_in.post(comment_url(other, "flag/"), {"reason": "spam"}).status_code == 303
    again = signed_in.post(comment_url(other, "flag/"), {"reason": "abusive"})
    assert again.status_code == 400
    assert "You have already flagged this comment." in again.content.decode()
    assert Flag.objects.get().reason == "spam"


def test_a_flag_needs_a_known_reason(signed_in, thread):
    other = CommentFactory(thread=thread)
    response = signed_in.post(comment_url(other, "flag/"), {"reason": "boring"})
    assert response.status_code == 400
    assert "Choose why" in response.content.decode()
    assert not Flag.objects.exists()


def test_affected_too_with_a_component_counted_and_undone(client, signed_in, org, incident):
    api = ComponentFactory(organization=org, name="API")
    web = ComponentFactory(organization=org, name="Web")
    incident.components.add(api, web)
    response = signed_in.post(url(incident, "affected/"), {"component": api.public_id})
    assert response.status_code == 303
    assert response["Location"].endswith("#affected")
    page = signed_in.get(url(incident)).content.decode()
    assert "✓ You are affected (<bdi>API</bdi>)." in page
    client.logout()
    anonymous = client.get(url(incident)).content.decode()
    assert "<strong>1</strong> person says they are affected (API: 1)." in anonymous
    client.force_login(AffectedMark.objects.get().user)
    client.post(url(incident, "affected/"), {"action": "unmark"})
    assert not AffectedMark.objects.exists()


def test_affected_with_a_component_of_another_incident_is_refused(signed_in, org, incident):
    unrelated = ComponentFactory(organization=org)
    response = signed_in.post(url(incident, "affected/"), {"component": unrelated.public_id})
    assert response.status_code == 400
    assert "Choose one of the components this incident affects." in response.content.decode()
    assert not AffectedMark.objects.exists()


# --- moderators ---------------------------------------------------------------------------------


def test_moderators_get_inline_controls_customers_do_not(client, signed_in, editor, thread):
    CommentFactory(thread=thread)
    assert "Moderate this discussion" not in signed_in.get(url(thread.incident)).content.decode()
    client.force_login(editor)
    page = client.get(url(thread.incident)).content.decode()
    assert "Moderate this discussion" in page and ">Moderate</summary>" in page


def test_a_customer_cannot_moderate(signed_in, thread):
    other = CommentFactory(thread=thread)
    response = signed_in.post(comment_url(other, "moderate/"), {"action": "hide", "reason": "x"})
    assert response.status_code == 403
    assert signed_in.post(url(thread.incident, "moderate/"), {"action": "lock"}).status_code == 403
    other.refresh_from_db()
    thread.refresh_from_db()
    assert other.status == Comment.Status.VISIBLE and not thread.locked
    assert not AuditEntry.objects.filter(action__startswith="forum.").exists()


def test_a_viewer_member_cannot_moderate_either(client, viewer, thread):
    client.force_login(viewer)
    other = CommentFactory(thread=thread)
    response = client.post(comment_url(other, "moderate/"), {"action": "remove"})
    assert response.status_code == 403


def test_hide_with_a_public_reason_is_audited(client, as_editor_client, thread):
    other = CommentFactory(thread=thread, body_source="Buy pills", body_html="<p>Buy pills</p>")
    response = as_editor_client.post(
        comment_url(other, "moderate/"), {"action": "hide", "reason": "Spam"}
    )
    assert response.status_code == 303
    entry = AuditEntry.objects.get(action="forum.comment.hide")
    assert entry.data["reason"] == "Spam"
    client.logout()
    page = client.get(url(thread.incident)).content.decode()
    assert "Hidden by a moderator: <bdi>Spam</bdi>" in page and "Buy pills" not in page


def test_hide_without_a_reason_is_refused(as_editor_client, thread):
    other = CommentFactory(thread=thread)
    response = as_editor_client.post(comment_url(other, "moderate/"), {"action": "hide"})
    assert response.status_code == 400
    assert "Give a reason" in response.content.decode()


@pytest.mark.parametrize(
    ("action", "field", "value"),
    [("remove", "status", "removed"), ("pin", "pinned", True)],
)
def test_remove_and_pin(as_editor_client, thread, action, field, value):
    other = CommentFactory(thread=thread)
    as_editor_client.post(comment_url(other, "moderate/"), {"action": action})
    other.refresh_from_db()
    assert getattr(other, field) == value
    assert AuditEntry.objects.filter(action=f"forum.comment.{action}").exists()


def test_mark_a_reply_as_the_answer_and_unhide(as_editor_client, thread):
    question = CommentFactory(thread=thread)
    reply = CommentFactory(thread=thread, parent=question)
    as_editor_client.post(comment_url(reply, "moderate/"), {"action": "answer"})
    reply.refresh_from_db()
    assert reply.is_answer
    hidden = CommentFactory(thread=thread, status=Comment.Status.HIDDEN, hidden_reason="x")
    as_editor_client.post(comment_url(hidden, "moderate/"), {"action": "unhide"})
    hidden.refresh_from_db()
    assert hidden.status == Comment.Status.VISIBLE


def test_an_unknown_moderation_action_is_refused(as_editor_client, thread):
    other = CommentFactory(thread=thread)
    response = as_editor_client.post(comment_url(other, "moderate/"), {"action": "explode"})
    assert response.status_code == 400
    assert "Choose what to do" in response.content.decode()


def test_moderators_edit_any_comment_with_a_revision(as_editor_client, thread):
    other = CommentFactory(thread=thread, created_at=timezone.now() - timedelta(days=1))
    as_editor_client.post(comment_url(other, "edit/"), {"body": "Redacted the token"})
    other.refresh_from_db()
    assert other.body_source == "Redacted the token"
    assert other.revisions.count() == 1


def test_lock_unlock_and_slow_mode(as_editor_client, incident):
    as_editor_client.post(url(incident, "moderate/"), {"action": "lock"})
    thread = Thread.objects.get(incident=incident)
    assert thread.locked
    as_editor_client.post(url(incident, "moderate/"), {"action": "unlock"})
    as_editor_client.post(url(incident, "moderate/"), {"action": "slow_mode", "seconds": "60"})
    thread.refresh_from_db()
    assert (thread.locked, thread.slow_mode_seconds) == (False, 60)
    bad = as_editor_client.post(url(incident, "moderate/"), {"action": "slow_mode", "seconds": "x"})
    assert bad.status_code == 400
    assert "Slow mode takes a number of seconds" in bad.content.decode()
    assert AuditEntry.objects.filter(action="forum.thread.lock").exists()


def test_comments_turned_off_are_said_plainly(signed_in, org, incident):
    ForumSettings.objects.create(organization=org, who_may_comment="nobody")
    page = signed_in.get(url(incident)).content.decode()
    assert "Comments are turned off on this status page." in page
    assert 'id="compose"' not in page


def test_the_page_host_is_kept_on_a_subdomain(client, customer, incident):
    client.force_login(customer)
    response = client.post(
        f"/incidents/{incident.public_id}/comments/", form(), HTTP_HOST="acme.status.localhost"
    )
    assert response.status_code == 303
    assert response["Location"].startswith(f"/incidents/{incident.public_id}/#comment-")
    assert Comment.objects.count() == 1
