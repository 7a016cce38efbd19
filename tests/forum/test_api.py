"""Management API: an incident's discussion (/api/v1/incidents/<id>/comments/ and thread/)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.forum import services
from apps.forum.models import Comment, Thread
from apps.organizations.models import AuditEntry
from apps.organizations.principals import Customer
from tests.factories import (
    ComponentFactory,
    IncidentFactory,
    MaintenanceFactory,
    UserFactory,
)

from .factories import CommentFactory, ThreadFactory

JSON = "application/json"
pytestmark = pytest.mark.django_db


def comments_url(incident, query: str = "") -> str:
    return f"/api/v1/incidents/{incident.public_id}/comments/{query}"


def thread_url(incident) -> str:
    return f"/api/v1/incidents/{incident.public_id}/thread/"


@pytest.fixture
def thread(incident):
    return ThreadFactory(incident=incident)


@pytest.fixture
def question(thread, customer):
    return CommentFactory(thread=thread, author=customer, body_source="Is **EU** down too?")


def nothing_written(before: int) -> bool:
    return (
        Comment.objects.count() == before
        and not AuditEntry.objects.filter(action__startswith="forum.").exists()
    )


# --- reading ---------------------------------------------------------------------------------


def test_it_works_the_thread_lists_every_comment_with_its_state(api, api_key, thread, question):
    reply = CommentFactory(thread=thread, parent=question, body_source="Same here.")
    deeper = CommentFactory(thread=thread, parent=reply)
    flattened = CommentFactory(thread=thread, parent=reply, in_reply_to=deeper)
    hidden = CommentFactory(
        thread=thread, status="hidden", hidden_reason="Off-topic", body_source="Buy shoes"
    )
    removed = CommentFactory(thread=thread, status="removed", body_source="rude words")
    pending = CommentFactory(thread=thread, status="pending")

    response = api(api_key).get(comments_url(thread.incident))

    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()["results"]}
    assert list(rows) == [
        c.public_id for c in (question, reply, deeper, flattened, hidden, removed, pending)
    ]  # oldest first
    first = rows[question.public_id]
    assert first == {
        "id": question.public_id,
        "incident_id": thread.incident.public_id,
        "parent": None,
        "in_reply_to": None,
        "depth": 0,
        "author_name": "Casey Jones",
        "is_staff": False,
        "status": "visible",
        "public": True,
        "hidden_reason": "",
        "pinned": False,
        "is_answer": False,
        "body": "Is **EU** down too?",
        "body_html": "<p>Is <strong>EU</strong> down too?</p>\n",
        "created_at": first["created_at"],
        "edited_at": None,
        "reply_count": 1,
    }
    assert rows[reply.public_id]["parent"] == question.public_id
    assert rows[reply.public_id]["reply_count"] == 1  # `flattened` answers `deeper`
    assert rows[flattened.public_id]["parent"] == reply.public_id
    assert rows[flattened.public_id]["in_reply_to"] == deeper.public_id
    assert rows[deeper.public_id]["reply_count"] == 1
    # Staff tooling: bodies readers no longer see are given, and plainly marked.
    assert rows[hidden.public_id]["status"] == "hidden"
    assert rows[hidden.public_id]["public"] is False
    assert rows[hidden.public_id]["hidden_reason"] == "Off-topic"
    assert rows[hidden.public_id]["body"] == "Buy shoes"
    assert rows[removed.public_id]["public"] is False
    assert rows[removed.public_id]["body"] == "rude words"
    assert rows[pending.public_id]["status"] == "pending"
    assert rows[pending.public_id]["public"] is False


def test_the_thread_is_cursor_paginated(api, api_key, thread):
    comments = CommentFactory.create_batch(5, thread=thread)
    client = api(api_key)

    first = client.get(comments_url(thread.incident, "?limit=2")).json()
    second = client.get(first["next"]).json()
    newest = client.get(comments_url(thread.incident, "?ordering=-created_at&limit=1")).json()

    assert [r["id"] for r in first["results"]] == [c.public_id for c in comments[:2]]
    assert [r["id"] for r in second["results"]] == [c.public_id for c in comments[2:4]]
    assert [r["id"] for r in newest["results"]] == [comments[-1].public_id]


def test_the_thread_filters_by_status_staff_and_level(api, api_key, thread, question):
    staff_reply = CommentFactory(thread=thread, parent=question, is_staff=True)
    hidden = CommentFactory(thread=thread, status="hidden", hidden_reason="Spam")
    removed = CommentFactory(thread=thread, status="removed")
    client = api(api_key)

    def ids(query: str) -> list[str]:
        response = client.get(comments_url(thread.incident, query))
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("?status=hidden&status=removed") == [hidden.public_id, removed.public_id]
    assert ids("?staff=true") == [staff_reply.public_id]
    assert ids("?top_level=false") == [staff_reply.public_id]
    assert ids("?status=visible&top_level=true") == [question.public_id]


def test_a_bad_filter_is_a_400_naming_it(api, api_key, thread):
    response = api(api_key).get(comments_url(thread.incident, "?status=deleted"))

    assert response.status_code == 400
    assert response.json()["status"] == ['"deleted" is not a valid choice.']


def test_an_incident_without_comments_lists_none(api, api_key, incident):
    response = api(api_key).get(comments_url(incident))

    assert response.status_code == 200
    assert response.json()["results"] == []
    assert not Thread.objects.exists()  # reading creates nothing


def test_listing_costs_the_same_queries_for_a_few_and_many_comments(api, api_key, org):
    client = api(api_key)
    client.get("/api/v1/comments/")  # the key's first use of the day records last_used_at

    def queries_for(count: int) -> int:
        thread = ThreadFactory(incident=IncidentFactory(organization=org))
        roots = CommentFactory.create_batch(count // 2, thread=thread)
        for root in roots:
            CommentFactory(thread=thread, parent=root)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(comments_url(thread.incident, "?limit=200"))
        assert len(response.json()["results"]) == count // 2 * 2
        return len(captured)

    few = queries_for(4)

    assert few == queries_for(100)
    assert few <= 3  # the key, the incident, the page of comments


def test_a_maintenance_has_its_discussion_too(api, api_key, org):
    maintenance = MaintenanceFactory(organization=org)
    comment = CommentFactory(thread=ThreadFactory(incident=maintenance))
    client = api(api_key)

    listed = client.get(f"/api/v1/maintenances/{maintenance.public_id}/comments/")
    posted = client.post(
        f"/api/v1/maintenances/{maintenance.public_id}/comments/",
        {"body": "The window is on track."},
        content_type=JSON,
    )
    state = client.get(f"/api/v1/maintenances/{maintenance.public_id}/thread/")
    as_incident = client.get(comments_url(maintenance))

    assert [row["id"] for row in listed.json()["results"]] == [comment.public_id]
    assert posted.status_code == 201
    assert state.json()["comment_counts"]["visible"] == 2
    assert as_incident.status_code == 404  # /incidents/ is for incidents only


# --- posting a staff reply -------------------------------------------------------------------


def test_a_reply_posted_with_a_key_is_in_the_organizations_name(api, api_key, incident):
    response = api(api_key).post(
        comments_url(incident),
        {"body": "We are on it: see the *latest update*."},
        content_type=JSON,
    )

    assert response.status_code == 201
    body = response.json()
    assert body["author_name"] == "Acme Cloud team"
    assert body["is_staff"] is True
    assert body["status"] == "visible" and body["public"] is True
    assert body["parent"] is None and body["depth"] == 0
    assert body["body_html"] == "<p>We are on it: see the <em>latest update</em>.</p>\n"
    comment = Comment.objects.get(public_id=body["id"])
    assert comment.author is None  # an API key is nobody in particular
    assert comment.thread.incident == incident
    entry = AuditEntry.objects.get(action="forum.comment.post")
    assert entry.actor_label.startswith("API key “")
    assert entry.target_id == comment.public_id


def test_a_reply_to_a_comment_nests_under_it(api, api_key, thread, question):
    response = api(api_key).post(
        comments_url(thread.incident),
        {"body": "Yes, EU is affected.", "parent": question.public_id},
        content_type=JSON,
    )

    assert response.status_code == 201
    assert response.json()["parent"] == question.public_id
    assert response.json()["in_reply_to"] == question.public_id
    assert response.json()["depth"] == 1


def test_a_reply_below_the_depth_cap_attaches_to_its_parent(api, api_key, thread, question):
    reply = CommentFactory(thread=thread, parent=question)
    deepest = CommentFactory(thread=thread, parent=reply)

    response = api(api_key).post(
        comments_url(thread.incident),
        {"body": "Thanks for the detail.", "parent": deepest.public_id},
        content_type=JSON,
    )

    assert response.json()["parent"] == reply.public_id
    assert response.json()["in_reply_to"] == deepest.public_id
    assert response.json()["depth"] == 2


def test_the_public_page_sees_the_team_reply(api, api_key, incident):
    api(api_key).post(comments_url(incident), {"body": "Fixed soon."}, content_type=JSON)

    page = services.read_thread(incident)

    assert [node.comment.author_name for node in page.nodes] == ["Acme Cloud team"]
    assert page.nodes[0].comment.is_staff


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"body": ""}, "body: This field may not be blank."),
        ({"body": "   \n "}, "body: This field may not be blank."),
        ({}, "body: This field is required."),
        ({"body": "x" * 10_001}, "body: Ensure this field has no more than 10000 characters."),
        ({"body": 42}, "body: Must be a string."),
        ({"body": "Hi", "author": "Support"}, "author: Unknown field."),
        ({"body": "Hi", "parent": "nosuchcomment"}, "parent: Unknown comment “nosuchcomment”."),
        ({"body": "Hi", "parent": "../../x"}, "parent: Unknown comment “../../x”."),
    ],
)
def test_bad_input_is_a_400_saying_what_and_writes_nothing(
    api, api_key, incident, payload, message
):
    response = api(api_key).post(comments_url(incident), payload, content_type=JSON)

    assert response.status_code == 400
    assert response.json()["detail"] == message
    assert nothing_written(0)
    assert not Thread.objects.exists()


def test_a_parent_of_another_organization_is_unknown(api, api_key, incident, other_org):
    foreign = CommentFactory(thread=ThreadFactory(incident=IncidentFactory(organization=other_org)))

    response = api(api_key).post(
        comments_url(incident), {"body": "Hi", "parent": foreign.public_id}, content_type=JSON
    )

    assert response.status_code == 400
    assert response.json()["detail"] == f"parent: Unknown comment “{foreign.public_id}”."
    assert nothing_written(1)


def test_a_parent_from_another_discussion_is_refused(api, api_key, org, thread, question):
    elsewhere = CommentFactory(thread=ThreadFactory(incident=IncidentFactory(organization=org)))

    response = api(api_key).post(
        comments_url(thread.incident),
        {"body": "Hi", "parent": elsewhere.public_id},
        content_type=JSON,
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "You can only reply to comments in this discussion."}
    assert nothing_written(2)


def test_a_removed_comment_cannot_be_answered(api, api_key, thread):
    removed = CommentFactory(thread=thread, status="removed")

    response = api(api_key).post(
        comments_url(thread.incident),
        {"body": "Hi", "parent": removed.public_id},
        content_type=JSON,
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "This comment can no longer be replied to."}


def test_a_locked_discussion_takes_no_reply(api, api_key, incident):
    ThreadFactory(incident=incident, locked=True)

    response = api(api_key).post(comments_url(incident), {"body": "Hello"}, content_type=JSON)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "This discussion is locked; no new comments can be posted."
    }
    assert nothing_written(0)


def test_a_discussion_locks_by_itself_after_resolution(api, api_key, org):
    resolved = IncidentFactory(
        organization=org, status="resolved", resolved_at=timezone.now() - timedelta(days=30)
    )

    response = api(api_key).post(comments_url(resolved), {"body": "Hello"}, content_type=JSON)
    state = api(api_key).get(thread_url(resolved)).json()

    assert response.status_code == 400
    assert "locked" in response.json()["detail"]
    assert state["locked"] is False and state["accepting_comments"] is False


def test_the_same_reply_twice_is_refused(api, api_key, incident):
    client = api(api_key)
    client.post(comments_url(incident), {"body": "Fixed."}, content_type=JSON)

    again = client.post(comments_url(incident), {"body": "Fixed."}, content_type=JSON)

    assert again.status_code == 400
    assert again.json() == {"detail": "The same reply was posted in this discussion a moment ago."}
    assert Comment.objects.count() == 1


def test_a_retried_post_with_an_idempotency_key_posts_once(api, api_key, incident):
    client = api(api_key)

    first = client.post(
        comments_url(incident), {"body": "On it."}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="r-1"
    )
    again = client.post(
        comments_url(incident), {"body": "On it."}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="r-1"
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Comment.objects.count() == 1


def test_a_read_only_key_reads_but_cannot_post(api, read_only_key, thread, question):
    client = api(read_only_key)

    listed = client.get(comments_url(thread.incident))
    posted = client.post(comments_url(thread.incident), {"body": "Hi"}, content_type=JSON)

    assert listed.status_code == 200
    assert posted.status_code == 403
    assert posted.json() == {"detail": "This API key is read-only; use a key with write scope."}
    assert nothing_written(1)


def test_a_read_only_principal_is_refused_by_the_service_too(read_only_key, incident):
    with pytest.raises(PermissionDenied, match="read-only"):
        services.post_team_reply(incident, actor=read_only_key.principal, body="Hi")
    assert not Comment.objects.exists()


def test_another_organizations_incident_is_a_404(api, other_api_key, thread, question):
    client = api(other_api_key)

    listed = client.get(comments_url(thread.incident))
    posted = client.post(comments_url(thread.incident), {"body": "Hi"}, content_type=JSON)
    state = client.get(thread_url(thread.incident))
    patched = client.patch(thread_url(thread.incident), {"locked": True}, content_type=JSON)

    assert [r.status_code for r in (listed, posted, state, patched)] == [404] * 4
    assert listed.json() == {"detail": "No incident matches the given query."}
    assert nothing_written(1)
    assert not Thread.objects.get().locked


def test_an_unknown_incident_is_a_404(api, api_key, db):
    assert api(api_key).get("/api/v1/incidents/nosuchincident/comments/").status_code == 404
    assert api(api_key).get("/api/v1/incidents/bad%00id/comments/").status_code == 404


# --- the thread: lock, slow mode, counts ----------------------------------------------------


def test_it_works_the_thread_state_with_counts(api, api_key, org, incident, thread, question):
    CommentFactory(thread=thread, status="pending")
    CommentFactory(thread=thread, status="hidden", hidden_reason="Spam")
    eu = ComponentFactory(organization=org, name="EU API")
    incident.components.add(eu)
    for n in range(3):
        user = UserFactory(email=f"reader{n}@customer.test")
        services.mark_affected(incident, actor=Customer(user, org), component=eu if n < 2 else None)

    response = api(api_key).get(thread_url(incident))
    thread.refresh_from_db()  # each mark moved the thread's version (the page shows the count)

    assert response.status_code == 200
    assert response.json() == {
        "id": thread.public_id,
        "incident_id": incident.public_id,
        "locked": False,
        "auto_lock_at": None,
        "accepting_comments": True,
        "slow_mode_seconds": 0,
        "version": thread.version,
        "comment_counts": {"visible": 1, "pending": 1, "hidden": 1, "removed": 0},
        "affected_count": 3,
        "affected_components": [{"id": eu.public_id, "name": "EU API", "count": 2}],
    }


def test_a_thread_not_started_yet_reads_as_defaults(api, api_key, incident):
    response = api(api_key).get(thread_url(incident))

    assert response.status_code == 200
    assert response.json()["id"] is None
    assert response.json()["accepting_comments"] is True
    assert response.json()["comment_counts"] == {
        "visible": 0,
        "pending": 0,
        "hidden": 0,
        "removed": 0,
    }
    assert not Thread.objects.exists()


def test_lock_slow_mode_and_unlock(api, api_key, incident):
    client = api(api_key)

    locked = client.patch(
        thread_url(incident),
        {"locked": True, "slow_mode_seconds": 120, "reason": "Heated"},
        content_type=JSON,
    )
    refused = client.post(comments_url(incident), {"body": "Hello"}, content_type=JSON)
    unlocked = client.patch(thread_url(incident), {"locked": False}, content_type=JSON)
    posted = client.post(comments_url(incident), {"body": "Hello"}, content_type=JSON)

    assert locked.status_code == 200
    assert locked.json()["locked"] is True
    assert locked.json()["accepting_comments"] is False
    assert locked.json()["slow_mode_seconds"] == 120
    assert refused.status_code == 400
    assert unlocked.json()["locked"] is False
    assert unlocked.json()["slow_mode_seconds"] == 120  # left as it was
    assert posted.status_code == 201
    entries = AuditEntry.objects.filter(action__startswith="forum.thread").order_by("pk")
    assert [(e.action, e.data["reason"]) for e in entries] == [
        ("forum.thread.lock", "Heated"),
        ("forum.thread.slow_mode", "Heated"),
        ("forum.thread.unlock", ""),
    ]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "Give `locked`, `slow_mode_seconds` or both."),
        ({"reason": "x"}, "Give `locked`, `slow_mode_seconds` or both."),
        (
            {"slow_mode_seconds": 86_401},
            "slow_mode_seconds: Ensure this value is less than or equal to 86400.",
        ),
        (
            {"slow_mode_seconds": -1},
            "slow_mode_seconds: Ensure this value is greater than or equal to 0.",
        ),
        ({"locked": "yes"}, "locked: Must be true or false."),
        ({"locked": True, "state": "archived"}, "state: Unknown field."),
    ],
)
def test_bad_thread_changes_are_400s_and_write_nothing(api, api_key, incident, payload, message):
    response = api(api_key).patch(thread_url(incident), payload, content_type=JSON)

    assert response.status_code == 400
    assert response.json()["detail"] == message
    assert not Thread.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_read_only_key_cannot_lock(api, read_only_key, thread):
    response = api(read_only_key).patch(
        thread_url(thread.incident), {"locked": True}, content_type=JSON
    )

    assert response.status_code == 403
    thread.refresh_from_db()
    assert thread.locked is False


# --- the public status JSON is unchanged ---------------------------------------------------


def test_the_public_status_json_keys_do_not_change_with_comments(client, api_key, org):
    incident = IncidentFactory(organization=org, status="investigating")

    def keys(path: str) -> list:
        data = json.loads(client.get(f"/s/acme/api/v2/{path}").content)

        def walk(value, prefix=""):
            if isinstance(value, dict):
                for name, item in value.items():
                    yield f"{prefix}{name}"
                    yield from walk(item, f"{prefix}{name}.")
            elif isinstance(value, list):
                for item in value:
                    yield from walk(item, f"{prefix}[].")

        return sorted(set(walk(data)))

    paths = ["summary.json", "incidents.json", "incidents/unresolved.json"]
    before = {path: keys(path) for path in paths}
    staff_tool = Client(HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
    staff_tool.post(comments_url(incident), {"body": "We are on it."}, content_type=JSON)
    services.mark_affected(incident, actor=Customer(UserFactory(), org))

    assert Comment.objects.count() == 1
    assert {path: keys(path) for path in paths} == before
    assert "incidents.[].incident_updates" in before["summary.json"]  # the incident is in it


def test_a_viewer_cannot_lock_and_no_thread_is_left_behind(incident, as_viewer):
    with pytest.raises(PermissionDenied):
        services.moderate_thread(incident, actor=as_viewer, locked=True)

    assert not Thread.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_member_posting_in_the_teams_name_is_an_editor_at_least(incident, as_viewer, as_editor):
    with pytest.raises(PermissionDenied):
        services.post_team_reply(incident, actor=as_viewer, body="Hi")

    comment = services.post_team_reply(incident, actor=as_editor, body="Hi")

    assert (comment.author, comment.author_name, comment.is_staff) == (
        None,
        "Acme Cloud team",
        True,
    )
    assert Comment.objects.count() == 1
