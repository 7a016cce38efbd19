"""The moderation queue, its count in the navigation, bans and the forum settings page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from apps.forum import services
from apps.forum.models import Ban, Comment, Flag, ForumSettings
from apps.organizations.models import AuditEntry
from apps.organizations.principals import Customer, Member
from tests.factories import IncidentFactory, UserFactory

from .factories import CommentFactory, ThreadFactory

pytestmark = pytest.mark.django_db


def url(name, org, *args):
    return reverse(f"forum:{name}", args=[org.slug, *args])


def flag(comment, org, reason="spam", email=None):
    reader = UserFactory(**({"email": email} if email else {}))
    return services.flag_comment(comment, actor=Customer(reader, org), reason=reason)


@pytest.fixture
def thread(incident):
    return ThreadFactory(incident=incident)


@pytest.fixture
def waiting(thread, org):
    """One comment of each kind a moderator must look at, oldest first, and two they need not."""
    now = timezone.now()
    held = CommentFactory(
        thread=thread, status="pending", body_source="Held: see my link",
        created_at=now - timedelta(hours=3),
    )  # fmt: skip
    flagged = CommentFactory(
        thread=thread, body_source="Flagged once", created_at=now - timedelta(hours=2)
    )
    flag(flagged, org, reason="off_topic")
    auto_hidden = CommentFactory(
        thread=thread, body_source="Cheap watches", created_at=now - timedelta(hours=1)
    )
    for _ in range(3):  # the default threshold hides it pending review
        flag(auto_hidden, org)
    CommentFactory(thread=thread, body_source="Quiet comment")
    CommentFactory(thread=thread, body_source="Already hidden", status="hidden")
    auto_hidden.refresh_from_db()
    assert auto_hidden.status == "pending"
    return held, flagged, auto_hidden


# --- the queue -----------------------------------------------------------------------------------


def test_the_queue_lists_what_awaits_a_moderator_oldest_first(
    client, editor, org, incident, waiting
):
    client.force_login(editor)
    response = client.get(url("queue", org))
    assert response.status_code == 200
    assert [c.public_id for c in response.context["items"]] == [c.public_id for c in waiting]
    page = response.content.decode()
    assert incident.name in page
    assert "Held for review" in page and "Hidden by flags" in page
    assert "Flagged, still public" in page
    times = "\N{MULTIPLICATION SIGN}"
    assert "3 flags:" in page and f"Spam {times}3" in page and f"Off-topic {times}1" in page
    assert "Quiet comment" not in page and "Already hidden" not in page


def test_the_queue_shows_only_this_organizations_comments(client, editor, org, other_org):
    elsewhere = CommentFactory(
        thread=ThreadFactory(incident=IncidentFactory(organization=other_org)), status="pending"
    )
    client.force_login(editor)
    response = client.get(url("queue", org))
    assert response.context["items"] == []
    assert elsewhere.body_source not in response.content.decode()
    assert "Nothing to review" in response.content.decode()


def test_approve_from_the_queue_returns_to_it(client, editor, org, waiting):
    held, _flagged, _hidden = waiting
    client.force_login(editor)
    response = client.post(url("approve", org, held.public_id), {"back": "queue"})
    assert response["Location"] == url("queue", org)
    held.refresh_from_db()
    assert held.status == "visible"


def test_approving_a_comment_hidden_by_flags_dismisses_them(client, editor, org, waiting):
    _held, _flagged, auto_hidden = waiting
    client.force_login(editor)
    client.post(url("approve", org, auto_hidden.public_id), {"back": "queue"})
    auto_hidden.refresh_from_db()
    assert auto_hidden.status == "visible"
    assert not Flag.objects.filter(comment=auto_hidden).exists()
    assert auto_hidden.public_id not in [
        c.public_id for c in client.get(url("queue", org)).context["items"]
    ]


def test_dismissing_flags_keeps_the_comment_and_records_who_flagged(client, editor, org, waiting):
    _held, flagged, _hidden = waiting
    flagger = Flag.objects.get(comment=flagged).user.email
    client.force_login(editor)
    response = client.post(url("dismiss", org, flagged.public_id), {"back": "queue"})
    assert response.status_code == 302
    flagged.refresh_from_db()
    assert flagged.status == "visible"
    assert not Flag.objects.filter(comment=flagged).exists()
    entry = AuditEntry.objects.for_org(org).first()
    assert (entry.action, entry.actor) == ("forum.comment.dismiss_flags", editor)
    assert entry.data["before"]["flags"] == [{"by": flagger, "reason": "off_topic"}]
    assert entry.data["after"]["flags"] == []


def test_dismissing_flags_of_an_unflagged_comment_says_so(client, editor, org, thread):
    comment = CommentFactory(thread=thread)
    client.force_login(editor)
    response = client.post(url("dismiss", org, comment.public_id), follow=True)
    assert "This comment has no flags to dismiss." in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_hide_and_remove_from_the_queue(client, editor, org, waiting):
    held, flagged, _hidden = waiting
    client.force_login(editor)
    response = client.post(
        url("hide", org, flagged.public_id), {"reason": "Off-topic", "back": "queue"}
    )
    assert response["Location"] == url("queue", org)
    client.post(url("remove", org, held.public_id), {"back": "queue"})
    statuses = dict(
        Comment.objects.filter(pk__in=[held.pk, flagged.pk]).values_list("pk", "status")
    )
    assert statuses == {held.pk: "removed", flagged.pk: "hidden"}
    assert len(client.get(url("queue", org)).context["items"]) == 1


def test_a_refused_hide_from_the_queue_keeps_the_way_back(client, editor, org, waiting):
    _held, flagged, _hidden = waiting
    client.force_login(editor)
    response = client.post(url("hide", org, flagged.public_id), {"reason": "", "back": "queue"})
    assert response.status_code == 400
    assert 'name="back" value="queue"' in response.content.decode()


def test_a_viewer_reads_the_queue_without_controls(client, viewer, org, waiting):
    client.force_login(viewer)
    response = client.get(url("queue", org))
    assert response.status_code == 200
    assert "Cheap watches" in response.content.decode()
    assert "Approve" not in response.content.decode()
    held, _flagged, _hidden = waiting
    assert client.post(url("approve", org, held.public_id)).status_code == 403


def test_the_queue_page_costs_the_same_queries_for_many_comments(
    client, editor, org, thread, django_assert_max_num_queries
):
    for _ in range(3):
        flag(CommentFactory(thread=thread), org)
    client.force_login(editor)
    with django_assert_max_num_queries(20) as few:
        client.get(url("queue", org))
    for _ in range(30):
        flag(CommentFactory(thread=thread), org)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url("queue", org))
    assert len(response.context["items"]) == 33


# --- the count in the navigation ------------------------------------------------------------------


def test_the_navigation_shows_how_many_comments_await_review(client, editor, org, waiting):
    client.force_login(editor)
    page = client.get(reverse("incidents:list", args=[org.slug])).content.decode()
    assert '>Forum <span class="badge badge-warn" title="Comments awaiting review">3<' in page


def test_the_navigation_count_is_one_query_whatever_the_queue(
    org, thread, django_assert_num_queries
):
    for _ in range(20):
        CommentFactory(thread=thread, status="pending")
        flag(CommentFactory(thread=thread), org)
    template = Template("{% load forum_dashboard %}{% forum_queue_count org %}")
    with django_assert_num_queries(1):
        assert template.render(Context({"org": org})) == "40"


def test_no_badge_when_nothing_waits(client, editor, org):
    client.force_login(editor)
    page = client.get(reverse("incidents:list", args=[org.slug])).content.decode()
    assert "Comments awaiting review" not in page
    assert f'href="{url("queue", org)}"' in page


# --- bans ----------------------------------------------------------------------------------------


def test_the_bans_list_and_lifting_a_ban(client, editor, org, owner):
    banned = UserFactory(email="spammer@spam.test")
    services.ban_user(org, banned, actor=Member.of(owner, org), reason="Link spam")
    client.force_login(editor)
    page = client.get(url("bans", org)).content.decode()
    assert "spammer@spam.test" in page and "Link spam" in page and "Until lifted" in page

    ban = Ban.objects.for_org(org).get()
    response = client.post(url("unban", org, ban.pk))
    assert response["Location"] == url("bans", org)
    assert not Ban.objects.exists()
    entry = AuditEntry.objects.for_org(org).first()
    assert (entry.action, entry.actor) == ("forum.unban", editor)


def test_an_ended_ban_is_shown_as_ended(client, editor, org, owner):
    banned = UserFactory()
    ban = services.ban_user(
        org, banned, actor=Member.of(owner, org), expires_at=timezone.now() + timedelta(days=1)
    )
    Ban.objects.filter(pk=ban.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    client.force_login(editor)
    assert "Ended" in client.get(url("bans", org)).content.decode()


def test_another_organizations_ban_is_404(client, editor, org, other_org, outsider):
    ban = services.ban_user(other_org, UserFactory(), actor=Member.of(outsider, other_org))
    client.force_login(editor)
    assert client.post(url("unban", org, ban.pk)).status_code == 404
    assert Ban.objects.filter(pk=ban.pk).exists()


# --- settings ------------------------------------------------------------------------------------


def test_an_admin_changes_the_forum_settings(client, admin, org):
    client.force_login(admin)
    response = client.post(
        url("settings", org),
        {
            "premoderation": "all",
            "who_may_comment": "domains",
            "allowed_domains": "Customer.test, partner.test",
            "blocked_domains": "spam.test",
            "auto_lock_days": "7",
            "flag_threshold": "2",
            "affected_alert_threshold": "25",
        },
    )
    assert response.status_code == 302
    saved = ForumSettings.objects.for_org(org).get()
    assert (saved.premoderation, saved.who_may_comment) == ("all", "domains")
    assert saved.allowed_domains == ["customer.test", "partner.test"]
    assert (saved.blocked_domains, saved.auto_lock_days, saved.flag_threshold) == (
        ["spam.test"], 7, 2,
    )  # fmt: skip
    assert saved.affected_alert_threshold == 25
    entry = AuditEntry.objects.for_org(org).first()
    assert entry.action == "forum.settings"
    assert entry.data["before"]["premoderation"] == "first_with_link"
    page = client.get(url("settings", org)).content.decode()
    assert "customer.test\npartner.test" in page


def test_settings_that_cannot_work_are_refused_with_a_message(client, admin, org):
    client.force_login(admin)
    data = {
        "premoderation": "off", "who_may_comment": "domains", "allowed_domains": "",
        "blocked_domains": "", "auto_lock_days": "14", "flag_threshold": "3",
        "affected_alert_threshold": "10",
    }  # fmt: skip
    response = client.post(url("settings", org), data)
    assert response.status_code == 400
    assert "List at least one email domain" in response.content.decode()
    response = client.post(
        url("settings", org),
        {**data, "who_may_comment": "signed_in", "blocked_domains": "not a domain"},
    )
    assert response.status_code == 400
    assert "is not an email domain" in response.content.decode()
    response = client.post(url("settings", org), {**data, "premoderation": "sometimes"})
    assert response.status_code == 400
    assert not ForumSettings.objects.exists()
    assert not AuditEntry.objects.exists()


def test_editors_read_the_settings_but_may_not_change_them(client, editor, org):
    client.force_login(editor)
    response = client.get(url("settings", org))
    assert response.status_code == 200
    assert "Owners and admins can change them." in response.content.decode()
    assert "Save settings" not in response.content.decode()
    assert client.post(url("settings", org), {"premoderation": "off"}).status_code == 403
    assert not ForumSettings.objects.exists()
