"""The discussion on the public incident page, as readers see it: the timeline, threads, badges,
tombstones, filters, "load more", the shared cache and the discussion's poll."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.forum import services
from apps.forum.discussion import PER_PAGE
from apps.forum.models import Comment
from apps.incidents.models import IncidentStatus
from apps.organizations.principals import Customer
from tests.factories import (
    ComponentFactory,
    DomainFactory,
    IncidentFactory,
    IncidentUpdateFactory,
    UserFactory,
)

from .factories import CommentFactory, ThreadFactory


def url(incident, rest=""):
    return f"/s/acme/incidents/{incident.public_id}/{rest}"


def body(client, path, **extra):
    response = client.get(path, **extra)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def thread(incident):
    return ThreadFactory(incident=incident)


def at(minutes):
    return timezone.now() - timedelta(minutes=minutes)


# --- the timeline -------------------------------------------------------------------------------


def test_updates_and_comments_read_as_one_timeline_newest_first(client, incident, thread):
    IncidentUpdateFactory(incident=incident, body="We are looking into it.", display_at=at(50))
    CommentFactory(
        thread=thread,
        body_source="First report",
        body_html="<p>First report</p>",
        created_at=at(40),
    )
    IncidentUpdateFactory(incident=incident, body="Fix is rolling out.", display_at=at(30))
    CommentFactory(
        thread=thread, body_source="Works now", body_html="<p>Works now</p>", created_at=at(10)
    )
    page = body(client, url(incident))
    timeline = page.split('id="discussion"')[1]
    order = [
        timeline.index(text)
        for text in ("Works now", "Fix is rolling out.", "First report", "We are looking into it.")
    ]
    assert order == sorted(order)
    # The latest update is pinned above the discussion.
    assert page.index("Fix is rolling out.") < page.index('id="discussion"')


def test_filters_are_plain_links_and_filter_on_the_server(client, incident, thread, editor):
    IncidentUpdateFactory(incident=incident, body="Official word.", display_at=at(30))
    CommentFactory(thread=thread, body_source="Customer says", body_html="<p>Customer says</p>")
    CommentFactory(
        thread=thread,
        author=editor,
        is_staff=True,
        author_name="Eddie",
        body_source="Staff says",
        body_html="<p>Staff says</p>",
    )
    everything = body(client, url(incident))
    assert '<a href="?show=updates#discussion">Official updates only</a>' in everything
    assert '<a href="?show=staff#discussion">Staff answers</a>' in everything
    assert "Customer says" in everything and "Staff says" in everything

    updates = body(client, url(incident, "?show=updates")).split('id="discussion"')[1]
    assert "Official word." in updates
    assert "Customer says" not in updates and "Staff says" not in updates

    staff = body(client, url(incident, "?show=staff")).split('id="discussion"')[1]
    assert "Staff says" in staff
    assert "Customer says" not in staff
    assert "Staff · <bdi>Acme Cloud</bdi>" in staff


def test_an_unknown_filter_shows_everything_and_a_bad_page_is_404(client, incident, thread):
    CommentFactory(thread=thread, body_source="Hello", body_html="<p>Hello</p>")
    assert "Hello" in body(client, url(incident, "?show=<script>"))
    assert client.get(url(incident, "?page=0")).status_code == 404
    assert client.get(url(incident, "?page=x")).status_code == 404
    assert client.get(url(incident, "?page=9")).status_code == 404


def test_threads_are_shallow_and_deeper_replies_say_whom_they_answer(client, incident, thread):
    question = CommentFactory(thread=thread, author_name="Priya")
    reply = CommentFactory(thread=thread, parent=question, author_name="Sam")
    second = CommentFactory(thread=thread, parent=reply, author_name="Lee")
    # A reply to a depth-2 comment hangs at depth 2 and names its real target.
    third = CommentFactory(thread=thread, parent=reply, in_reply_to=second, author_name="Kim")
    page = body(client, url(incident))
    assert 'class="fm-reply fm-depth-2"' in page
    after_third = page.split(f'id="comment-{third.public_id}"')[1]
    assert "replying to <bdi>Lee</bdi>" in after_third.split("</article>")[0]
    after_second = page.split(f'id="comment-{second.public_id}"')[1]
    assert "replying to" not in after_second.split("</article>")[0]


def test_staff_badge_pins_and_the_answer_under_its_question(client, incident, thread, editor):
    question = CommentFactory(
        thread=thread,
        author_name="Priya",
        body_source="Is EU hit?",
        body_html="<p>Is EU hit?</p>",
        created_at=at(30),
    )
    CommentFactory(
        thread=thread,
        parent=question,
        author_name="Sam",
        body_source="Same here",
        body_html="<p>Same here</p>",
        created_at=at(25),
    )
    CommentFactory(
        thread=thread,
        parent=question,
        author=editor,
        author_name="Eddie",
        is_staff=True,
        is_answer=True,
        body_source="Yes, EU only.",
        body_html="<p>Yes, EU only.</p>",
        created_at=at(20),
    )
    pinned = CommentFactory(
        thread=thread,
        pinned=True,
        author=editor,
        is_staff=True,
        author_name="Eddie",
        body_source="Read this first",
        body_html="<p>Read this first</p>",
        created_at=at(40),
    )
    CommentFactory(thread=thread, body_source="Newest", body_html="<p>Newest</p>")
    page = body(client, url(incident)).split('id="discussion"')[1]
    assert page.index("Read this first") < page.index("Newest")
    assert f'id="comment-{pinned.public_id}"' in page.split('aria-label="Pinned comments"')[1]
    thread_html = page[page.index("Is EU hit?") :]
    assert thread_html.index("Yes, EU only.") < thread_html.index("Same here")
    assert "✓ Answer" in thread_html
    assert "Staff · <bdi>Acme Cloud</bdi>" in page


def test_a_customer_named_like_staff_gets_no_badge(client, incident, thread):
    CommentFactory(thread=thread, author_name="Acme Cloud Staff", is_staff=False)
    assert "Staff · <bdi>Acme Cloud</bdi>" not in body(client, url(incident))


def test_hidden_and_removed_bodies_never_reach_readers(client, incident, thread, customer):
    CommentFactory(
        thread=thread,
        status=Comment.Status.HIDDEN,
        hidden_reason="Off-topic",
        body_source="SECRET-HIDDEN",
        body_html="<p>SECRET-HIDDEN</p>",
    )
    removed = CommentFactory(
        thread=thread,
        status=Comment.Status.REMOVED,
        body_source="SECRET-REMOVED",
        body_html="<p>SECRET-REMOVED</p>",
    )
    CommentFactory(thread=thread, parent=removed)
    client.force_login(customer)
    for page in (body(client, url(incident)), body(client, url(incident, "?show=staff"))):
        assert "SECRET" not in page
    page = body(client, url(incident))
    assert "Hidden by a moderator: <bdi>Off-topic</bdi>" in page
    assert "[removed by a moderator]" in page


def test_a_pending_comment_is_shown_to_its_author_only(client, incident, thread, customer):
    CommentFactory(
        thread=thread,
        author=customer,
        status=Comment.Status.PENDING,
        body_source="Mine, pending",
        body_html="<p>Mine, pending</p>",
    )
    assert "Mine, pending" not in body(client, url(incident))
    client.force_login(customer)
    page = body(client, url(incident))
    assert "Mine, pending" in page and "Awaiting review" in page
    client.force_login(UserFactory())
    assert "Mine, pending" not in body(client, url(incident))


def test_load_more_pages_by_top_level_comments(client, incident, thread):
    comments = [
        CommentFactory(
            thread=thread, body_source=f"c{i}", body_html=f"<p>c{i}</p>", created_at=at(200 - i)
        )
        for i in range(PER_PAGE + 5)
    ]
    IncidentUpdateFactory(incident=incident, body="Early update.", display_at=at(500))
    first = body(client, url(incident))
    assert "<p>c0</p>" not in first and f"<p>c{PER_PAGE + 4}</p>" in first
    more = 'href="?show=all&amp;page=2#discussion" data-load-more data-loading-text="Loading…">'
    assert f"{more}Load more</a>" in first
    second = body(client, url(incident, "?page=2"))
    assert "<p>c0</p>" in second and f"<p>c{PER_PAGE + 4}</p>" not in second
    assert "data-load-more" not in second
    # Each official update is in the page of the comments around it (the oldest: the last).
    assert "Early update." in second.split('id="discussion"')[1]
    assert "Early update." not in first.split('id="discussion"')[1]
    assert len(comments) == PER_PAGE + 5


def test_the_discussion_is_on_every_kind_of_address(client, org, incident, thread):
    CommentFactory(thread=thread, body_source="Everywhere", body_html="<p>Everywhere</p>")
    DomainFactory(organization=org, hostname="status.acme.test", verified_at=datetime.now(UTC))
    path = f"/incidents/{incident.public_id}/"
    for host in ("acme.status.localhost", "status.acme.test"):
        assert "Everywhere" in body(client, path, HTTP_HOST=host)
    assert "Everywhere" in body(client, url(incident))


def test_an_anonymous_reader_is_led_to_sign_in_on_this_page_and_back(client, incident):
    page = body(client, url(incident))
    back = f"next=%2Fs%2Facme%2Fincidents%2F{incident.public_id}%2F"
    assert f'href="/s/acme/signin/?{back}"' in page
    assert "Sign in to comment" in page


def test_a_page_rendered_for_a_poll_still_leads_back_to_the_page(client, incident):
    polled = client.get(url(incident, "live/"), HTTP_IF_NONE_MATCH='W/"v0"')
    assert polled.status_code == 200
    back = f"next=%2Fs%2Facme%2Fincidents%2F{incident.public_id}%2F"
    assert f'href="/s/acme/signin/?{back}"' in polled.content.decode()
    assert "live" not in polled.content.decode().split("signin/?")[1].split('"')[0]


# --- the shared cache ---------------------------------------------------------------------------


def test_anonymous_page_after_a_signed_in_visit_holds_no_viewer_data(
    client, incident, thread, customer
):
    CommentFactory(thread=thread, author=customer, author_name="Casey Jones")
    anonymous_before = client.get(url(incident))
    client.force_login(customer)
    mine = client.get(url(incident))
    assert mine["Cache-Control"] == "private, no-store"
    page = mine.content.decode()
    assert "csrfmiddlewaretoken" in page and "Comment as" in page and ">Edit</summary>" in page
    client.logout()
    anonymous = client.get(url(incident))
    text = anonymous.content.decode()
    for private in (
        "csrfmiddlewaretoken",
        "Comment as",
        ">Edit</summary>",
        "casey@customer.test",
        "I'm affected too",
        "Moderate",
    ):
        assert private not in text
    assert anonymous.content == anonymous_before.content
    assert anonymous["Cache-Control"].startswith("public")
    assert "Cookie" in anonymous["Vary"]


def test_the_anonymous_page_is_rendered_once_per_change(client, incident, thread, monkeypatch):
    from apps.public import views_public

    client.get(url(incident))
    rendered = []
    monkeypatch.setattr(views_public, "render_to_string", lambda *a, **k: rendered.append(a) or "")
    client.get(url(incident))
    assert rendered == []


@pytest.mark.parametrize("comments", [5, 50])
def test_anonymous_page_queries_do_not_grow_with_the_thread(
    client, org, incident, thread, comments, django_assert_max_num_queries
):
    for i in range(comments):
        root = CommentFactory(thread=thread, created_at=at(100 - i))
        CommentFactory(thread=thread, parent=root)
    ComponentFactory(organization=org)
    # Same bound for 5 and 50: tenant, components, incident + updates + components, postmortem
    # check, read_thread's five and the forum settings.
    with django_assert_max_num_queries(12):
        assert client.get(url(incident)).status_code == 200


def test_queries_are_the_same_for_5_and_50_comments(client, org):
    def count(n):
        incident = IncidentFactory(organization=org)
        thread = ThreadFactory(incident=incident)
        for _ in range(n):
            CommentFactory(thread=thread, parent=CommentFactory(thread=thread))
        with CaptureQueriesContext(connection) as ctx:
            client.get(url(incident))
        return len(ctx.captured_queries)

    assert count(5) == count(50)


# --- the discussion's poll (a closed incident's page) ------------------------------------------


def test_a_closed_incidents_discussion_polls_its_thread_version(
    client, org, incident, thread, customer, django_capture_on_commit_callbacks
):
    incident.status = IncidentStatus.RESOLVED
    incident.resolved_at = timezone.now()
    incident.save()
    page = body(client, url(incident))
    assert f'data-discussion-live="{url(incident, "discussion/live/")}"' in page
    assert 'data-thread-version="1"' in page
    live = url(incident, "discussion/live/")
    unchanged = client.get(live, HTTP_IF_NONE_MATCH='W/"t1"')
    assert unchanged.status_code == 304
    with django_capture_on_commit_callbacks(execute=True):
        services.post_comment(incident, actor=Customer(customer, org), body="After the fix")
    changed = client.get(live, HTTP_IF_NONE_MATCH='W/"t1"')
    assert changed.status_code == 200
    assert changed["ETag"] == 'W/"t2"'
    assert "After the fix" in changed.content.decode()


def test_a_locked_discussion_does_not_poll(client, incident, thread):
    thread.locked = True
    thread.save()
    incident.status = IncidentStatus.RESOLVED
    incident.save()
    page = body(client, url(incident))
    assert "data-discussion-live" not in page
    assert "This discussion is locked" in page


def test_the_poll_of_another_organizations_incident_is_404(client, other_org):
    theirs = IncidentFactory(organization=other_org, status=IncidentStatus.RESOLVED)
    ThreadFactory(incident=theirs)
    response = client.get(url(theirs, "discussion/live/"), HTTP_IF_NONE_MATCH='W/"t0"')
    assert response.status_code == 404


def test_once_a_sign_in_page_exists_anonymous_readers_are_sent_there(client, incident, monkeypatch):
    from apps.forum import discussion

    real_reverse = discussion.reverse

    def reverse(name, *args, **kwargs):
        if name == "public:signin":
            return "/s/acme/signin/"
        return real_reverse(name, *args, **kwargs)

    monkeypatch.setattr(discussion, "reverse", reverse)
    page = body(client, url(incident))
    next_url = f"/s/acme/signin/?next=%2Fs%2Facme%2Fincidents%2F{incident.public_id}%2F"
    assert f'<a class="sp-button" href="{next_url}">Sign in to comment</a>' in page
    assert "Sign in to say you are affected" in page


def test_a_signed_in_readers_poll_is_private(client, incident, customer):
    client.force_login(customer)
    response = client.get(url(incident, "live/"), HTTP_IF_NONE_MATCH='W/"v0"')
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert "Comment as" in response.content.decode()
    resolved = IncidentFactory(organization=incident.organization, status="resolved")
    ThreadFactory(incident=resolved)
    response = client.get(url(resolved, "discussion/live/"), HTTP_IF_NONE_MATCH='W/"t0"')
    assert response["Cache-Control"] == "private, no-store"
