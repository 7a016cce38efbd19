"""Management API: the organization's comments (/api/v1/comments/) and their moderation."""

from __future__ import annotations

import pytest

from apps.forum.models import Comment, CommentRevision
from apps.organizations.models import AuditEntry
from tests.factories import IncidentFactory

from .factories import CommentFactory, ThreadFactory

JSON = "application/json"
pytestmark = pytest.mark.django_db
ACTIONS = ["hide", "unhide", "remove", "pin", "unpin", "answer", "unanswer"]


def url(comment, rest: str = "") -> str:
    return f"/api/v1/comments/{comment.public_id}/{rest}"


@pytest.fixture
def thread(incident):
    return ThreadFactory(incident=incident)


@pytest.fixture
def question(thread, customer):
    return CommentFactory(thread=thread, author=customer, body_source="Is EU down too?")


@pytest.fixture
def reply(thread, question):
    return CommentFactory(thread=thread, parent=question, body_source="Yes, since 10:02.")


def audit(action: str) -> AuditEntry:
    return AuditEntry.objects.get(action=action)


def test_it_works_hide_then_unhide(api, api_key, question):
    client = api(api_key)

    hidden = client.post(url(question, "hide/"), {"reason": "Duplicate"}, content_type=JSON)
    shown = client.post(url(question, "unhide/"), {}, content_type=JSON)

    assert hidden.status_code == 200
    assert hidden.json()["status"] == "hidden"
    assert hidden.json()["public"] is False
    assert hidden.json()["hidden_reason"] == "Duplicate"
    assert hidden.json()["body"] == "Is EU down too?"  # staff still read it
    assert shown.json()["status"] == "visible"
    assert shown.json()["hidden_reason"] == ""
    entry = audit("forum.comment.hide")
    assert entry.actor_label.startswith("API key “")
    assert entry.data["reason"] == "Duplicate"
    assert entry.data["before"]["status"] == "visible"
    assert entry.data["after"]["status"] == "hidden"
    assert audit("forum.comment.unhide").target_id == question.public_id


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "reason: This field is required."),
        ({"reason": ""}, "reason: This field may not be blank."),
        ({"reason": "   "}, "reason: This field may not be blank."),
        ({"reason": "x" * 201}, "reason: Ensure this field has no more than 200 characters."),
        ({"reason": "Spam", "notify": True}, "notify: Unknown field."),
    ],
)
def test_hiding_needs_a_reason(api, api_key, question, payload, message):
    response = api(api_key).post(url(question, "hide/"), payload, content_type=JSON)

    assert response.status_code == 400
    assert response.json()["detail"] == message
    question.refresh_from_db()
    assert question.status == "visible"
    assert not AuditEntry.objects.exists()


def test_unhide_approves_a_pending_comment(api, api_key, thread):
    pending = CommentFactory(thread=thread, status="pending")

    response = api(api_key).post(url(pending, "unhide/"), {"reason": "Fine"}, content_type=JSON)

    assert response.json()["status"] == "visible"
    assert audit("forum.comment.approve").data["reason"] == "Fine"


def test_unhiding_a_visible_comment_is_a_400(api, api_key, question):
    response = api(api_key).post(url(question, "unhide/"), content_type=JSON)

    assert response.status_code == 400
    assert response.json() == {"detail": "Only a hidden or pending comment can be shown."}


def test_remove_leaves_a_tombstone_once(api, api_key, question, reply):
    client = api(api_key)

    removed = client.post(url(question, "remove/"), {"reason": "Abuse"}, content_type=JSON)
    again = client.post(url(question, "remove/"), content_type=JSON)
    listed = client.get(f"/api/v1/incidents/{question.thread.incident.public_id}/comments/")

    assert removed.status_code == 200
    assert removed.json()["status"] == "removed"
    assert removed.json()["public"] is False
    assert again.status_code == 400
    assert again.json() == {"detail": "This comment has already been removed."}
    # The reply keeps its place under the tombstone.
    rows = {row["id"]: row for row in listed.json()["results"]}
    assert rows[reply.public_id]["parent"] == question.public_id
    assert AuditEntry.objects.filter(action="forum.comment.remove").count() == 1


