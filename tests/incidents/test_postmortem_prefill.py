"""Starting a postmortem: "How this affected you" arrives with the measured impact (duration,
each component's worst status and time out, subscribers notified, readers affected); the
acknowledgement is staff's own words, reminded but never required; no postmortem is started
on an unresolved incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory
import pytest
from django.urls import reverse

from apps.forum import services as forum
from apps.incidents import services
from apps.incidents.models import IncidentStatus, Postmortem
from apps.incidents.postmortem_facts import measured_impact
from apps.notifications.models import Delivery
from apps.organizations.models import AuditEntry
from apps.organizations.principals import Customer
from apps.status.models import ComponentStatusChange
from tests.factories import (
    ComponentFactory,
    ComponentGroupFactory,
    IncidentFactory,
    UserFactory,
    member,
)
from tests.notifications.factories import (
    DeliveryFactory,
    EmailSubscriberFactory,
    NotificationEventFactory,
)

pytestmark = pytest.mark.django_db
JSON = "application/json"
START = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # 11:00 in Amsterdam


class StatusChangeFactory(factory.django.DjangoModelFactory):
    """One row of a component's status history, at a chosen time."""

    class Meta:
        model = ComponentStatusChange

    organization = factory.SelfAttribute("component.organization")
    from_status = "operational"
    to_status = "operational"


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


@pytest.fixture
def incident(org):
    org.timezone = "Europe/Amsterdam"
    org.save(update_fields=["timezone"])
    return IncidentFactory(
        organization=org,
        name="API errors",
        status=IncidentStatus.RESOLVED,
        started_at=START,
        resolved_at=at(72),
    )


@pytest.fixture
def history(org, incident):
    """Five components with a known history around the incident (72 minutes long)."""
    europe = ComponentGroupFactory(organization=org, name="Europe")
    api = ComponentFactory(organization=org, name="API", group=europe, position=1)
    dashboard = ComponentFactory(organization=org, name="Dashboard", position=2)
    billing = ComponentFactory(organization=org, name="Billing", position=3)
    jobs = ComponentFactory(organization=org, name="Jobs", position=4)
    search = ComponentFactory(organization=org, name="Search", position=5)
    incident.components.add(api, dashboard, billing, jobs, search)
    # API: major outage for 30 minutes, then partial for 15: 45 minutes of outage.
    StatusChangeFactory(component=api, changed_at=at(0), to_status="major_outage",
                        incident=incident)  # fmt: skip
    StatusChangeFactory(component=api, changed_at=at(30), from_status="major_outage",
                        to_status="partial_outage", incident=incident)  # fmt: skip
    StatusChangeFactory(component=api, changed_at=at(45), from_status="partial_outage",
                        incident=incident)  # fmt: skip
    StatusChangeFactory(component=api, changed_at=at(200), to_status="major_outage")  # later
    # Dashboard: slow for 20 minutes.
    StatusChangeFactory(component=dashboard, changed_at=at(5), to_status="degraded_performance")
    StatusChangeFactory(component=dashboard, changed_at=at(25), from_status="degraded_performance")
    # Billing: already partly out an hour before the incident; back after 10 minutes of it.
    StatusChangeFactory(component=billing, changed_at=at(-60), to_status="partial_outage")
    StatusChangeFactory(component=billing, changed_at=at(10), from_status="partial_outage")
    # Jobs: slow since before the incident and throughout it.
    StatusChangeFactory(component=jobs, changed_at=at(-10), to_status="degraded_performance")
    # Search: named by the incident, its status never changed.
    return {"api": api, "dashboard": dashboard, "search": search}


@pytest.fixture
def ledger(org, incident, history):
    """Three subscribers sent something about the incident (one of them twice, one through a
    component change made by its update); failures and other incidents do not count."""
    first, second, third, fourth = EmailSubscriberFactory.create_batch(4, organization=org)
    opened = NotificationEventFactory(organization=org, incident=incident)
    resolved = NotificationEventFactory(organization=org, incident=incident)
    change = NotificationEventFactory(organization=org, incident=incident, component=history["api"])
    DeliveryFactory(event=opened, subscriber=first)
    DeliveryFactory(event=resolved, subscriber=first)
    DeliveryFactory(event=resolved, subscriber=second)
    DeliveryFactory(event=change, subscriber=third)
    DeliveryFactory(event=opened, subscriber=fourth, status=Delivery.Status.FAILED)
    other = NotificationEventFactory(organization=org, incident=IncidentFactory(organization=org))
    DeliveryFactory(event=other, subscriber=fourth)


@pytest.fixture
def affected(org, incident, history):
    for component in [history["api"], history["api"], None]:
        forum.mark_affected(incident, actor=Customer(UserFactory(), org), component=component)


MEASURED = (
    "The incident lasted 1 hour 12 minutes, from Dec 3, 11:00 to 12:12 (CET).\n\n"
    "Europe - API had a major outage at its worst, with 45 minutes of outage in all. "
    "Dashboard was slower than usual (degraded performance) for 20 minutes. "
    "Billing had a partial outage at its worst, with 10 minutes of outage in all. "
    "Jobs was slower than usual (degraded performance) for 1 hour 12 minutes. "
    "Search was affected, with no change of its status recorded.\n\n"
    "We sent notifications about it to 3 subscribers by email, webhook or Slack. "
    "3 people told us they were affected (API: 2)."
)


def test_the_measured_impact_reads_as_plain_sentences(incident, history, ledger, affected):
    assert measured_impact(incident) == MEASURED


