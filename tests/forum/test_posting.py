"""post_comment and its rules: who may comment, where, how often, and what is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.forum import services
from apps.forum.models import Comment, ForumSettings, Thread
from apps.forum.services import ForumError, post_comment
from apps.organizations.models import AuditEntry
from apps.organizations.principals import Customer, Member, System
from tests.factories import IncidentFactory, UserFactory

from .factories import CommentFactory, ThreadFactory


@pytest.fixture
def configure(org, owner):
    """Change the organization's forum settings as its owner would."""
    return lambda **changes: services.update_forum_settings(
        org, actor=Member.of(owner, org), **changes
    )


def test_a_customer_posts_a_visible_comment(incident, as_customer, customer, org):
    comment = post_comment(incident, actor=as_customer, body="Same here, *eu-west* fails.")
    assert comment.status == Comment.Status.VISIBLE
    assert comment.author == customer
    assert comment.author_name == "Casey Jones"
    assert comment.is_staff is False
    assert comment.body_html == "<p>Same here, <em>eu-west</em> fails.</p>\n"
    assert Thread.objects.for_org(org).get().incident == incident


def test_the_first_comment_creates_the_thread_once(incident, as_customer, as_editor):
    post_comment(incident, actor=as_customer, body="First")
    post_comment(incident, actor=as_editor, body="We are on it")
    assert Thread.objects.filter(incident=incident).count() == 1


