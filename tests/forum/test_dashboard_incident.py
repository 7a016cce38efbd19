"""The forum on other dashboard pages: the incident's comment and affected counts, the
postmortem's customer-impact section pre-filled with the affected figure, and moderation in the
audit log."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.forum import services
from apps.incidents import services as incident_services
from apps.incidents.models import Postmortem
from apps.organizations.principals import Customer
from tests.factories import ComponentFactory, MaintenanceFactory, UserFactory

from .factories import CommentFactory, ThreadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(org):
    return ComponentFactory(organization=org, name="API")


@pytest.fixture
def dashboard(org):
    return ComponentFactory(organization=org, name="Dashboard")


@pytest.fixture
def affected(org, incident, api, dashboard):
    """Six people affected: three name the API, two the Dashboard, one no component."""
    incident.components.add(api, dashboard)
    for component in [api, api, api, dashboard, dashboard, None]:
        services.mark_affected(incident, actor=Customer(UserFactory(), org), component=component)


def test_the_incident_page_shows_comment_and_affected_counts_and_links_the_discussion(
    client, editor, org, incident, affected
):
    thread = services.get_or_create_thread(incident)  # marking affected made it already
    CommentFactory.create_batch(2, thread=thread)
    CommentFactory(thread=thread, status="pending")
    client.force_login(editor)
    page = client.get(reverse("incidents:detail", args=[org.slug, incident.public_id]))
    text = " ".join(page.content.decode().split())
    assert "<strong>2</strong> public comments, <strong>1</strong> awaiting review." in text
    assert "<strong>6</strong> people told us they were affected (API: 3, Dashboard: 2)." in text
    assert reverse("forum:discussion", args=[org.slug, incident.public_id]) in text


def test_an_incident_without_a_discussion_says_so_plainly(client, viewer, org, incident):
    client.force_login(viewer)
    page = client.get(reverse("incidents:detail", args=[org.slug, incident.public_id]))
    text = " ".join(page.content.decode().split())
    assert "<strong>0</strong> public comments." in text
    assert "<strong>0</strong> people told us they were affected." in text


def test_the_discussion_page_shows_the_affected_figures(client, editor, org, incident, affected):
    client.force_login(editor)
    page = client.get(reverse("forum:discussion", args=[org.slug, incident.public_id]))
    assert "6 people (API: 3, Dashboard: 2)" in page.content.decode()


# --- the postmortem ------------------------------------------------------------------------------


def postmortem_url(org, incident):
    return reverse("incidents:postmortem", args=[org.slug, incident.public_id])


@pytest.fixture
def resolved(incident, as_editor):
    """The incident, resolved: a postmortem is started once it is over."""
    incident_services.resolve_incident(incident, actor=as_editor)
    incident.refresh_from_db()
    return incident


def test_starting_a_postmortem_prefills_the_customer_impact_with_the_affected_figure(
    client, editor, org, resolved, affected
):
    client.force_login(editor)
    response = client.post(
        postmortem_url(org, resolved),
        {"summary": "The API failed in eu-west.", "customer_impact": ""},
    )
    assert response.status_code == 302
    postmortem = Postmortem.objects.get(incident=resolved)
    # After the measured facts (apps/incidents/postmortem_facts.py), what readers told us.
    assert postmortem.customer_impact.endswith(
        "6 people told us they were affected (API: 3, Dashboard: 2)."
    )
    page = client.get(postmortem_url(org, resolved)).content.decode()
    assert "6 people told us they were affected (API: 3, Dashboard: 2)." in page


def test_text_staff_wrote_is_never_overwritten(client, editor, org, resolved, affected):
    client.force_login(editor)
    client.post(
        postmortem_url(org, resolved),
        {"summary": "The API failed.", "customer_impact": "Every EU customer, for an hour."},
    )
    assert Postmortem.objects.get().customer_impact == "Every EU customer, for an hour."
    # Emptied later by staff: it stays empty (only a new postmortem is pre-filled).
    client.post(
        postmortem_url(org, resolved), {"summary": "The API failed.", "customer_impact": ""}
    )
    assert Postmortem.objects.get().customer_impact == ""


def test_no_figure_when_nobody_marked_themselves_affected(client, editor, org, resolved):
    client.force_login(editor)
    client.post(postmortem_url(org, resolved), {"summary": "A blip."})
    assert "told us they were affected" not in Postmortem.objects.get().customer_impact


def test_one_person_reads_naturally(org, resolved, as_editor):
    services.mark_affected(resolved, actor=Customer(UserFactory(), org))
    postmortem = incident_services.save_postmortem(resolved, actor=as_editor, summary="A blip.")
    assert postmortem.customer_impact.endswith(" 1 person told us they were affected.")


# --- the audit log -------------------------------------------------------------------------------


def test_moderation_reads_plainly_in_the_audit_log(client, owner, editor, org, incident, as_editor):
    comment = CommentFactory(thread=ThreadFactory(incident=incident), body_source="Buy watches")
    services.hide_comment(comment, actor=as_editor, reason="Spam")
    services.lock_thread(comment.thread, actor=as_editor)
    client.force_login(owner)
    page = client.get(reverse("organizations:audit", args=[org.slug])).content.decode()
    assert "forum.comment.hide" in page and editor.email in page
    assert "Reason: Spam" in page
    assert "status: visible → hidden" in page
    assert "hidden reason: — → Spam" in page
    assert "locked: no → yes" in page
    # The comment and the discussion are links into the dashboard.
    assert reverse("forum:comment", args=[org.slug, comment.public_id]) in page
    assert reverse("forum:thread", args=[org.slug, comment.thread.public_id]) in page


def test_a_maintenance_page_links_its_discussion(client, editor, org):
    maintenance = MaintenanceFactory(organization=org)
    client.force_login(editor)
    page = client.get(
        reverse("incidents:maintenance_detail", args=[org.slug, maintenance.public_id])
    )
    text = " ".join(page.content.decode().split())
    assert "<strong>0</strong> public comments." in text
    assert "affected" not in text.split("Discussion</h2>")[1].split("</section>")[0]
    assert reverse("forum:maintenance_discussion", args=[org.slug, maintenance.public_id]) in text


def test_a_ban_reads_plainly_in_the_audit_log(client, owner, org, as_editor):
    services.ban_user(org, UserFactory(email="spam@spam.test"), actor=as_editor, reason="Links")
    client.force_login(owner)
    page = client.get(reverse("organizations:audit", args=[org.slug])).content.decode()
    assert "Forum ban" in page and "Reason: Links" in page
    assert "banned: no → yes" in page and "user: — → spam@spam.test" in page
