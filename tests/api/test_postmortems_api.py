"""Management API: /api/v1/incidents/<id>/postmortem/, publish, unpublish and action items."""

from __future__ import annotations

import pytest

from apps.incidents.models import ActionItem, Postmortem
from apps.notifications.models import NotificationEvent
from apps.organizations.models import AuditEntry
from tests.factories import IncidentFactory, MaintenanceFactory
from tests.incidents.factories import ActionItemFactory, PostmortemFactory

JSON = "application/json"
pytestmark = pytest.mark.django_db


def pm_url(incident, rest: str = "") -> str:
    return f"/api/v1/incidents/{incident.public_id}/postmortem/{rest}"


@pytest.fixture
def resolved(org):
    return IncidentFactory(organization=org, name="Sign-in failures", status="resolved")


@pytest.fixture
def draft(resolved):
    return PostmortemFactory(incident=resolved)


def test_it_works_write_add_items_publish_unpublish_delete(api, api_key, resolved):
    client = api(api_key)
    created = client.put(
        pm_url(resolved),
        {"summary": "Sign-in failed for 45 minutes.", "customer_impact": "Everyone."},
        content_type=JSON,
    )
    replaced = client.put(pm_url(resolved), {"summary": "Sign-in failed."}, content_type=JSON)
    changed = client.patch(pm_url(resolved), {"cause": "A certificate."}, content_type=JSON)
    item = client.post(
        pm_url(resolved, "action-items/"),
        {"title": "Alert before certificates expire", "due_date": "2030-01-31"},
        content_type=JSON,
    )
    published = client.post(
        pm_url(resolved, "publish/"), {"notify_subscribers": True}, content_type=JSON
    )
    incident = client.get(f"/api/v1/incidents/{resolved.public_id}/").json()
    unpublished = client.post(pm_url(resolved, "unpublish/"))
    deleted = client.delete(pm_url(resolved))

    assert created.status_code == 201
    body = created.json()
    assert body["incident_id"] == resolved.public_id
    assert body["summary"] == "Sign-in failed for 45 minutes."
    assert body["published"] is False and body["published_at"] is None
    assert replaced.status_code == 200
    assert replaced.json()["customer_impact"] == ""  # PUT replaces every section
    assert changed.json()["summary"] == "Sign-in failed."
    assert changed.json()["cause"] == "A certificate."
    assert item.status_code == 201
    assert item.json()["status"] == "planned"
    assert item.json()["position"] == 1
    assert item.json()["due_date"] == "2030-01-31"
    assert published.status_code == 200
    assert published.json()["published"] is True
    assert published.json()["notified_subscribers"] is True
    assert [i["title"] for i in published.json()["action_items"]] == [
        "Alert before certificates expire"
    ]
    assert incident["status"] == "postmortem"
    assert NotificationEvent.objects.filter(kind="incident.postmortem_published").count() == 1
    assert unpublished.status_code == 200
    assert unpublished.json()["published"] is False
    assert deleted.status_code == 204
    assert Postmortem.objects.count() == 0
    assert (
        AuditEntry.objects.filter(action="postmortem.publish")
        .get()
        .actor_label.startswith("API key")
    )


def test_get_without_a_postmortem_is_404_with_a_hint(api, api_key, resolved):
    response = api(api_key).get(pm_url(resolved))
    assert response.status_code == 404
    assert response.json() == {"detail": "This incident has no postmortem yet; create it with PUT."}
    assert (
        api(api_key).patch(pm_url(resolved), {"cause": "x"}, content_type=JSON).status_code == 404
    )


def test_publishing_an_unresolved_incident_is_a_400(api, api_key, org):
    incident = IncidentFactory(organization=org, status="monitoring")
    PostmortemFactory(incident=incident)
    response = api(api_key).post(pm_url(incident, "publish/"), {}, content_type=JSON)
    assert response.status_code == 400
    assert response.json() == {"detail": "Resolve the incident before publishing its postmortem."}


def test_publishing_without_a_summary_names_the_field(api, api_key, resolved):
    PostmortemFactory(incident=resolved, summary="")
    response = api(api_key).post(pm_url(resolved, "publish/"), {}, content_type=JSON)
    assert response.status_code == 400
    assert "summary" in response.json()


def test_publishing_twice_and_unpublishing_a_draft_are_400s(api, api_key, draft):
    client = api(api_key)
    assert client.post(pm_url(draft.incident, "unpublish/")).status_code == 400
    client.post(pm_url(draft.incident, "publish/"), {}, content_type=JSON)
    again = client.post(pm_url(draft.incident, "publish/"), {}, content_type=JSON)
    assert again.status_code == 400
    assert again.json()["detail"] == "This postmortem is already published."


def test_a_published_postmortem_cannot_be_deleted(api, api_key, draft):
    client = api(api_key)
    client.post(pm_url(draft.incident, "publish/"), {}, content_type=JSON)
    response = client.delete(pm_url(draft.incident))
    assert response.status_code == 400
    assert response.json()["detail"] == "Unpublish the postmortem before deleting it."