def test_posting_bumps_the_thread_version_and_the_public_page(
    incident, as_customer, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        comment = post_comment(incident, actor=as_customer, body="Same here")
    comment.thread.refresh_from_db()
    org.refresh_from_db()
    assert comment.thread.version == 2
    assert org.content_version == 2


def test_staff_get_the_badge_from_membership(incident, as_editor, editor):
    comment = post_comment(incident, actor=as_editor, body="A fix is rolling out.")
    assert comment.is_staff is True
    assert comment.author_name == editor.display_name


def test_a_member_acting_as_a_customer_is_still_staff(incident, editor, org):
    comment = post_comment(incident, actor=Customer(editor, org), body="Fixed now.")
    assert comment.is_staff is True


def test_a_forged_staff_name_gets_no_badge_and_is_replaced(incident, org):
    user = UserFactory(email="mallory@evil.test", display_name="Acme Cloud Support")
    comment = post_comment(incident, actor=Customer(user, org), body="Send me your password")
    assert comment.is_staff is False
    assert comment.author_name == "mallory"


def test_a_member_of_another_organization_is_a_customer_here(incident, outsider, org):
    comment = post_comment(incident, actor=Customer(outsider, org), body="Us too")
    assert comment.is_staff is False


def test_invisible_characters_in_a_name_are_not_shown(incident, org):
    user = UserFactory(email="rtl@customer.test", display_name="Kim\u202e Lee\u200b")
    comment = post_comment(incident, actor=Customer(user, org), body="Hello")
    assert comment.author_name == "rtl"


def test_a_reply_hangs_under_its_parent(incident, as_customer, as_editor):
    question = post_comment(incident, actor=as_customer, body="Is EU affected?")
    answer = post_comment(incident, actor=as_editor, body="Yes.", reply_to=question)
    assert (answer.parent, answer.root, answer.depth) == (question, question, 1)


def test_a_reply_past_the_depth_cap_attaches_to_its_parent(incident, org, as_editor):
    thread = ThreadFactory(incident=incident)
    root = CommentFactory(thread=thread)
    reply = CommentFactory(thread=thread, parent=root)
    deepest = CommentFactory(thread=thread, parent=reply)
    answer = post_comment(incident, actor=as_editor, body="Replying deep", reply_to=deepest)
    assert answer.depth == 2
    assert answer.parent == reply
    assert answer.in_reply_to == deepest
    assert answer.root == root


def test_a_viewer_may_comment_but_an_api_key_may_not(incident, as_viewer, api_key, org):
    from apps.organizations.principals import ApiKeyPrincipal

    assert post_comment(incident, actor=as_viewer, body="Seen").is_staff is True
    with pytest.raises(ForumError, match="signed-in people"):
        post_comment(incident, actor=ApiKeyPrincipal(api_key), body="Bot")


# --- bad input: a clear message, nothing written -------------------------------------------------


def refused(incident, actor, match, **kwargs):
    before = (Comment.objects.count(), Thread.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ForumError, match=match):
        post_comment(incident, actor=actor, **kwargs)
    assert (Comment.objects.count(), Thread.objects.count(), AuditEntry.objects.count()) == before


def test_a_refused_first_comment_creates_no_thread(incident, as_customer):
    refused(
        incident, as_customer, "at most 2 links", body="https://a.test https://b.test www.c.test"
    )
    assert not Thread.objects.exists()


def test_a_reply_to_a_comment_of_another_thread_is_refused(incident, org, as_customer):
    elsewhere = CommentFactory(thread=ThreadFactory(incident=IncidentFactory(organization=org)))
    refused(
        incident,
        as_customer,
        "only reply to comments in this discussion",
        body="Hi",
        reply_to=elsewhere,
    )


def test_a_reply_to_a_comment_of_another_organization_is_refused(incident, other_org, as_customer):
    foreign = CommentFactory(thread=ThreadFactory(incident=IncidentFactory(organization=other_org)))
    refused(
        incident,
        as_customer,
        "only reply to comments in this discussion",
        body="Hi",
        reply_to=foreign,
    )


def test_a_customer_principal_of_another_organization_is_refused(incident, customer, other_org):
    with pytest.raises(PermissionDenied):
        post_comment(incident, actor=Customer(customer, other_org), body="Hi")
    assert Comment.objects.count() == 0


def test_a_locked_thread_refuses_comments(incident, as_customer):
    ThreadFactory(incident=incident, locked=True)
    refused(incident, as_customer, "locked", body="Hello?")


def test_a_thread_resolved_longer_than_auto_lock_days_is_locked(
    configure, incident, org, as_customer
):
    configure(auto_lock_days=7)
    incident.status = "resolved"
    incident.resolved_at = timezone.now() - timedelta(days=8)
    incident.save()
    refused(incident, as_customer, "locked", body="Still broken")


def test_a_recently_resolved_thread_is_open(incident, org, as_customer):
    incident.status = "resolved"
    incident.resolved_at = timezone.now() - timedelta(days=2)
    incident.save()
    assert post_comment(incident, actor=as_customer, body="Works now").pk


def test_a_banned_person_is_refused(incident, org, customer, as_customer, as_editor):
    services.ban_user(org, customer, actor=as_editor, reason="spam")
    refused(incident, as_customer, "banned", body="Let me in")


def test_an_expired_ban_no_longer_applies(incident, org, customer, as_customer, as_editor):
    ban = services.ban_user(
        org, customer, actor=as_editor, expires_at=timezone.now() + timedelta(hours=1)
    )
    ban.expires_at = timezone.now() - timedelta(minutes=1)
    ban.save()
    assert post_comment(incident, actor=as_customer, body="Back").pk


def test_an_empty_comment_is_refused(incident, as_customer):
    refused(incident, as_customer, "Write something", body="   ")


def test_an_oversized_comment_is_refused(incident, as_customer):
    refused(incident, as_customer, "limited to 10,000 characters", body="x" * 10_001)


def test_malicious_markup_is_stored_sanitised(incident, as_editor):
    comment = post_comment(
        incident,
        actor=as_editor,
        body='<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror="a()">',
    )
    assert "<script" not in comment.body_html
    assert "<img" not in comment.body_html
    assert "href" not in comment.body_html


def test_comments_from_a_blocked_domain_are_refused(configure, incident, org, as_customer):
    configure(blocked_domains=["customer.test"])
    refused(incident, as_customer, "email domain are not accepted", body="Hi")


def test_nobody_may_comment_when_comments_are_off(configure, incident, org, as_customer, as_editor):
    configure(who_may_comment=ForumSettings.WhoMayComment.NOBODY)
    refused(incident, as_customer, "turned off", body="Hi")
    assert post_comment(incident, actor=as_editor, body="Staff still can").pk


def test_listed_domains_need_a_verified_address(configure, incident, org):
    configure(who_may_comment="domains", allowed_domains=["partner.test"])
    verified = UserFactory(email="pat@partner.test")
    unverified = UserFactory(email="sam@partner.test", verified=False)
    elsewhere = UserFactory(email="lee@customer.test")
    assert post_comment(incident, actor=Customer(verified, org), body="Hi").pk
    refused(incident, Customer(unverified, org), "verified address at partner.test", body="Hi")
    refused(incident, Customer(elsewhere, org), "verified address at partner.test", body="Hi")


def test_a_new_commenter_may_post_at_most_two_links(incident, as_customer):
    body = "https://a.test https://b.test https://c.test"
    refused(incident, as_customer, "at most 2 links", body=body)


def test_a_new_commenter_may_mention_at_most_two_people(incident, as_customer):
    refused(incident, as_customer, "at most 2 people", body="@a @b @c look")


def test_the_same_body_twice_in_five_minutes_is_refused(incident, as_customer):
    post_comment(incident, actor=as_customer, body="Same here")
    cache.clear()  # as if the rate-limit window had passed
    refused(incident, as_customer, "just posted this same comment", body="Same here")


def established(org, customer):
    """A visible comment of `customer` in `org`, two days old."""
    CommentFactory(
        thread=ThreadFactory(incident=IncidentFactory(organization=org)),
        author=customer,
        created_at=timezone.now() - timedelta(days=2),
    )


def test_a_new_commenters_second_comment_also_waits(incident, as_customer):
    post_comment(incident, actor=as_customer, body="One")
    refused(incident, as_customer, "Wait 30 seconds", body="Two")


def test_a_new_commenter_posts_at_most_ten_comments_on_the_first_day(incident, as_customer):
    for n in range(10):
        post_comment(incident, actor=as_customer, body=f"Comment {n}")
        # as if 30 seconds had passed: the per-comment window ends, the day's does not
        cache.delete(f"forum:rate:{incident.organization_id}:new:{as_customer.user.pk}")
    refused(incident, as_customer, "10 comments on their first day", body="Eleventh")


def test_an_established_commenter_has_a_shorter_wait(incident, org, customer, as_customer):
    established(org, customer)
    post_comment(incident, actor=as_customer, body="One")
    refused(incident, as_customer, "Wait a few seconds", body="Two")


def test_a_network_posting_too_much_is_refused(incident, org):
    for n in range(services.IP_RATE[0]):
        user = UserFactory(email=f"bot{n}@customer.test")
        post_comment(incident, actor=Customer(user, org), body=f"Spam {n}", ip="203.0.113.9")
    refused(
        incident,
        Customer(UserFactory(email="late@customer.test"), org),
        "Too many comments from your network",
        body="Hi",
        ip="203.0.113.9",
    )


def test_staff_are_not_rate_limited(incident, as_editor):
    post_comment(incident, actor=as_editor, body="Update one")
    assert post_comment(incident, actor=as_editor, body="Update two").pk


def test_slow_mode_holds_customers_back(incident, org, customer, as_customer, as_editor):
    thread = services.get_or_create_thread(incident)
    services.set_slow_mode(thread, actor=as_editor, seconds=600)
    post_comment(incident, actor=as_customer, body="One")
    cache.clear()  # past the rate limit, not past slow mode
    refused(incident, as_customer, "Slow mode is on: wait 600 seconds", body="Two")


# --- pre-moderation ----------------------------------------------------------------------------


def test_by_default_a_new_commenters_first_comment_with_a_link_is_held(incident, as_customer):
    comment = post_comment(incident, actor=as_customer, body="See https://downdetector.test")
    assert comment.status == Comment.Status.PENDING


def test_by_default_a_first_comment_without_a_link_is_published(incident, as_customer):
    assert post_comment(incident, actor=as_customer, body="Same").status == "visible"


def test_every_first_comment_can_be_held(configure, incident, org, as_customer):
    configure(premoderation="first")
    assert post_comment(incident, actor=as_customer, body="Same").status == "pending"


def test_everything_can_be_held_but_staff_comments(
    configure, incident, org, customer, as_customer, as_editor
):
    configure(premoderation="all")
    established(org, customer)
    assert post_comment(incident, actor=as_customer, body="Same").status == "pending"
    assert post_comment(incident, actor=as_editor, body="Fix").status == "visible"


def test_premoderation_off_publishes_links(configure, incident, org, as_customer):
    configure(premoderation="off")
    assert post_comment(incident, actor=as_customer, body="https://a.test").status == "visible"


def test_the_system_principal_cannot_comment(incident, org):
    with pytest.raises(ForumError, match="signed-in people"):
        post_comment(incident, actor=System("import", org), body="Hi")


def test_posting_into_a_big_thread_writes_as_few_rows_as_into_a_small_one(org, as_editor):
    small, large = (IncidentFactory(organization=org) for _ in range(2))
    for incident, size in ((small, 2), (large, 300)):
        thread = ThreadFactory(incident=incident)
        root = CommentFactory(thread=thread)
        CommentFactory.create_batch(size, thread=thread, parent=root)
    writes = []
    for incident in (small, large):
        root = Comment.objects.get(thread__incident=incident, depth=0)
        with CaptureQueriesContext(connection) as ctx:
            post_comment(incident, actor=as_editor, body=f"Reply in {incident.pk}", reply_to=root)
        writes.append(
            [
                " ".join(q["sql"].split()[:3])
                for q in ctx.captured_queries
                if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
            ]
        )
    assert writes[0] == writes[1]
    # One comment row; the rest is the thread's version and its notifications (the writer and
    # the replied-to author follow the thread, one notice, one outbox event), all constant.
    assert writes[1].count('INSERT INTO "forum_comment"') == 1


# --- settings ----------------------------------------------------------------------------------


def test_settings_changes_are_audited(org, owner):
    services.update_forum_settings(
        org, actor=Member.of(owner, org), blocked_domains="Spam.test, @junk.test"
    )
    stored = ForumSettings.objects.for_org(org).get()
    assert stored.blocked_domains == ["junk.test", "spam.test"]
    entry = AuditEntry.objects.for_org(org).get(action="forum.settings")
    assert entry.data["before"]["blocked_domains"] == []
    assert entry.data["after"]["blocked_domains"] == ["junk.test", "spam.test"]


def test_an_editor_may_not_change_settings(org, as_editor):
    with pytest.raises(PermissionDenied):
        services.update_forum_settings(org, actor=as_editor, premoderation="off")
    assert not ForumSettings.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"premoderation": "sometimes"}, "not a valid choice"),
        ({"who_may_comment": "domains"}, "at least one email domain"),
        ({"allowed_domains": ["not a domain"]}, "is not an email domain"),
        ({"colour": "red"}, "Unknown forum settings: colour"),
    ],
)
def test_bad_settings_are_refused(org, owner, changes, message):
    with pytest.raises(ForumError, match=message):
        services.update_forum_settings(org, actor=Member.of(owner, org), **changes)
    assert not ForumSettings.objects.exists()


def test_an_ipv6_network_counts_as_one(incident, org):
    for n in range(services.IP_RATE[0]):
        user = UserFactory(email=f"v6bot{n}@customer.test")
        post_comment(incident, actor=Customer(user, org), body=f"Spam {n}", ip=f"2001:db8::{n + 1}")
    refused(
        incident,
        Customer(UserFactory(email="v6late@customer.test"), org),
        "Too many comments from your network",
        body="Hi",
        ip="2001:db8::ffff",
    )