def test_pin_and_unpin(api, api_key, question):
    client = api(api_key)

    pinned = client.post(url(question, "pin/"))
    unpinned = client.post(url(question, "unpin/"))

    assert pinned.status_code == 200
    assert pinned.json()["pinned"] is True
    assert unpinned.json()["pinned"] is False
    assert [e.action for e in AuditEntry.objects.order_by("pk")] == [
        "forum.comment.pin",
        "forum.comment.unpin",
    ]


def test_only_top_level_comments_are_pinned(api, api_key, reply):
    response = api(api_key).post(url(reply, "pin/"))

    assert response.status_code == 400
    assert response.json() == {"detail": "Only visible top-level comments can be pinned."}
    reply.refresh_from_db()
    assert reply.pinned is False


def test_at_most_three_pins(api, api_key, thread):
    for comment in CommentFactory.create_batch(3, thread=thread, pinned=True):
        assert comment.pinned
    fourth = CommentFactory(thread=thread)

    response = api(api_key).post(url(fourth, "pin/"))

    assert response.status_code == 400
    assert response.json() == {"detail": "At most 3 comments can be pinned; unpin one first."}


def test_mark_and_unmark_the_answer(api, api_key, thread, question, reply):
    other = CommentFactory(thread=thread, parent=question, is_answer=True)
    client = api(api_key)

    answered = client.post(url(reply, "answer/"))
    other.refresh_from_db()
    unanswered = client.post(url(reply, "unanswer/"))

    assert answered.status_code == 200
    assert answered.json()["is_answer"] is True
    assert other.is_answer is False  # one answer per question
    assert unanswered.json()["is_answer"] is False


def test_a_question_is_not_its_own_answer(api, api_key, question):
    response = api(api_key).post(url(question, "answer/"))

    assert response.status_code == 400
    assert response.json() == {"detail": "Only a visible reply can be marked as the answer."}


def test_edit_keeps_the_previous_text_as_a_revision(api, api_key, question):
    client = api(api_key)

    edited = client.patch(
        url(question),
        {"body": "Is the EU region down too?", "reason": "Clearer title"},
        content_type=JSON,
    )
    revisions = client.get(url(question, "revisions/"))

    assert edited.status_code == 200
    assert edited.json()["body"] == "Is the EU region down too?"
    assert edited.json()["body_html"] == "<p>Is the EU region down too?</p>\n"
    assert edited.json()["edited_at"] is not None
    assert revisions.json() == [
        {
            "body": "Is EU down too?",
            "body_html": "<p>Is EU down too?</p>\n",
            "edited_by": None,  # an API key
            "created_at": revisions.json()[0]["created_at"],
        }
    ]
    entry = audit("forum.comment.edit")
    assert entry.data["before"] == {"body": "Is EU down too?"}
    assert entry.data["reason"] == "Clearer title"


def test_edits_are_sanitised(api, api_key, question):
    response = api(api_key).patch(
        url(question),
        {"body": "<script>alert(1)</script> [x](javascript:alert(1))"},
        content_type=JSON,
    )

    assert response.status_code == 200
    assert "<script" not in response.json()["body_html"]
    assert "href=" not in response.json()["body_html"]  # the link stays text


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"body": ""}, "body: This field may not be blank."),
        ({}, "body: This field is required."),
        ({"body": "x" * 10_001}, "body: Ensure this field has no more than 10000 characters."),
        ({"body": "ok", "status": "visible"}, "status: Unknown field."),
    ],
)
def test_bad_edits_are_400s_and_change_nothing(api, api_key, question, payload, message):
    response = api(api_key).patch(url(question), payload, content_type=JSON)

    assert response.status_code == 400
    assert response.json()["detail"] == message
    question.refresh_from_db()
    assert question.body_source == "Is EU down too?"
    assert not CommentRevision.objects.exists()


