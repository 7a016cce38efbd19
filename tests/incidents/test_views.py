from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.incidents import services
from apps.incidents.forms import MaintenanceForm
from apps.incidents.models import Incident, IncidentStatus, IncidentTemplate, MaintenanceStatus
from apps.incidents.notifications import EventKind
from apps.notifications.models import NotificationEvent
from apps.organizations.principals import System
from apps.status.models import ComponentStatus
from tests.factories import (
    ComponentFactory,
    IncidentFactory,
    IncidentTemplateFactory,
    IncidentUpdateFactory,
    MaintenanceFactory,
    member,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(org):
    return ComponentFactory(organization=org, name="API")


@pytest.fixture
def incident(org, editor, api):
    return services.open_incident(
        org, actor=member(editor), name="API errors", status="investigating", body="Looking.",
        components={api: ComponentStatus.PARTIAL_OUTAGE},
    )  # fmt: skip


@pytest.fixture
def maintenance(org):
    maintenance = MaintenanceFactory(organization=org)
    IncidentUpdateFactory(incident=maintenance, body="Planned.")
    return maintenance


@pytest.fixture
def template(org):
    return IncidentTemplateFactory(organization=org)


def url(name: str, *args) -> str:
    return reverse(f"incidents:{name}", args=["acme", *args])


def read_urls(incident, maintenance, template) -> list[str]:
    return [
        url("list"),
        url("detail", incident.public_id),
        url("maintenance_list"),
        url("maintenance_detail", maintenance.public_id),
        url("templates"),
    ]


def write_urls(incident, maintenance, template) -> list[str]:
    update = incident.updates.first()
    return [
        url("new"),
        url("backfill"),
        url("detail", incident.public_id),
        url("edit", incident.public_id),
        url("resolve", incident.public_id),
        url("reopen", incident.public_id),
        url("edit_update", incident.public_id, update.public_id),
        url("maintenance_new"),
        url("maintenance_detail", maintenance.public_id),
        url("maintenance_start", maintenance.public_id),
        url("maintenance_verify", maintenance.public_id),
        url("maintenance_complete", maintenance.public_id),
        url("maintenance_cancel", maintenance.public_id),
        url("maintenance_extend", maintenance.public_id),
        url("template_new"),
        url("template_defaults"),
        url("template_edit", template.public_id),
        url("template_delete", template.public_id),
        url("delete", incident.public_id),
    ]


def test_viewer_reads_every_list_and_detail(client, viewer, incident, maintenance, template):
    client.force_login(viewer)
    for page in read_urls(incident, maintenance, template):
        response = client.get(page)
        assert response.status_code == 200, page
    assert b"Post an update" not in client.get(url("detail", incident.public_id)).content


def test_viewer_gets_403_on_every_write(client, viewer, incident, maintenance, template):
    client.force_login(viewer)
    before = (Incident.objects.count(), NotificationEvent.objects.count())
    for page in write_urls(incident, maintenance, template):
        response = client.post(page, {"body": "x", "name": "x", "status": "identified"})
        assert response.status_code == 403, page
    assert (Incident.objects.count(), NotificationEvent.objects.count()) == before


def test_editor_cannot_delete(client, editor, incident):
    client.force_login(editor)
    assert client.get(url("delete", incident.public_id)).status_code == 403
    assert (
        client.post(url("delete", incident.public_id), {"confirm_name": "API errors"}).status_code
        == 403
    )


def test_outsider_gets_404_everywhere(client, outsider, incident, maintenance, template):
    client.force_login(outsider)
    pages = read_urls(incident, maintenance, template) + write_urls(incident, maintenance, template)
    for page in pages:
        assert client.get(page).status_code == 404, page
        assert client.post(page, {"body": "x"}).status_code == 404, page


def test_incident_of_another_org_is_404_for_a_member(client, editor, other_org):
    foreign = IncidentFactory(organization=other_org)
    client.force_login(editor)
    assert client.get(url("detail", foreign.public_id)).status_code == 404
    assert client.post(url("resolve", foreign.public_id), {"body": "x"}).status_code == 404


def test_editor_opens_updates_and_resolves(client, editor, org, api):
    other = ComponentFactory(organization=org, name="Website")
    client.force_login(editor)

    response = client.post(url("new"), {
        "name": "Checkout failing", "status": "investigating", "impact": "auto",
        "body": "Payments fail for everyone.", "notify": "on",
        f"component_{api.public_id}": "major_outage", f"component_{other.public_id}": "",
    })  # fmt: skip
    incident = Incident.objects.get(name="Checkout failing")
    assert response.status_code == 302
    assert response["Location"] == url("detail", incident.public_id)
    assert incident.impact == "critical"
    assert list(incident.components.all()) == [api]

    response = client.post(url("detail", incident.public_id), {
        "status": "monitoring", "body": "Fix deployed.", "notify": "on",
        f"component_{api.public_id}": "degraded_performance",
    })  # fmt: skip
    assert response.status_code == 302
    api.refresh_from_db()
    assert api.status == ComponentStatus.DEGRADED_PERFORMANCE

    response = client.post(url("resolve", incident.public_id), {"body": "All good now."})
    incident.refresh_from_db()
    api.refresh_from_db()
    assert response.status_code == 302
    assert incident.status == IncidentStatus.RESOLVED
    assert api.status == ComponentStatus.OPERATIONAL
    resolved_event = NotificationEvent.objects.get(kind=EventKind.INCIDENT_RESOLVED)
    assert resolved_event.deliver is False  # the notify box was left unticked

    page = client.get(url("detail", incident.public_id))
    assert b"Fix deployed." in page.content
    assert b"All good now." in page.content


def test_composer_preview_saves_nothing(client, editor, api):
    client.force_login(editor)
    data = {"name": "Slow API", "status": "investigating", "impact": "auto", "body": "Slow.",
            f"component_{api.public_id}": "degraded_performance", "preview": "1"}  # fmt: skip
    page = client.post(url("new"), data)
    partial = client.post(url("new"), data, HTTP_HX_REQUEST="true")
    assert page.status_code == 200
    assert b"Preview on your status page" in page.content
    assert b"Slow API" in page.content
    assert b"<html" not in partial.content
    assert b"Degraded performance" in partial.content
    assert not Incident.objects.exists()


def test_composer_prefills_from_template(client, editor, template):
    client.force_login(editor)
    page = client.get(url("new") + f"?template={template.public_id}")
    assert template.body.encode() in page.content


def test_composer_shows_service_errors(client, editor):
    client.force_login(editor)
    response = client.post(url("new"), {"name": "x", "status": "investigating",
                                         "impact": "auto", "body": "  "})  # fmt: skip
    assert response.status_code == 400
    assert not Incident.objects.exists()


def test_update_on_resolved_incident_is_refused_in_the_form(client, editor, incident):
    services.resolve_incident(incident, actor=member(editor))
    client.force_login(editor)
    response = client.post(url("detail", incident.public_id), {"status": "identified", "body": "b"})
    assert response.status_code == 400
    assert "Reopen it" in response.content.decode()


def test_reopen_and_edit_update(client, editor, incident):
    services.resolve_incident(incident, actor=member(editor))
    client.force_login(editor)
    client.post(url("reopen", incident.public_id), {"status": "identified", "body": "Back."})
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.IDENTIFIED

    update = incident.updates.get(body="Back.")
    client.post(url("edit_update", incident.public_id, update.public_id), {"body": "It is back."})
    page = client.get(url("detail", incident.public_id))
    assert b"It is back." in page.content
    assert b"Edited 1 time" in page.content


def test_admin_deletes_after_typing_the_name(client, admin, incident):
    client.force_login(admin)
    wrong = client.post(url("delete", incident.public_id), {"confirm_name": "nope"})
    assert wrong.status_code == 200
    assert Incident.objects.filter(pk=incident.pk).exists()
    client.post(url("delete", incident.public_id), {"confirm_name": "API errors"})
    assert not Incident.objects.filter(pk=incident.pk).exists()


def test_backfill_form(client, editor, org, api):
    org.timezone = "Europe/Berlin"
    org.save()
    client.force_login(editor)
    response = client.post(url("backfill"), {
        "name": "Old outage", "impact": "major", "components": [api.pk],
        "body_investigating": "Looking.", "at_investigating": "2026-01-10T10:00",
        "body_resolved": "Fixed.", "at_resolved": "2026-01-10T11:30",
    })  # fmt: skip
    incident = Incident.objects.get(name="Old outage")
    assert response.status_code == 302
    assert incident.started_at == datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    assert incident.resolved_at == datetime(2026, 1, 10, 10, 30, tzinfo=UTC)


def test_incident_list_query_count(client, editor, org, api, django_assert_max_num_queries):
    for n in range(50):
        incident = IncidentFactory(
            organization=org, status="resolved" if n % 5 else "investigating"
        )
        incident.components.add(api)
    client.force_login(editor)
    # 12 for the lists, 3 for the follow-ups (setting, incidents waiting, late action items).
    with django_assert_max_num_queries(15):
        response = client.get(url("list"))
    assert response.status_code == 200
    assert b"Page 1 of 2" in response.content


# --- maintenance ---------------------------------------------------------------------------


def test_maintenance_form_reads_times_in_the_org_timezone(org):
    org.timezone = "America/Los_Angeles"
    form = MaintenanceForm(
        {"name": "DB", "body": "b", "scheduled_for": "2026-12-01T09:00",
         "scheduled_until": "2026-12-01T11:00"},
        organization=org,
    )  # fmt: skip
    assert form.is_valid(), form.errors
    assert form.cleaned_data["scheduled_for"] == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


def test_maintenance_form_refuses_a_local_time_that_does_not_exist(org):
    org.timezone = "America/Los_Angeles"
    form = MaintenanceForm(
        {"name": "DB", "body": "b", "scheduled_for": "2026-03-08T02:30",
         "scheduled_until": "2026-03-08T05:00"},
        organization=org,
    )  # fmt: skip
    assert not form.is_valid()
    assert "does not exist" in str(form.errors["scheduled_for"])


def test_schedule_maintenance_in_org_timezone_and_shown_back(client, editor, org, api):
    org.timezone = "America/Los_Angeles"
    org.save()
    client.force_login(editor)
    response = client.post(url("maintenance_new"), {
        "name": "Database upgrade", "body": "Planned work.", "components": [api.pk],
        "scheduled_for": "2036-12-01T09:00", "scheduled_until": "2036-12-01T11:00",
        "auto_start": "on", "auto_complete": "on", "reminder_hours": "2", "notify": "on",
    })  # fmt: skip
    maintenance = Incident.objects.get(name="Database upgrade")
    assert response.status_code == 302
    assert maintenance.scheduled_for == datetime(2036, 12, 1, 17, 0, tzinfo=UTC)
    assert maintenance.reminder_hours == 2

    page = client.get(url("maintenance_detail", maintenance.public_id)).content.decode()
    assert "Dec 1, 2036 09:00 PST" in page
    assert "America/Los_Angeles" in page
    form_page = client.get(url("maintenance_new")).content.decode()
    assert "America/Los_Angeles" in form_page


def test_schedule_form_refuses_end_before_start(client, editor):
    client.force_login(editor)
    response = client.post(url("maintenance_new"), {
        "name": "x", "body": "b", "scheduled_for": "2026-12-01T09:00",
        "scheduled_until": "2026-12-01T08:00",
    })  # fmt: skip
    assert response.status_code == 200
    assert b"must end after it starts" in response.content
    assert not Incident.objects.exists()


def test_maintenance_actions(client, editor, maintenance, api):
    maintenance.components.add(api)
    client.force_login(editor)
    client.post(url("maintenance_start", maintenance.public_id))
    api.refresh_from_db()
    assert api.status == ComponentStatus.UNDER_MAINTENANCE
    client.post(url("maintenance_verify", maintenance.public_id))
    later = maintenance.scheduled_until + timedelta(hours=1)
    new_until = timezone.localtime(later, UTC).replace(second=0, microsecond=0)
    client.post(url("maintenance_extend", maintenance.public_id),
                {"scheduled_until": f"{new_until:%Y-%m-%dT%H:%M}", "notify": "on"})  # fmt: skip
    client.post(url("maintenance_detail", maintenance.public_id), {"body": "Almost done."})
    client.post(url("maintenance_complete", maintenance.public_id))
    maintenance.refresh_from_db()
    api.refresh_from_db()
    assert maintenance.status == MaintenanceStatus.COMPLETED
    assert maintenance.scheduled_until == new_until
    assert api.status == ComponentStatus.OPERATIONAL
    assert maintenance.updates.filter(body="Almost done.").exists()


def test_invalid_maintenance_action_shows_a_message(client, editor, maintenance):
    client.force_login(editor)
    response = client.post(url("maintenance_complete", maintenance.public_id), follow=True)
    maintenance.refresh_from_db()
    assert maintenance.status == MaintenanceStatus.SCHEDULED
    assert b"cancel a maintenance that has not started" in response.content


def test_cancel_shows_cancelled(client, editor, maintenance):
    client.force_login(editor)
    response = client.post(url("maintenance_cancel", maintenance.public_id), follow=True)
    assert b"Cancelled" in response.content


# --- templates -----------------------------------------------------------------------------


def test_template_crud(client, editor, org):
    client.force_login(editor)
    client.post(url("template_new"), {"kind": "incident", "name": "DNS", "title": "DNS issues",
                                      "status": "identified", "impact": "major",
                                      "body": "Names do not resolve."})  # fmt: skip
    template = IncidentTemplate.objects.get(name="DNS")
    client.post(url("template_edit", template.public_id), {
        "kind": "incident", "name": "DNS", "title": "DNS failures", "status": "identified",
        "impact": "critical", "body": "b",
    })  # fmt: skip
    template.refresh_from_db()
    assert template.impact == "critical"
    client.post(url("template_delete", template.public_id))
    assert not IncidentTemplate.objects.filter(pk=template.pk).exists()


def test_default_templates_button(client, editor, org):
    client.force_login(editor)
    client.post(url("template_defaults"))
    page = client.get(url("templates"))
    assert b"Major outage" in page.content


def test_maintenance_form_prefills_from_template(client, editor, org):
    template = IncidentTemplateFactory(
        organization=org, kind="maintenance", status="scheduled", impact="maintenance",
        title="Network maintenance", body="Brief connection drops are expected.",
    )  # fmt: skip
    client.force_login(editor)
    page = client.get(url("maintenance_new") + f"?template={template.public_id}")
    assert b"Brief connection drops are expected." in page.content


def test_incident_detail_query_count(client, editor, incident, django_assert_max_num_queries):
    for n in range(20):
        services.post_update(
            incident, actor=member(editor), status="identified", body=f"Update {n}"
        )
    services.edit_update(incident.updates.first(), actor=member(editor), body="Corrected.")
    client.force_login(editor)
    # 16, plus one read of the notification settings (the default update cadence) and 2 for
    # the response scorecard's card (the updates' times; the postmortem's counts).
    with django_assert_max_num_queries(19):
        response = client.get(url("detail", incident.public_id))
    assert response.status_code == 200


def test_maintenance_list_query_count(client, editor, org, api, django_assert_max_num_queries):
    for _ in range(30):
        MaintenanceFactory(organization=org).components.add(api)
    client.force_login(editor)
    with django_assert_max_num_queries(12):
        response = client.get(url("maintenance_list"))
    assert response.status_code == 200


def test_editor_corrects_impact(client, editor, incident):
    client.force_login(editor)
    response = client.post(
        url("edit", incident.public_id), {"name": "API errors", "impact": "minor"}
    )
    incident.refresh_from_db()
    assert response.status_code == 302
    assert incident.impact == "minor"
    assert incident.impact_override is True


def test_detail_flags_an_overdue_update(client, viewer, org):
    incident = services.open_incident(
        org, actor=System(), name="Queue backlog", status="identified", body="b",
        next_update_due=timezone.now() + timedelta(minutes=5),
    )  # fmt: skip
    # Ten minutes later (a past time cannot be promised, so the clock moves instead).
    Incident.objects.filter(pk=incident.pk).update(
        next_update_due=timezone.now() - timedelta(minutes=5)
    )
    client.force_login(viewer)
    page = client.get(url("detail", incident.public_id))
    assert b"overdue" in page.content
