"""Dashboard: writing, publishing and following up a postmortem."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.incidents import services
from apps.incidents.models import ActionItem, IncidentStatus, Postmortem
from apps.notifications.models import NotificationEvent
from tests.factories import IncidentFactory, member

from .factories import ActionItemFactory, PostmortemFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "action-items"}


def url(name: str, *args) -> str:
    return reverse(f"incidents:{name}", args=["acme", *args])


@pytest.fixture
def resolved(org):
    return IncidentFactory(organization=org, name="Sign-in failures", status="resolved")


@pytest.fixture
def draft(resolved):
    return PostmortemFactory(incident=resolved)


def test_a_resolved_incident_offers_to_write_a_postmortem(client, editor, resolved):
    client.force_login(editor)
    body = client.get(url("detail", resolved.public_id)).content.decode()
    assert "Write postmortem" in body
    assert url("postmortem", resolved.public_id) in body


def test_it_works_write_a_draft(client, editor, resolved):
    client.force_login(editor)
    page = client.get(url("postmortem", resolved.public_id))
    assert page.status_code == 200
    assert "What happened" in page.content.decode()
    response = client.post(
        url("postmortem", resolved.public_id),
        {"summary": "Sign-in failed for 45 minutes.", "customer_impact": "Everyone.",
         "cause": "", "resolution": "We rolled back."},
    )  # fmt: skip
    assert response.status_code == 302
    postmortem = Postmortem.objects.get(incident=resolved)
    assert postmortem.summary == "Sign-in failed for 45 minutes."
    assert postmortem.published_at is None
    followed = client.get(response["Location"]).content.decode()
    assert "Draft saved" in followed
    assert "Publish postmortem" in followed


def test_preview_shows_the_sections_escaped_and_saves_nothing(client, editor, resolved):
    client.force_login(editor)
    data = {"summary": "<b>Down</b>\n\nSecond paragraph.", "preview": "1"}
    full = client.post(url("postmortem", resolved.public_id), data).content.decode()
    panel = client.post(url("postmortem", resolved.public_id), data, HTTP_HX_REQUEST="true")
    assert "&lt;b&gt;Down&lt;/b&gt;" in full
    assert "<p>Second paragraph.</p>" in full
    assert panel.content.decode().lstrip().startswith('<div id="pm-preview-panel"')
    assert Postmortem.objects.count() == 0


def test_action_items_add_mark_done_move_and_delete_without_javascript(client, editor, draft):
    client.force_login(editor)
    incident_id = draft.incident.public_id
    for title in ("Test sign-in changes on one server first", "Alert on sign-in errors"):
        response = client.post(
            url("action_item_add", incident_id), {"title": title, "status": "planned"}
        )
        assert response.status_code == 302
        assert response["Location"].endswith("/postmortem/#action-items")
    first, second = draft.action_items.all()
    client.post(url("action_item_status", incident_id, first.public_id), {"status": "done"})
    client.post(url("action_item_move", incident_id, second.public_id), {"direction": "up"})
    first.refresh_from_db()
    assert first.status == ActionItem.Status.DONE
    assert first.completed_at is not None
    assert [i.title for i in draft.action_items.all()] == [second.title, first.title]
    client.post(url("action_item_delete", incident_id, first.public_id))
    assert list(draft.action_items.all()) == [second]


def test_action_item_buttons_answer_htmx_with_the_list_only(client, editor, draft):
    client.force_login(editor)
    response = client.post(
        url("action_item_add", draft.incident.public_id),
        {"title": "Alert on sign-in errors", "status": "in_progress"}, **HTMX,
    )  # fmt: skip
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section class="card pm-items" id="action-items"')
    assert "Alert on sign-in errors" in body and "In progress" in body


def test_an_action_item_without_a_title_is_refused(client, editor, draft):
    client.force_login(editor)
    response = client.post(url("action_item_add", draft.incident.public_id), {"title": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert ActionItem.objects.count() == 0


def test_adding_an_action_item_first_starts_the_draft(client, editor, resolved):
    client.force_login(editor)
    client.post(url("action_item_add", resolved.public_id), {"title": "Alert", "status": "planned"})
    assert Postmortem.objects.get(incident=resolved).action_items.count() == 1


def test_edit_an_action_item(client, editor, draft):
    item = ActionItemFactory(postmortem=draft, title="Old")
    client.force_login(editor)
    edit = url("action_item_edit", draft.incident.public_id, item.public_id)
    assert client.get(edit).status_code == 200
    response = client.post(
        edit, {"title": "New", "description": "Why.", "status": "done", "due_date": "2030-01-31"}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.title, item.description, str(item.due_date)) == ("New", "Why.", "2030-01-31")
    assert item.completed_at is not None


def test_publish_with_notification_then_unpublish(client, editor, draft):
    client.force_login(editor)
    incident = draft.incident
    response = client.post(url("postmortem_publish", incident.public_id), {"notify": "on"})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.POSTMORTEM
    assert NotificationEvent.objects.filter(kind="incident.postmortem_published").count() == 1
    page = client.get(url("postmortem", incident.public_id)).content.decode()
    assert "Postmortem published on your status page and sent to subscribers." in page
    assert "Unpublish" in page
    detail = client.get(url("detail", incident.public_id)).content.decode()
    assert "This incident is resolved and its postmortem is published." in detail
    client.post(url("postmortem_unpublish", incident.public_id))
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED


def test_publishing_without_the_checkbox_notifies_nobody(client, editor, draft):
    client.force_login(editor)
    client.post(url("postmortem_publish", draft.incident.public_id))
    draft.refresh_from_db()
    assert draft.published_at is not None
    assert not NotificationEvent.objects.filter(
        kind="incident.postmortem_published", deliver=True
    ).exists()


def test_publishing_before_the_incident_is_resolved_explains_why_not(client, editor, org):
    incident = IncidentFactory(organization=org, status="monitoring")
    PostmortemFactory(incident=incident)
    client.force_login(editor)
    response = client.post(url("postmortem_publish", incident.public_id), follow=True)
    assert "Resolve the incident before publishing its postmortem." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.MONITORING


def test_delete_a_draft(client, editor, draft):
    client.force_login(editor)
    delete = url("postmortem_delete", draft.incident.public_id)
    assert client.get(delete).status_code == 200
    response = client.post(delete)
    assert response.status_code == 302
    assert Postmortem.objects.count() == 0


def test_viewer_reads_without_forms_and_cannot_write(client, viewer, draft):
    ActionItemFactory(postmortem=draft, title="Alert on sign-in errors")
    client.force_login(viewer)
    incident_id = draft.incident.public_id
    page = client.get(url("postmortem", incident_id)).content.decode()
    assert draft.summary in page
    assert "Alert on sign-in errors" in page
    assert "Save draft" not in page and "Add action item" not in page
    assert client.post(url("postmortem", incident_id), {"summary": "x"}).status_code == 403
    assert client.post(url("postmortem_publish", incident_id)).status_code == 403
    assert client.post(url("action_item_add", incident_id), {"title": "x"}).status_code == 403
    draft.refresh_from_db()
    assert draft.published_at is None


def test_outsider_gets_404(client, outsider, draft):
    item = ActionItemFactory(postmortem=draft)
    client.force_login(outsider)
    incident_id = draft.incident.public_id
    assert client.get(url("postmortem", incident_id)).status_code == 404
    assert client.get(url("action_item_edit", incident_id, item.public_id)).status_code == 404


def test_an_action_item_of_another_incident_is_404(client, editor, draft, org):
    other = ActionItemFactory(postmortem=PostmortemFactory(incident__organization=org))
    client.force_login(editor)
    response = client.get(url("action_item_edit", draft.incident.public_id, other.public_id))
    assert response.status_code == 404


def test_maintenance_has_no_postmortem_page(client, editor, org):
    from tests.factories import MaintenanceFactory

    client.force_login(editor)
    maintenance = MaintenanceFactory(organization=org)
    assert client.get(url("postmortem", maintenance.public_id)).status_code == 404


def test_postmortem_page_query_count(client, editor, draft, django_assert_max_num_queries):
    for n in range(20):
        ActionItemFactory(postmortem=draft, title=f"Item {n}")
    services.publish_postmortem(draft.incident, actor=member(editor))
    client.force_login(editor)
    with django_assert_max_num_queries(14):
        assert client.get(url("postmortem", draft.incident.public_id)).status_code == 200


def test_the_summary_comes_first(client, editor, resolved):
    client.force_login(editor)
    response = client.post(url("postmortem", resolved.public_id), {"cause": "A certificate."})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert Postmortem.objects.count() == 0
