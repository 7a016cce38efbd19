"""What an integrator's script does with a write key, following only /api/docs/: build a page,
run an incident from investigating to resolved, publish its postmortem, run a maintenance from
scheduled to completed."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

JSON = "application/json"


def test_a_script_builds_a_page_and_runs_an_incident_and_a_maintenance(api, api_key, org):
    client = api(api_key)

    def post(url: str, body: dict, key: str) -> dict:
        response = client.post(url, body, content_type=JSON, HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code in (200, 201), (url, response.json())
        return response.json()

    def status_of(component_id: str) -> str:
        return client.get(f"/api/v1/components/{component_id}/").json()["status"]

    # The page: a group with two components, and one top-level component.
    europe = post("/api/v1/component-groups/", {"name": "Europe"}, "group-eu")
    api_eu = post(
        "/api/v1/components/", {"name": "API", "group_id": europe["id"]}, "component-api-eu"
    )
    web_eu = post(
        "/api/v1/components/", {"name": "Website", "group_id": europe["id"]}, "component-web-eu"
    )
    billing = post("/api/v1/components/", {"name": "Billing"}, "component-billing")

    # An incident, from investigating to resolved, moving components along the way.
    incident = post(
        "/api/v1/incidents/",
        {
            "name": "API errors in Europe",
            "status": "investigating",
            "body": "Some API requests fail.",
            "components": {api_eu["id"]: "major_outage", web_eu["id"]: "degraded_performance"},
        },
        "incident-open",
    )
    updates = f"/api/v1/incidents/{incident['id']}/updates/"
    during = {api_eu["id"]: status_of(api_eu["id"]), web_eu["id"]: status_of(web_eu["id"])}
    post(
        updates,
        {
            "status": "identified",
            "body": "A bad deploy; rolling back.",
            "components": {api_eu["id"]: "partial_outage"},
        },
        "incident-identified",
    )
    post(
        updates,
        {"status": "monitoring", "body": "Rolled back; watching error rates."},
        "incident-monitoring",
    )
    resolved = post(
        f"/api/v1/incidents/{incident['id']}/resolve/",
        {"body": "Error rates are back to normal."},
        "incident-resolve",
    )
    group_after = client.get(f"/api/v1/component-groups/{europe['id']}/").json()

    assert incident["impact"] == "critical"
    assert during == {api_eu["id"]: "major_outage", web_eu["id"]: "degraded_performance"}
    assert resolved["status"] == "resolved"
    assert [u["status"] for u in resolved["incident_updates"]] == [
        "resolved",
        "monitoring",
        "identified",
        "investigating",
    ]
    assert {c["status"] for c in resolved["components"]} == {"operational"}
    assert group_after["status"] == "operational"

    # After the outage: the postmortem, with what is being changed, published to subscribers.
    postmortem_url = f"/api/v1/incidents/{incident['id']}/postmortem/"
    written = client.put(
        postmortem_url,
        {
            "summary": "For 40 minutes the API in Europe failed for most requests.",
            "customer_impact": "Everyone using the API from Europe; we are sorry.",
            "cause": "A configuration change overloaded one network link.",
            "resolution": "We moved traffic to a second link.",
        },
        content_type=JSON,
    )
    post(
        f"{postmortem_url}action-items/",
        {"title": "Test network changes on one link first"},
        "postmortem-item",
    )
    published = post(f"{postmortem_url}publish/", {"notify_subscribers": True}, "postmortem-go")
    public = client.get(f"/s/{org.slug}/api/v2/incidents.json").json()["incidents"]

    assert written.status_code == 201
    assert published["published"] is True
    assert [i["title"] for i in published["action_items"]] == [
        "Test network changes on one link first"
    ]
    assert {i["id"]: i["status"] for i in public}[incident["id"]] == "postmortem"

    # A maintenance on Billing: scheduled, started, completed.
    start = timezone.now() + timedelta(hours=1)
    maintenance = post(
        "/api/v1/maintenances/",
        {
            "name": "Billing database upgrade",
            "scheduled_for": start.isoformat(),
            "scheduled_until": (start + timedelta(hours=1)).isoformat(),
            "components": [billing["id"]],
            "auto_start": False,
            "auto_complete": False,
        },
        "maintenance-schedule",
    )
    steps = f"/api/v1/maintenances/{maintenance['id']}/"
    started = post(f"{steps}start/", {}, "maintenance-start")
    billing_during = status_of(billing["id"])
    completed = post(f"{steps}complete/", {"body": "All done."}, "maintenance-complete")

    assert maintenance["status"] == "scheduled"
    assert started["status"] == "in_progress"
    assert billing_during == "under_maintenance"
    assert completed["status"] == "completed"
    assert completed["incident_updates"][0]["body"] == "All done."
    assert status_of(billing["id"]) == "operational"

    # A retried step (same Idempotency-Key) changes nothing.
    replay = client.post(
        f"{steps}complete/",
        {"body": "All done."},
        content_type=JSON,
        HTTP_IDEMPOTENCY_KEY="maintenance-complete",
    )
    assert replay.json() == completed
    assert len(client.get(f"{steps}updates/").json()) == 3

    # Everything the script did is in the audit log, under the key's name.
    actions = [
        row["action"] for row in client.get("/api/v1/audit-log/?limit=200").json()["results"]
    ]
    assert "incident.open" in actions
    assert "incident.resolve" in actions
    assert "postmortem.publish" in actions
    assert "maintenance.complete" in actions
