from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from apps.accounts.models import User
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
    }


def test_demo_builds_an_organization_with_realistic_content(db):
    output = run_demo()
    demo = Organization.objects.get(slug="demo")
    assert Component.objects.for_org(demo).count() == 50
    # 12 past incidents, one in progress, one upcoming maintenance
    assert Incident.objects.for_org(demo).incidents().count() == 13
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

    assert len(addresses) == 6  # three users, three subscribers
    assert all(address.endswith("@example.test") for address in addresses)