def test_another_organizations_history_and_ledger_are_not_counted(
    org, other_org, incident, history, ledger
):
    theirs = ComponentFactory(organization=other_org, name="API")
    StatusChangeFactory(component=theirs, changed_at=at(1), to_status="major_outage")
    event = NotificationEventFactory(organization=other_org, incident=incident)
    DeliveryFactory(event=event, subscriber=EmailSubscriberFactory(organization=other_org))
    assert "to 3 subscribers" in measured_impact(incident)
    assert "Europe - API had a major outage" in measured_impact(incident)


def test_nothing_sent_and_nobody_marked_reads_plainly(incident):
    assert measured_impact(incident) == (
        "The incident lasted 1 hour 12 minutes, from Dec 3, 11:00 to 12:12 (CET).\n\n"
        "No subscriber was sent a notification about it."
    )


def test_an_incident_over_midnight_names_both_days(org):
    incident = IncidentFactory(
        organization=org, status="resolved", started_at=datetime(2026, 12, 3, 23, 40, tzinfo=UTC),
        resolved_at=datetime(2026, 12, 4, 1, 10, tzinfo=UTC),
    )  # fmt: skip
    assert measured_impact(incident).startswith(
        "The incident lasted 1 hour 30 minutes, from Dec 3, 23:40 to Dec 4, 01:10 (UTC)."
    )


def test_starting_a_postmortem_in_the_dashboard_prefills_how_this_affected_you(
    client, editor, org, incident, history, ledger, affected
):
    client.force_login(editor)
    url = reverse("incidents:postmortem", args=[org.slug, incident.public_id])
    response = client.post(url, {"summary": "The API failed.", "customer_impact": ""})
    assert response.status_code == 302
    postmortem = Postmortem.objects.get(incident=incident)
    assert postmortem.customer_impact == MEASURED
    assert postmortem.acknowledgement == ""
    page = client.get(url).content.decode()
    assert "How this affected you" in page
    assert "<legend>In our own words</legend>" in page
    assert "Not written yet. You can save and publish without it" in page
    assert "Reminder: “In our own words” is empty. Publishing still works." in page


def test_the_service_prefills_too_and_never_replaces_what_staff_wrote(incident, history, editor):
    postmortem = services.save_postmortem(
        incident, actor=member(editor), summary="x", customer_impact="Everyone in Europe."
    )
    assert postmortem.customer_impact == "Everyone in Europe."
    services.save_postmortem(incident, actor=member(editor), acknowledgement="We are sorry.")
    postmortem.refresh_from_db()
    assert postmortem.customer_impact == "Everyone in Europe."
    assert postmortem.acknowledgement == "We are sorry."


def test_the_acknowledgement_is_a_section_of_its_own_on_the_public_page(
    client, org, incident, editor
):
    services.save_postmortem(
        incident, actor=member(editor), summary="The API failed.",
        acknowledgement="We know you rely on us at checkout. We are sorry.",
    )  # fmt: skip
    services.publish_postmortem(incident, actor=member(editor))
    page = client.get(f"/s/{org.slug}/incidents/{incident.public_id}/").content.decode()
    section = page.split('id="postmortem-heading"')[1]
    assert "In our own words</h3>" in section
    assert "We know you rely on us at checkout. We are sorry." in section
    assert section.index("How this affected you") < section.index("In our own words")


def test_publishing_without_the_acknowledgement_is_never_blocked(client, editor, org, incident):
    client.force_login(editor)
    services.save_postmortem(incident, actor=member(editor), summary="The API failed.")
    response = client.post(
        reverse("incidents:postmortem_publish", args=[org.slug, incident.public_id]),
        {"notify": "on"},
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.POSTMORTEM


def test_a_postmortem_on_an_unresolved_incident_is_refused_and_nothing_is_written(
    client, editor, org
):
    incident = IncidentFactory(organization=org, status="monitoring")
    client.force_login(editor)
    url = reverse("incidents:postmortem", args=[org.slug, incident.public_id])
    page = client.get(url).content.decode()
    assert "Not yet: the incident is still monitoring" in page
    assert 'name="summary"' not in page
    response = client.post(url, {"summary": "Too early."})
    assert response.status_code == 400
    assert "Resolve the incident before starting its postmortem" in response.content.decode()
    added = client.post(
        reverse("incidents:action_item_add", args=[org.slug, incident.public_id]),
        {"title": "Add an alert", "status": "planned"},
    )
    assert added.status_code == 400
    assert "Resolve the incident before starting its postmortem" in added.content.decode()
    assert not Postmortem.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="postmortem").exists()


def test_the_api_refuses_it_with_a_400_saying_why(api, api_key, org):
    incident = IncidentFactory(organization=org, status="identified")
    response = api(api_key).put(
        f"/api/v1/incidents/{incident.public_id}/postmortem/",
        {"summary": "Too early."},
        content_type=JSON,
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Resolve the incident before starting its postmortem: what happened, and "
        "how long it lasted, is only known once it is over."
    }
    assert not Postmortem.objects.exists()


def test_the_api_writes_and_returns_the_acknowledgement(api, api_key, incident):
    url = f"/api/v1/incidents/{incident.public_id}/postmortem/"
    created = api(api_key).put(url, {"summary": "The API failed."}, content_type=JSON)
    assert created.status_code == 201
    assert created.json()["customer_impact"].startswith("The incident lasted 1 hour 12 minutes")
    assert created.json()["acknowledgement"] == ""
    changed = api(api_key).patch(url, {"acknowledgement": "We are sorry."}, content_type=JSON)
    assert changed.json()["acknowledgement"] == "We are sorry."
    assert changed.json()["customer_impact"].startswith("The incident lasted")
