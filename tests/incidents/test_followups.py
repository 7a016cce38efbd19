"""The incidents page lists what staff still owe readers: resolved incidents without a
published postmortem after the organization's number of days, and action items past their
target date. The number of days is a setting (1 to 60); action items of another
organization's incident are a 404."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.incidents import services
from apps.incidents.followups import follow_ups
from apps.incidents.models import ActionItem, FollowUpSettings, Postmortem
from apps.notifications.models import NotificationEvent
from apps.organizations.models import AuditEntry, Organization
from tests.factories import IncidentFactory, MaintenanceFactory, member

from .factories import ActionItemFactory, PostmortemFactory

pytestmark = pytest.mark.django_db
Status = ActionItem.Status


def resolved(org, name: str, days_ago: float):
    return IncidentFactory(
        organization=org,
        name=name,
        status="resolved",
        resolved_at=timezone.now() - timedelta(days=days_ago),
    )


def list_page(client, org) -> str:
    return client.get(reverse("incidents:list", args=[org.slug])).content.decode()


def follow_ups_section(client, org) -> str:
    return list_page(client, org).split('id="follow-ups"')[1].split('id="past-heading"')[0]


@pytest.fixture
def waiting(org, other_org):
    """What is listed with the default of 5 days, and what is not."""
    listed = resolved(org, "Sign-in failures", 6)
    drafted = resolved(org, "Slow search", 8)
    PostmortemFactory(incident=drafted)
    resolved(org, "Too recent", 2)
    resolved(org, "Long ago", 36)  # due 31 days ago: listed for 30 days only
    PostmortemFactory(incident=resolved(org, "Written up", 9), published=True)
    MaintenanceFactory(organization=org, status="completed",
                       resolved_at=timezone.now() - timedelta(days=9))  # fmt: skip
    resolved(other_org, "Someone else's", 9)
    return listed, drafted


def test_resolved_incidents_without_a_postmortem_are_listed_after_five_days(
    client, viewer, org, waiting
):
    listed, _drafted = waiting
    result = follow_ups(org)
    assert [i.name for i in result.without_postmortem] == ["Sign-in failures", "Slow search"]
    client.force_login(viewer)
    page = follow_ups_section(client, org)
    assert "Resolved 5 days ago or more, still without a published postmortem" in page
    assert reverse("incidents:postmortem", args=[org.slug, listed.public_id]) in page
    assert "8 days ago · draft started" in page
    for hidden in ("Too recent", "Long ago", "Written up", "Someone else"):
        assert hidden not in page
    # Viewers read the list; changing the number of days is for admins.
    assert reverse("incidents:follow_up_settings", args=[org.slug]) not in page


@pytest.fixture
def late_items(org, other_org):
    today = timezone.localdate(timezone=org.tzinfo)
    postmortem = PostmortemFactory(incident=resolved(org, "Outage", 20), published=True)
    ActionItemFactory(postmortem=postmortem, title="Late and planned",
                      due_date=today - timedelta(days=3))  # fmt: skip
    ActionItemFactory(postmortem=postmortem, title="Late, in progress", status=Status.IN_PROGRESS,
                      due_date=today - timedelta(days=1))  # fmt: skip
    ActionItemFactory(postmortem=postmortem, title="Done after its date", status=Status.DONE,
                      due_date=today - timedelta(days=3))  # fmt: skip
    ActionItemFactory(postmortem=postmortem, title="Due today", due_date=today)
    ActionItemFactory(postmortem=postmortem, title="No date")
    ActionItemFactory(postmortem=PostmortemFactory(incident__organization=other_org),
                      title="Theirs", due_date=today - timedelta(days=3))  # fmt: skip
    return postmortem


def test_action_items_past_their_target_date_are_listed(client, editor, org, late_items):
    assert [item.title for item in follow_ups(org).overdue_items] == [
        "Late and planned",
        "Late, in progress",
    ]
    client.force_login(editor)
    page = follow_ups_section(client, org)
    assert "Action items past their target date" in page
    assert "planned, due" in page and "(3 days late) · Outage" in page
    assert "in progress, due" in page and "(1 day late)" in page
    for hidden in ("Done after its date", "Due today", "No date", "Theirs"):
        assert hidden not in page
    postmortem_page = client.get(
        reverse("incidents:postmortem", args=[org.slug, late_items.incident.public_id])
    ).content.decode()
    assert postmortem_page.count("past its target date") == 2


def test_nothing_to_follow_up_says_so(client, owner, org):
    client.force_login(owner)
    page = list_page(client, org)
    assert "Nothing to follow up" in page
    assert reverse("incidents:follow_up_settings", args=[org.slug]) in page


def test_the_follow_ups_cost_the_same_queries_however_many_there_are(org):
    for n in range(2):
        resolved(org, f"Outage {n}", 6)
    with CaptureQueriesContext(connection) as few:
        follow_ups(org)
    for n in range(25):
        postmortem = PostmortemFactory(incident=resolved(org, f"More {n}", 6))
        ActionItemFactory(postmortem=postmortem, due_date=timezone.localdate() - timedelta(days=2))
    with CaptureQueriesContext(connection) as many:
        result = follow_ups(org)
    # Two more: counting the rows past the ten shown.
    assert len(many.captured_queries) == len(few.captured_queries) + 2
    assert (result.more_without_postmortem, result.more_overdue_items) == (17, 15)


def test_the_page_says_how_many_more_there_are(client, editor, org):
    for n in range(12):
        resolved(org, f"Outage {n}", 6)
    client.force_login(editor)
    section = follow_ups_section(client, org)
    assert "And 2 more. Each incident is listed for 30 days once its postmortem is due." in section


# --- the setting -----------------------------------------------------------------------------


def settings_url(org) -> str:
    return reverse("incidents:follow_up_settings", args=[org.slug])


def test_an_admin_changes_the_number_of_days(client, admin, org, waiting):
    client.force_login(admin)
    assert 'value="5"' in client.get(settings_url(org)).content.decode()
    response = client.post(settings_url(org), {"postmortem_due_days": "7"})
    assert response.status_code == 302
    assert FollowUpSettings.objects.get(organization=org).postmortem_due_days == 7
    # Due after 7 days now, and listed for 30 more: 36 days ago is back in, 6 is not yet.
    assert [i.name for i in follow_ups(org).without_postmortem] == ["Slow search", "Long ago"]
    entry = AuditEntry.objects.get(action="incidents.follow_ups.edit")
    assert entry.data == {"postmortem_due_days": [5, 7]}
    assert "Resolved 7 days ago or more" in list_page(client, org)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "Choose at least 1 day: a postmortem takes time to write."),
        ("-3", "Choose at least 1 day: a postmortem takes time to write."),
        ("400", "Choose at most 60 days: later than that, readers have moved on."),
        ("1e9", "Enter a whole number of days."),
        ("", "Enter a number of days."),
    ],
)
def test_zero_or_absurd_values_are_refused_and_nothing_is_written(
    client, owner, org, value, message
):
    client.force_login(owner)
    response = client.post(settings_url(org), {"postmortem_due_days": value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not FollowUpSettings.objects.exists()
    assert not AuditEntry.objects.exists()


def test_the_service_refuses_bad_values_and_members_below_admin(org, owner, editor):
    for days in (0, 61, True, "5"):
        with pytest.raises(ValidationError, match="from 1 to 60"):
            services.set_postmortem_due_days(org, actor=member(owner), days=days)
    with pytest.raises(PermissionDenied):
        services.set_postmortem_due_days(org, actor=member(editor), days=3)
    assert not FollowUpSettings.objects.exists()


def test_editors_and_viewers_cannot_change_it(client, editor, viewer, org):
    for user in (editor, viewer):
        client.force_login(user)
        assert client.post(settings_url(org), {"postmortem_due_days": "3"}).status_code == 403
    assert not FollowUpSettings.objects.exists()


# --- another organization's action items -----------------------------------------------------


@pytest.fixture
def theirs(other_org):
    postmortem = PostmortemFactory(incident__organization=other_org, published=True)
    return ActionItemFactory(postmortem=postmortem, title="Their item")


def item_urls(org, incident_id: str, item_id: str) -> list[str]:
    return [
        reverse(f"incidents:{name}", args=[org.slug, incident_id, item_id])
        for name in ("action_item_edit", "action_item_status", "action_item_move",
                     "action_item_delete")
    ]  # fmt: skip


def test_action_items_of_another_organizations_incident_are_a_404(client, editor, org, theirs):
    client.force_login(editor)
    # Their incident under our organization's URL, and their item under one of our incidents.
    ours = PostmortemFactory(incident=resolved(org, "Ours", 1))
    urls = item_urls(org, theirs.postmortem.incident.public_id, theirs.public_id)
    urls += item_urls(org, ours.incident.public_id, theirs.public_id)
    urls.append(
        reverse("incidents:action_item_add", args=[org.slug, theirs.postmortem.incident.public_id])
    )
    for url in urls:
        assert client.post(url, {"status": "done", "title": "x"}).status_code == 404, url
    theirs.refresh_from_db()
    assert theirs.status == Status.PLANNED
    assert ActionItem.objects.count() == 1


def test_the_api_gives_the_same_404(api, api_key, theirs):
    base = f"/api/v1/incidents/{theirs.postmortem.incident.public_id}/postmortem/action-items/"
    client = api(api_key)
    assert client.get(base).status_code == 404
    assert client.patch(f"{base}{theirs.public_id}/", {"status": "done"},
                        content_type="application/json").status_code == 404  # fmt: skip
    theirs.refresh_from_db()
    assert theirs.status == Status.PLANNED


def test_the_demo_shows_the_follow_through(client, db):
    call_command("demo", "--incidents", "12", "--history-days", "20", stdout=StringIO())
    demo = Organization.objects.get(slug="demo")
    outage = Postmortem.objects.for_org(demo).get(incident__name="Service unavailable")
    assert outage.acknowledgement.startswith("We know that many of you could not work")
    draft = Postmortem.objects.for_org(demo).get(published_at__isnull=True)
    assert draft.customer_impact.startswith("The incident lasted ")
    assert [item.title for item in follow_ups(demo).overdue_items] == [
        "Tell provider outages apart from our own in our alerts"
    ]
    kept = NotificationEvent.objects.for_org(demo).filter(kind="incident.promise_kept")
    assert list(kept.values_list("deliver", flat=True)) == [False]  # the demo notifies nobody