def test_a_removed_comment_cannot_be_edited(api, api_key, thread):
    removed = CommentFactory(thread=thread, status="removed")

    response = api(api_key).patch(url(removed), {"body": "New"}, content_type=JSON)

    assert response.status_code == 400
    assert response.json() == {"detail": "A removed comment cannot be edited."}


@pytest.mark.parametrize("action", ACTIONS)
def test_a_read_only_key_cannot_moderate(api, read_only_key, question, action):
    response = api(read_only_key).post(
        url(question, f"{action}/"), {"reason": "x"}, content_type=JSON
    )

    assert response.status_code == 403
    question.refresh_from_db()
    assert (question.status, question.pinned, question.is_answer) == ("visible", False, False)
    assert not AuditEntry.objects.exists()


def test_a_read_only_key_cannot_edit(api, read_only_key, question):
    response = api(read_only_key).patch(url(question), {"body": "Changed"}, content_type=JSON)

    assert response.status_code == 403
    question.refresh_from_db()
    assert question.body_source == "Is EU down too?"


@pytest.mark.parametrize("action", ACTIONS)
def test_another_organizations_comment_is_a_404(api, other_api_key, question, action):
    response = api(other_api_key).post(
        url(question, f"{action}/"), {"reason": "x"}, content_type=JSON
    )

    assert response.status_code == 404
    question.refresh_from_db()
    assert question.status == "visible"


def test_another_organizations_comment_cannot_be_read_or_edited(api, other_api_key, question):
    client = api(other_api_key)

    responses = [
        client.get(url(question)),
        client.get(url(question, "revisions/")),
        client.patch(url(question), {"body": "Mine now"}, content_type=JSON),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert responses[0].json() == {"detail": "No Comment matches the given query."}


# --- the organization's comments ------------------------------------------------------------


def test_the_moderation_queue_lists_pending_comments_newest_first(
    api, api_key, org, thread, question
):
    first = CommentFactory(thread=thread, status="pending")
    elsewhere = CommentFactory(
        thread=ThreadFactory(incident=IncidentFactory(organization=org)), status="pending"
    )

    response = api(api_key).get("/api/v1/comments/?status=pending")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [
        elsewhere.public_id,
        first.public_id,
    ]
    assert response.json()["results"][0]["incident_id"] == elsewhere.thread.incident.public_id


def test_the_organizations_comments_filter_by_incident(api, api_key, org, question):
    CommentFactory(thread=ThreadFactory(incident=IncidentFactory(organization=org)))

    response = api(api_key).get(f"/api/v1/comments/?incident={question.thread.incident.public_id}")

    assert [row["id"] for row in response.json()["results"]] == [question.public_id]


def test_no_other_organizations_comment_is_listed(api, other_api_key, question):
    response = api(other_api_key).get("/api/v1/comments/")

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_get_one_comment(api, read_only_key, question, reply):
    response = api(read_only_key).get(url(question))

    assert response.status_code == 200
    assert response.json()["id"] == question.public_id
    assert response.json()["reply_count"] == 1


def test_the_list_costs_the_same_queries_whatever_its_length(
    api, api_key, thread, django_assert_max_num_queries
):
    client = api(api_key)
    client.get("/api/v1/comments/")  # the key's first use of the day records last_used_at
    CommentFactory.create_batch(30, thread=thread)

    with django_assert_max_num_queries(2):
        response = client.get("/api/v1/comments/")

    assert len(response.json()["results"]) == 30


def test_posting_stays_a_comment_not_a_moderation_endpoint(api, api_key, question):
    response = api(api_key).post("/api/v1/comments/", {"body": "Hi"}, content_type=JSON)

    assert response.status_code == 405
    assert Comment.objects.count() == 1
