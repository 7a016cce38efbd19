from __future__ import annotations

from datetime import timedelta
from io import StringIO

from django.core.management import call_command

from apps.accounts.models import User
from apps.demo.scorecard import WEEKS as SCORECARD_WEEKS
from apps.forum.models import AffectedMark, Comment
from apps.forum.services import read_thread
from apps.incidents.models import ActionItem, Incident, Postmortem
from apps.integrations.models import AlertIntegration
from apps.notifications.models import Subscriber
from apps.organizations.models import Membership, Organization
from apps.status.models import Component, ComponentStatusChange, UptimeDay


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", "--incidents", "12", "--history-days", "20", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "components": Component.objects.count(),
        "incidents": Incident.objects.count(),
        "history": ComponentStatusChange.objects.count(),
        "uptime_days": UptimeDay.objects.count(),
        "members": Membership.objects.count(),
        "comments": Comment.objects.count(),
        "affected": AffectedMark.objects.count(),
        "users": User.objects.count(),
    }


def test_demo_builds_an_organization_with_realistic_content(db):
    output = run_demo()
    demo = Organization.objects.get(slug="demo")
    assert Component.objects.for_org(demo).count() == 50
    # 12 past incidents, one in progress, one upcoming maintenance, and the scorecard's weekly
    # incidents (apps/demo/scorecard.py)
    assert Incident.objects.for_org(demo).incidents().count() == 13 + SCORECARD_WEEKS
    assert Incident.objects.for_org(demo).unresolved().count() == 1
    assert Incident.objects.for_org(demo).maintenances().count() == 1
    assert UptimeDay.objects.for_org(demo).count() >= 50 * 20
    assert Subscriber.objects.for_org(demo).filter(confirmed_at__isnull=False).count() == 3
    assert AlertIntegration.objects.for_org(demo).count() == 1
    # The latest outage (and sign-in incident, when the 12 include one) carry published
    # postmortems with action items.
    postmortems = Postmortem.objects.for_org(demo).filter(published_at__isnull=False)
    assert postmortems.filter(incident__name="Service unavailable").count() == 1
    assert Incident.objects.for_org(demo).filter(status="postmortem").count() == postmortems.count()
    assert ActionItem.objects.for_org(demo).count() >= 3
    assert "/s/demo/" in output
    assert "demo@example.test / candor-demo" in output


def test_demo_is_idempotent(db):
    run_demo()
    before = counts()
    output = run_demo()
    assert counts() == before
    assert "/s/demo/" in output


def test_demo_login_works_and_the_page_shows_the_incident(client, db):
    run_demo()
    assert client.login(email="demo@example.test", password="candor-demo")
    assert client.get("/dashboard/demo/").status_code == 200
    page = client.get("/s/demo/")
    assert page.status_code == 200
    assert "Slow API responses in Europe" in page.content.decode()


def test_demo_reset_rebuilds_from_scratch(db):
    run_demo()
    first_id = Organization.objects.get(slug="demo").public_id
    run_demo("--reset")
    assert Organization.objects.get(slug="demo").public_id != first_id
    assert Component.objects.count() == 50


def test_every_address_the_demo_creates_is_clearly_fake(db):
    run_demo()
    addresses = [*User.objects.values_list("email", flat=True)]
    addresses += Subscriber.objects.exclude(email="").values_list("email", flat=True)

    # Three members, ten commenting customers, twenty readers marked affected, three subscribers.
    assert len(addresses) == 36
    assert all(address.endswith("@example.test") for address in addresses)


def test_the_incident_in_progress_has_a_lively_discussion(client, db):
    run_demo()
    demo = Organization.objects.get(slug="demo")
    incident = Incident.objects.for_org(demo).unresolved().get()
    comments = Comment.objects.for_org(demo).filter(thread__incident=incident)

    # Questions from several customers, named after their companies, and staff answers.
    customers = comments.filter(is_staff=False).values_list("author_name", flat=True)
    assert "Priya (Acme Retail)" in customers
    assert len(set(customers)) >= 8
    staff = comments.filter(is_staff=True)
    assert staff.count() >= 3
    assert set(staff.values_list("author__email", flat=True)) <= {
        "demo@example.test",
        "editor@example.test",
    }
    # One staff reply is the answer to its question; one staff comment is pinned.
    answer = comments.get(is_answer=True)
    assert answer.is_staff and answer.depth == 1 and not answer.root.is_staff
    assert comments.get(pinned=True).is_staff
    # Replies two levels deep, one comment hidden with a public reason, one in the queue.
    assert comments.filter(depth=2).count() >= 2
    hidden = comments.get(status="hidden")
    assert hidden.hidden_reason.startswith("Off-topic here")
    assert comments.filter(status="pending").count() == 1
    # Written over the incident's duration, not in the second the command ran.
    times = sorted(comments.values_list("created_at", flat=True))
    assert incident.started_at < times[0] and times[-1] - times[0] > timedelta(minutes=45)
    # 20 to 40 people marked themselves affected, across the incident's components.
    marks = AffectedMark.objects.for_org(demo).filter(incident=incident)
    assert 20 <= marks.count() <= 40
    assert marks.values("component").distinct().count() == 3  # API, Dublin, none named

    thread = read_thread(incident)
    assert thread.comment_count == comments.filter(status="visible").count() >= 10
    assert thread.affected_count == marks.count()
    # A newcomer sees it at once: the status page shows the counts, linked to the discussion.
    page = client.get("/s/demo/").content.decode()
    counts = f"{thread.comment_count} comments · {marks.count()} affected"
    assert f'href="/s/demo/incidents/{incident.public_id}/#discussion">{counts}' in page
