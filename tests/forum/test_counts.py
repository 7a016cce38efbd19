"""Each incident's discussion counts for lists of incidents (apps/forum/counts.py)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.forum.counts import NONE, DiscussionCounts, discussion_counts
from apps.forum.models import AffectedMark, Comment
from tests.factories import IncidentFactory, UserFactory

from .factories import CommentFactory, ThreadFactory
from .test_reading import big_thread


def marks(incident, count):
    AffectedMark.objects.bulk_create(
        AffectedMark(organization=incident.organization, incident=incident, user=UserFactory())
        for _ in range(count)
    )


def counted(org, incidents):
    with CaptureQueriesContext(connection) as ctx:
        counts = discussion_counts(org, [incident.pk for incident in incidents])
    return len(ctx.captured_queries), counts


def test_only_visible_comments_are_counted_and_every_affected_mark(org, incident):
    thread = ThreadFactory(incident=incident)
    question = CommentFactory(thread=thread)
    CommentFactory(thread=thread, parent=question)
    for status in ("hidden", "removed", "pending"):
        CommentFactory(thread=thread, status=status)
    marks(incident, 3)
    quiet = IncidentFactory(organization=org)

    queries, counts = counted(org, [incident, quiet])

    assert queries == 1
    assert counts[incident.pk] == DiscussionCounts(comments=2, affected=3)
    assert quiet.pk not in counts
    assert counts.get(quiet.pk, NONE) == DiscussionCounts(0, 0)
    assert not counts.get(quiet.pk, NONE)


def test_an_incident_with_marks_and_no_comment_has_counts(org, incident):
    marks(incident, 1)
    assert discussion_counts(org, [incident.pk])[incident.pk].text == "1 affected"


def test_the_counts_read_as_words():
    assert DiscussionCounts(12, 40).text == "12 comments · 40 affected"
    assert DiscussionCounts(1, 0).text == "1 comment"
    assert DiscussionCounts(1234, 5).text == "1,234 comments · 5 affected"


def test_another_organizations_incidents_are_not_counted(org, other_org, incident):
    CommentFactory(thread=ThreadFactory(incident=incident))
    assert discussion_counts(other_org, [incident.pk]) == {}


def test_no_incidents_cost_no_query(org):
    assert counted(org, []) == (0, {})


def test_counting_costs_one_query_for_50_or_5000_comments_and_any_number_of_incidents(
    org, customer
):
    small = IncidentFactory(organization=org)
    big_thread(small, customer, roots=25, replies_per_root=1)
    many = [IncidentFactory(organization=org) for _ in range(40)]
    big_thread(many[0], customer, roots=1000, replies_per_root=4)
    for incident in many[1:]:
        CommentFactory(thread=ThreadFactory(incident=incident))
        marks(incident, 2)
    replies = Comment.objects.filter(thread__incident=many[0], depth=1).order_by("id")
    Comment.objects.filter(pk__in=list(replies.values_list("pk", flat=True)[:10])).update(
        status="hidden"
    )

    small_queries, small_counts = counted(org, [small])
    many_queries, many_counts = counted(org, many)

    assert small_queries == many_queries == 1
    assert small_counts[small.pk] == DiscussionCounts(50, 0)
    assert many_counts[many[0].pk].comments == 5000 - 10
    assert all(many_counts[i.pk] == DiscussionCounts(1, 2) for i in many[1:])