def test_action_items_change_move_and_delete(api, api_key, draft):
    client = api(api_key)
    first = ActionItemFactory(postmortem=draft, title="First", position=1)
    second = ActionItemFactory(postmortem=draft, title="Second", position=2)
    done = client.patch(
        pm_url(draft.incident, f"action-items/{first.public_id}/"),
        {"status": "done", "position": 2},
        content_type=JSON,
    )
    listed = client.get(pm_url(draft.incident, "action-items/"))
    got = client.get(pm_url(draft.incident, f"action-items/{second.public_id}/"))
    deleted = client.delete(pm_url(draft.incident, f"action-items/{second.public_id}/"))

    assert done.status_code == 200
    assert done.json()["status"] == "done"
    assert done.json()["completed_at"] is not None
    assert done.json()["position"] == 2
    assert [i["title"] for i in listed.json()] == ["Second", "First"]
    assert got.json()["position"] == 1
    assert deleted.status_code == 204
    assert list(draft.action_items.values_list("title", "position")) == [("First", 1)]


def test_bad_input_is_a_400_naming_the_field(api, api_key, draft):
    client = api(api_key)
    items = pm_url(draft.incident, "action-items/")
    unknown = client.put(pm_url(draft.incident), {"summary": "x", "body": "y"}, content_type=JSON)
    no_summary = client.put(pm_url(draft.incident), {"cause": "y"}, content_type=JSON)
    no_title = client.post(items, {"status": "planned"}, content_type=JSON)
    bad_status = client.post(items, {"title": "x", "status": "cancelled"}, content_type=JSON)
    bad_position = client.post(items, {"title": "x", "position": 0}, content_type=JSON)
    too_long = client.patch(pm_url(draft.incident), {"cause": "x" * 20_001}, content_type=JSON)

    assert unknown.status_code == 400 and unknown.json()["body"] == ["Unknown field."]
    assert no_summary.status_code == 400 and "summary" in no_summary.json()
    assert no_title.status_code == 400 and "title" in no_title.json()
    assert bad_status.status_code == 400 and "status" in bad_status.json()
    assert bad_position.status_code == 400 and "position" in bad_position.json()
    assert too_long.status_code == 400 and "cause" in too_long.json()
    assert ActionItem.objects.count() == 0


def test_read_only_keys_read_but_never_write(api, read_only_key, draft):
    client = api(read_only_key)
    item = ActionItemFactory(postmortem=draft)
    incident = draft.incident
    item_url = pm_url(incident, f"action-items/{item.public_id}/")
    assert client.get(pm_url(incident)).status_code == 200
    assert client.get(item_url).status_code == 200
    writes = [
        client.put(pm_url(incident), {"summary": "x"}, content_type=JSON),
        client.patch(pm_url(incident), {"summary": "x"}, content_type=JSON),
        client.delete(pm_url(incident)),
        client.post(pm_url(incident, "publish/"), {}, content_type=JSON),
        client.post(pm_url(incident, "unpublish/"), {}, content_type=JSON),
        client.post(pm_url(incident, "action-items/"), {"title": "x"}, content_type=JSON),
        client.patch(item_url, {"title": "x"}, content_type=JSON),
        client.delete(item_url),
    ]
    assert [response.status_code for response in writes] == [403] * len(writes)
    draft.refresh_from_db()
    assert draft.published_at is None


def test_another_organizations_ids_are_404(api, other_api_key, draft, org):
    client = api(other_api_key)
    item = ActionItemFactory(postmortem=draft)
    assert client.get(pm_url(draft.incident)).status_code == 404
    assert (
        client.put(pm_url(draft.incident), {"summary": "x"}, content_type=JSON).status_code == 404
    )
    assert client.post(pm_url(draft.incident, "publish/"), {}, content_type=JSON).status_code == 404
    item_url = pm_url(draft.incident, f"action-items/{item.public_id}/")
    assert client.get(item_url).status_code == 404


def test_an_action_item_of_another_postmortem_is_404(api, api_key, draft, org):
    other = ActionItemFactory(postmortem=PostmortemFactory(incident__organization=org))
    response = api(api_key).get(pm_url(draft.incident, f"action-items/{other.public_id}/"))
    assert response.status_code == 404


def test_maintenances_have_no_postmortem(api, api_key, org):
    maintenance = MaintenanceFactory(organization=org)
    response = api(api_key).put(pm_url(maintenance), {"summary": "x"}, content_type=JSON)
    assert response.status_code == 404


def test_idempotency_key_on_post(api, api_key, draft):
    client = api(api_key)
    url = pm_url(draft.incident, "action-items/")
    first = client.post(url, {"title": "Alert"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="a-1")
    again = client.post(url, {"title": "Alert"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="a-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert draft.action_items.count() == 1


def test_action_item_list_and_postmortem_query_count(
    api, api_key, draft, django_assert_max_num_queries
):
    for n in range(20):
        ActionItemFactory(postmortem=draft, title=f"Change {n}")
    client = api(api_key)
    with django_assert_max_num_queries(7):
        assert len(client.get(pm_url(draft.incident, "action-items/")).json()) == 20
    with django_assert_max_num_queries(7):
        assert len(client.get(pm_url(draft.incident)).json()["action_items"]) == 20
