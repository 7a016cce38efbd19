"""Reading a thread, the affected counter, and the Customer principal."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.forum import services
from apps.forum.models import AffectedMark, Comment
from apps.forum.services import ForumError, read_thread
from apps.organizations.principals import Customer
from tests.factories import ComponentFactory, IncidentFactory, UserFactory

from .factories import CommentFactory, ThreadFactory


def big_thread(incident, author, roots, replies_per_root):
    """`roots` top-level comments each with `replies_per_root` replies, in a few bulk inserts."""
    thread = ThreadFactory(incident=incident)
    fields = {"thread": thread, "organization": incident.organization, "author": author}
    top = Comment.objects.bulk_create(
        [
            Comment(**fields, author_name="A", body_source=f"r{i}", body_html=f"<p>r{i}</p>")
            for i in range(roots)
        ]
    )
    Comment.objects.bulk_create(
        [
            Comment(
                **fields,
                author_name="B",
                parent=root,
                in_reply_to=root,
                root=root,
                depth=1,
                body_source="re",
                body_html="<p>re</p>",
            )
            for root in top
            for _ in range(replies_per_root)
        ]
    )
    return thread


def queries_to_read(incident, **kwargs):
    with CaptureQueriesContext(connection) as ctx:
        page = read_thread(incident, **kwargs)
    return len(ctx.captured_queries), page


def test_reading_costs_the_same_queries_for_50_and_5000_comments(org, customer):
    small, large = (IncidentFactory(organization=org) for _ in range(2))
    big_thread(small, customer, roots=25, replies_per_root=1)
    big_thread(large, customer, roots=1000, replies_per_root=4)
    assert Comment.objects.filter(thread__incident=large).count() == 5000
    small_queries, small_page = queries_to_read(small, viewer=customer)
    large_queries, large_page = queries_to_read(large, viewer=customer)
    assert small_queries == large_queries
    assert len(small_page.nodes) == 25
    assert large_queries <= 5
    assert len(large_page.nodes) == 50
    assert large_page.has_next is True
    assert large_page.comment_count == 5000
    assert all(len(node.replies) == 4 for node in large_page.nodes)
    # Reading the replies' "replying to" target costs nothing more.
    with CaptureQueriesContext(connection) as ctx:
        names = {reply.in_reply_to.author_name for n in large_page.nodes for reply in n.replies}
    assert (names, len(ctx.captured_queries)) == ({"A"}, 0)


def test_a_thread_reads_pinned_first_then_in_order_with_replies_depth_first(incident):
    thread = ThreadFactory(incident=incident)
    first = CommentFactory(thread=thread)
    second = CommentFactory(thread=thread, pinned=True)
    reply = CommentFactory(thread=thread, parent=first)
    later_reply = CommentFactory(thread=thread, parent=first)
    nested = CommentFactory(thread=thread, parent=reply)
    page = read_thread(incident)
    assert [node.comment for node in page.nodes] == [second, first]
    assert page.nodes[1].replies == [reply, nested, later_reply]


def test_pending_comments_are_shown_only_to_their_author(incident, customer):
    thread = ThreadFactory(incident=incident)
    pending = CommentFactory(thread=thread, author=customer, status=Comment.Status.PENDING)
    assert read_thread(incident, viewer=customer).nodes[0].comment == pending
    assert read_thread(incident).nodes == []
    assert read_thread(incident, viewer=UserFactory()).nodes == []


def test_tombstones_are_kept_so_replies_keep_their_context(incident):
    thread = ThreadFactory(incident=incident)
    removed = CommentFactory(thread=thread, status=Comment.Status.REMOVED)
    reply = CommentFactory(thread=thread, parent=removed)
    page = read_thread(incident)
    assert page.nodes[0].comment == removed
    assert page.nodes[0].replies == [reply]
    assert page.comment_count == 1


def test_an_incident_without_a_thread_reads_empty(incident):
    page = read_thread(incident)
    assert (page.thread, page.nodes, page.comment_count) == (None, [], 0)


def test_the_second_page(incident):
    thread = ThreadFactory(incident=incident)
    comments = [CommentFactory(thread=thread) for _ in range(3)]
    page = read_thread(incident, page=2, per_page=2)
    assert [node.comment for node in page.nodes] == [comments[2]]
    assert page.has_next is False


# --- affected ----------------------------------------------------------------------------------


def test_affected_is_one_per_person_and_counted(incident, org, as_customer):
    services.mark_affected(incident, actor=as_customer)
    services.mark_affected(incident, actor=as_customer)
    services.mark_affected(incident, actor=Customer(UserFactory(), org))
    assert read_thread(incident).affected_count == 2


def test_affected_per_component(incident, org, as_customer):
    api = ComponentFactory(organization=org, name="API")
    incident.components.add(api)
    services.mark_affected(incident, actor=as_customer, component=api)
    total, by_component = services.affected_counts(incident)
    assert (total, by_component) == (1, {api.pk: 1})


def test_affected_names_a_component_of_the_incident(incident, org, other_org, as_customer):
    unrelated = ComponentFactory(organization=org)
    foreign = ComponentFactory(organization=other_org)
    for component in (unrelated, foreign):
        with pytest.raises(ForumError, match="components this incident affects"):
            services.mark_affected(incident, actor=as_customer, component=component)
    assert not AffectedMark.objects.exists()


def test_unmark_affected(incident, as_customer):
    services.mark_affected(incident, actor=as_customer)
    services.unmark_affected(incident, actor=as_customer)
    assert services.affected_counts(incident) == (0, {})


# --- the Customer principal --------------------------------------------------------------------


def test_a_customer_may_only_participate(org, customer):
    principal = Customer(customer, org)
    assert principal.can("forum.participate")
    assert not principal.can("forum.moderate")
    assert not principal.can("incidents.edit")
    assert principal.audit_user == customer
    assert principal.audit_label == "casey@customer.test"


def test_a_customer_of_one_organization_is_refused_in_another(org, other_org, customer):
    with pytest.raises(PermissionDenied):
        Customer(customer, org).require("forum.participate", other_org)
