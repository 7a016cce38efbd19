"""read_thread as the incident page uses it: newest first, the span of time a page covers, the
answer taken out first, bodies of hidden and removed comments left out, the staff filter."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.forum.models import Comment
from apps.forum.services import read_thread
from tests.factories import IncidentFactory

from .factories import CommentFactory, ThreadFactory
from .test_reading import big_thread


def at(minutes):
    return timezone.now() - timedelta(minutes=minutes)


def test_newest_first_pages_and_their_spans(incident):
    thread = ThreadFactory(incident=incident)
    comments = [CommentFactory(thread=thread, created_at=at(100 - i)) for i in range(5)]
    first = read_thread(incident, per_page=2, newest_first=True)
    second = read_thread(incident, per_page=2, page=2, newest_first=True)
    last = read_thread(incident, per_page=2, page=3, newest_first=True)
    assert [n.comment for n in first.nodes] == [comments[4], comments[3]]
    assert [n.comment for n in second.nodes] == [comments[2], comments[1]]
    assert [n.comment for n in last.nodes] == [comments[0]]
    # Each page covers from its oldest comment up to the newer page's oldest one.
    assert (first.since, first.until) == (comments[3].created_at, None)
    assert (second.since, second.until) == (comments[1].created_at, comments[3].created_at)
    assert (last.since, last.until) == (None, comments[1].created_at)
    assert first.covers(at(1)) and not first.covers(at(99))
    assert last.covers(at(1000))


def test_the_answer_is_taken_out_to_be_shown_first(incident):
    thread = ThreadFactory(incident=incident)
    question = CommentFactory(thread=thread)
    early = CommentFactory(thread=thread, parent=question)
    answer = CommentFactory(thread=thread, parent=question, is_answer=True)
    node = read_thread(incident).nodes[0]
    assert node.answer == answer
    assert node.replies == [early]
    assert node.all_comments() == [question, answer, early]


def test_hidden_and_removed_comments_come_without_bodies(incident):
    thread = ThreadFactory(incident=incident)
    CommentFactory(thread=thread, status=Comment.Status.HIDDEN, hidden_reason="Spam")
    removed = CommentFactory(thread=thread, status=Comment.Status.REMOVED)
    CommentFactory(thread=thread, parent=removed, status=Comment.Status.HIDDEN)
    page = read_thread(incident)
    shown = [c for n in page.nodes for c in n.all_comments()]
    assert len(shown) == 3
    assert {(c.body_source, c.body_html) for c in shown} == {("", "")}
    assert Comment.objects.exclude(body_source="").count() == 3  # still stored for moderators


def test_which_comments_have_replies(incident):
    thread = ThreadFactory(incident=incident)
    question = CommentFactory(thread=thread)
    reply = CommentFactory(thread=thread, parent=question)
    deep = CommentFactory(thread=thread, parent=reply)
    flattened = CommentFactory(thread=thread, parent=reply, in_reply_to=deep)
    lonely = CommentFactory(thread=thread)
    replied = read_thread(incident).replied
    assert {question.pk, reply.pk, deep.pk} <= replied
    assert lonely.pk not in replied and flattened.pk not in replied


def test_the_staff_filter_reads_staff_comments_and_answers_only(incident, editor):
    thread = ThreadFactory(incident=incident)
    question = CommentFactory(thread=thread)
    staff = CommentFactory(thread=thread, parent=question, is_staff=True, author=editor)
    answer = CommentFactory(thread=thread, parent=question, is_answer=True)
    CommentFactory(thread=thread, is_staff=True, status=Comment.Status.HIDDEN)
    page = read_thread(incident, show="staff", newest_first=True)
    assert [n.comment for n in page.nodes] == [answer, staff]


def test_updates_only_reads_no_comment(incident):
    CommentFactory(thread=ThreadFactory(incident=incident))
    page = read_thread(incident, show="updates")
    assert page.nodes == [] and page.comment_count == 1


def test_each_view_costs_the_same_queries_for_50_and_5000_comments(org, customer):
    small, large = (IncidentFactory(organization=org) for _ in range(2))
    big_thread(small, customer, roots=25, replies_per_root=1)
    big_thread(large, customer, roots=1000, replies_per_root=4)
    for options in ({"newest_first": True, "page": 2, "per_page": 10}, {"show": "staff"}):
        counts = []
        for incident in (small, large):
            with CaptureQueriesContext(connection) as ctx:
                read_thread(incident, viewer=customer, **options)
            counts.append(len(ctx.captured_queries))
        assert counts[0] == counts[1] <= 5
