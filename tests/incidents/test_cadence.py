"""Update promises (issue 12 §2): the default cadence pre-fills "next update by", each update
can override it or (while monitoring) say no further updates until resolved, and bad input is
refused with a clear message in the dashboard, the API and the settings, writing nothing."""

from __future__ import annotations

import re
import socket
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.incidents import services
from apps.incidents.models import Incident, IncidentUpdate
from apps.notifications.models import NotificationSettings
from apps.notifications.services import set_update_reminders
from apps.organizations.models import AuditEntry
from tests.factories import member

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.fixture
def incident(org, editor, clock):
    return services.open_incident(
        org, actor=member(editor), name="API errors", status="investigating", body="Looking.",
        next_update_due=clock.now + timedelta(minutes=30),
    )  # fmt: skip


def url(org, name: str, *args: str) -> str:
    return reverse(f"incidents:{name}", args=[org.slug, *args])


def cadence(org, minutes: int, owner) -> None:
    set_update_reminders(org, actor=member(owner), cadence_minutes=minutes)


def post_update(client, org, incident, **data):
    fields = {"status": "identified", "body": "Found it.", "notify": "on", **data}
    return client.post(url(org, "detail", incident.public_id), fields)


# --- the dashboard ---------------------------------------------------------------------------


def test_the_update_form_is_prefilled_with_the_organizations_cadence(
    client, org, owner, editor, incident
):
    cadence(org, 45, owner)
    client.force_login(editor)

    page = client.get(url(org, "detail", incident.public_id)).content.decode()

    assert 'name="next_update_in_minutes"' in page
    assert 'value="45"' in page
    assert "Your default is 45 minutes" in page
    assert "No further updates until resolved" in page


def test_the_compose_form_is_prefilled_and_opening_promises_the_default(
    client, org, owner, editor, clock
):
    cadence(org, 20, owner)
    client.force_login(editor)
    assert 'value="20"' in client.get(url(org, "new")).content.decode()

    client.post(
        url(org, "new"),
        {
            "name": "Login failures",
            "status": "investigating",
            "impact": "auto",
            "body": "We are looking into it.",
            "next_update_in_minutes": "20",
        },
    )

    opened = Incident.objects.get(name="Login failures")
    assert opened.next_update_due == clock.now + timedelta(minutes=20)
    assert opened.updates.get().next_update_due == opened.next_update_due


def test_an_empty_promise_takes_the_default_cadence(client, org, editor, incident, clock):
    client.force_login(editor)

    post_update(client, org, incident, next_update_in_minutes="")

    incident.refresh_from_db()
    assert incident.next_update_due == clock.now + timedelta(minutes=30)


def test_an_update_overrides_the_cadence_in_minutes(client, org, editor, incident, clock):
    client.force_login(editor)

    response = post_update(client, org, incident, next_update_in_minutes="90")

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.next_update_due == clock.now + timedelta(minutes=90)
    assert incident.updates.first().next_update_due == incident.next_update_due


def test_an_update_overrides_the_cadence_with_a_time_in_the_orgs_zone(
    client, org, editor, incident, clock
):
    org.timezone = "Europe/Berlin"
    org.save(update_fields=["timezone"])
    at = (clock.now + timedelta(hours=3)).astimezone(org.tzinfo).replace(second=0)
    client.force_login(editor)

    post_update(
        client,
        org,
        incident,
        next_update_in_minutes="30",
        next_update_due=at.strftime("%b %-d, %Y %H:%M"),
    )

    incident.refresh_from_db()
    assert incident.next_update_due == at


def test_monitoring_with_no_further_updates_clears_the_promise(
    client, org, editor, incident, clock
):
    client.force_login(editor)

    response = post_update(
        client,
        org,
        incident,
        status="monitoring",
        next_update_in_minutes="30",
        no_further_updates="on",
    )

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "monitoring"
    assert incident.next_update_due is None
    assert incident.no_further_updates is True
    latest = incident.updates.first()
    assert latest.no_further_updates is True and latest.next_update_due is None
    detail = client.get(url(org, "detail", incident.public_id)).content.decode()
    assert "No further updates until resolved" in detail
    assert "no further updates until resolved" in detail  # the timeline entry


def test_the_next_update_promises_again_after_no_further_updates(
    client, org, editor, incident, clock
):
    client.force_login(editor)
    post_update(client, org, incident, status="monitoring", no_further_updates="on")

    post_update(client, org, incident, status="identified", next_update_in_minutes="15")

    incident.refresh_from_db()
    assert incident.no_further_updates is False
    assert incident.next_update_due == clock.now + timedelta(minutes=15)


def test_resolving_clears_the_promise(client, org, editor, incident):
    client.force_login(editor)

    post_update(client, org, incident, status="resolved", next_update_in_minutes="30")

    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.next_update_due is None and incident.no_further_updates is False


def test_reopening_promises_the_default_cadence(client, org, editor, incident, clock):
    services.resolve_incident(incident, actor=member(editor))
    client.force_login(editor)

    client.post(
        url(org, "reopen", incident.public_id),
        {"status": "investigating", "body": "It is back.", "notify": "on"},
    )

    incident.refresh_from_db()
    assert incident.status == "investigating"
    assert incident.next_update_due == clock.now + timedelta(minutes=30)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"next_update_due": "Jan 1, 2020 10:00"},
            "next_update_due",
            "has already passed. Choose a time in the future.",
        ),
        (
            {"next_update_due": "Jan 1, 2999 10:00"},
            "next_update_due",
            "is more than 7 days away. Promise one within a week.",
        ),
        ({"next_update_in_minutes": "0"}, "next_update_in_minutes", "greater than or equal to 1"),
        (
            {"next_update_in_minutes": "525600"},
            "next_update_in_minutes",
            "less than or equal to 10080",
        ),
        (
            {"no_further_updates": "on"},
            "no_further_updates",
            "is only for an incident being monitored",
        ),
        (
            {"status": "monitoring", "no_further_updates": "on", "next_update_due": "x"},
            "next_update_due",
            "Write the time like",
        ),
    ],
    ids=["past", "years", "zero-minutes", "a-year-of-minutes", "no-further-investigating", "junk"],
)
def test_a_bad_promise_is_a_form_error_and_nothing_is_written(
    client, org, editor, incident, data, field, message
):
    client.force_login(editor)
    before = (IncidentUpdate.objects.count(), AuditEntry.objects.count())

    response = post_update(client, org, incident, **data)

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert message.split(".")[0] in response.content.decode().replace("&#x27;", "'")
    assert (IncidentUpdate.objects.count(), AuditEntry.objects.count()) == before
    incident.refresh_from_db()
    assert incident.status == "investigating"


def test_a_time_and_no_further_updates_together_are_refused(client, org, editor, incident, clock):
    at = (clock.now + timedelta(hours=1)).astimezone(org.tzinfo)
    client.force_login(editor)

    response = post_update(
        client,
        org,
        incident,
        status="monitoring",
        no_further_updates="on",
        next_update_due=at.strftime("%b %-d, %Y %H:%M"),
    )

    assert response.status_code == 400
    assert "not both" in " ".join(response.context["form"].errors["no_further_updates"])
    assert incident.updates.count() == 1


def test_the_preview_shows_the_promise(client, org, editor, clock):
    client.force_login(editor)

    response = client.post(
        url(org, "new"),
        {
            "name": "Slow search",
            "status": "monitoring",
            "impact": "auto",
            "body": "A fix is out; we are watching.",
            "no_further_updates": "on",
            "preview": "1",
        },
    )

    assert "No further updates until it is resolved." in response.content.decode()
    assert not Incident.objects.filter(name="Slow search").exists()


# --- the services ----------------------------------------------------------------------------


def test_the_service_refuses_a_past_promise(org, editor, incident, clock):
    with pytest.raises(ValidationError, match="has already passed"):
        services.post_update(
            incident,
            actor=member(editor),
            status="identified",
            body="x",
            next_update_due=clock.now - timedelta(minutes=1),
        )
    assert incident.updates.count() == 1


def test_automated_callers_may_promise_nothing(org, editor, incident):
    update = services.post_update(incident, actor=member(editor), status="identified", body="x")

    incident.refresh_from_db()
    assert update.next_update_due is None and incident.next_update_due is None


# --- the management API ----------------------------------------------------------------------


def updates_url(incident: Incident) -> str:
    return f"/api/v1/incidents/{incident.public_id}/updates/"


def test_the_api_applies_the_default_cadence_when_nothing_is_said(api, api_key, org, clock):
    response = api(api_key).post(
        "/api/v1/incidents/", {"name": "Queue delays", "status": "identified"}, content_type=JSON
    )

    assert response.status_code == 201
    due = clock.now + timedelta(minutes=30)
    assert response.json()["next_update_due"] == due.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert response.json()["no_further_updates"] is False


def test_the_api_takes_minutes_a_time_or_no_further_updates(api, api_key, incident, clock):
    client = api(api_key)
    in_minutes = client.post(
        updates_url(incident),
        {"status": "identified", "next_update_in_minutes": 45},
        content_type=JSON,
    )
    at = (clock.now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    at_time = client.post(
        updates_url(incident), {"status": "identified", "next_update_due": at}, content_type=JSON
    )
    no_further = client.post(
        updates_url(incident),
        {"status": "monitoring", "no_further_updates": True},
        content_type=JSON,
    )

    assert in_minutes.status_code == at_time.status_code == no_further.status_code == 201
    expected = (clock.now + timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert in_minutes.json()["next_update_due"] == expected
    assert at_time.json()["next_update_due"] == at
    assert no_further.json()["next_update_due"] is None
    assert no_further.json()["no_further_updates"] is True
    incident.refresh_from_db()
    assert incident.no_further_updates is True and incident.next_update_due is None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"next_update_due": "2020-01-01T10:00:00Z"},
            "next_update_due",
            "has already passed. Choose a time in the future.",
        ),
        (
            {"next_update_due": "2999-01-01T10:00:00Z"},
            "next_update_due",
            "is more than 7 days away.",
        ),
        ({"next_update_in_minutes": 0}, "next_update_in_minutes", "greater than or equal to 1"),
        (
            {"next_update_in_minutes": 30, "next_update_due": "2999-01-01T10:00:00Z"},
            "next_update_in_minutes",
            "either in minutes or as a time, not both",
        ),
        (
            {"no_further_updates": True},
            "no_further_updates",
            "is only for an incident being monitored",
        ),
    ],
    ids=["past", "years", "zero", "both", "no-further-identified"],
)
def test_a_bad_promise_is_a_400_with_a_json_body_and_nothing_is_written(
    api, api_key, incident, data, field, message
):
    before = (IncidentUpdate.objects.count(), AuditEntry.objects.count())

    response = api(api_key).post(
        updates_url(incident), {"status": "identified", **data}, content_type=JSON
    )

    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert (IncidentUpdate.objects.count(), AuditEntry.objects.count()) == before


def test_resolving_through_the_api_refuses_a_promise(api, api_key, incident):
    response = api(api_key).post(
        updates_url(incident),
        {"status": "resolved", "next_update_in_minutes": 30},
        content_type=JSON,
    )

    assert response.status_code == 400
    assert response.json()["next_update_in_minutes"] == [
        "A resolved incident promises no further update."
    ]


# --- the organization's cadence --------------------------------------------------------------


def settings_url(org) -> str:
    return reverse("notifications:settings", args=[org.slug])


def test_an_editor_sets_the_cadence_in_the_notification_settings(client, org, editor):
    client.force_login(editor)

    response = client.post(settings_url(org), {"update_cadence_minutes": "15"}, follow=True)

    assert NotificationSettings.for_org(org).update_cadence_minutes == 15
    assert "within 15 minutes by default" in response.content.decode()
    entry = AuditEntry.objects.get(action="notifications.settings")
    assert entry.data == {"update_cadence_minutes": 15}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "0 minutes cannot be promised"),
        ("4", "Choose between 5 minutes and 24 hours"),
        ("525600", "525600 minutes cannot be promised"),
        ("", "Say how many minutes until the next update is due."),
        ("soon", "Enter a whole number."),
    ],
)
def test_a_cadence_of_zero_or_years_is_refused_with_a_clear_message(
    client, org, editor, value, message
):
    client.force_login(editor)

    response = client.post(
        settings_url(org), {"update_cadence_minutes": value, "email_component_changes": "on"}
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not NotificationSettings.objects.filter(organization=org).exists()
    assert not AuditEntry.objects.filter(action="notifications.settings").exists()


def test_the_service_refuses_a_bad_cadence(org, owner):
    with pytest.raises(ValidationError, match="cannot be promised"):
        set_update_reminders(org, actor=member(owner), cadence_minutes=60 * 24 * 365)
    assert not NotificationSettings.objects.filter(organization=org).exists()


def test_a_viewer_cannot_change_the_cadence(client, org, viewer):
    client.force_login(viewer)

    response = client.post(settings_url(org), {"update_cadence_minutes": "10"})

    assert response.status_code == 403
    assert NotificationSettings.for_org(org).update_cadence_minutes == 30


# --- the staff Slack webhook -----------------------------------------------------------------

SLACK = "https://hooks.slack.com/services/T01/B02/XyZsecretSlackToken1234"


@pytest.fixture
def public_dns(monkeypatch):
    """hooks.slack.com resolves to a public address (no network in tests)."""

    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


def test_an_editor_sets_the_staff_slack_hook_and_it_shows_masked(client, org, editor, public_dns):
    client.force_login(editor)

    response = client.post(
        settings_url(org), {"update_cadence_minutes": "30", "staff_slack_url": SLACK}, follow=True
    )

    assert NotificationSettings.for_org(org).staff_slack_url == SLACK
    page = response.content.decode()
    assert "Update reminders now also go to your staff Slack channel." in page
    assert "https://hooks.slack.com/services/T01/B02/…" in page
    assert "XyZsecretSlackToken1234" not in page
    entry = AuditEntry.objects.get(action="notifications.settings")
    assert entry.data == {"staff_slack": "set"}


def test_the_staff_slack_hook_can_be_removed(client, org, editor, owner, public_dns):
    set_update_reminders(org, actor=member(owner), staff_slack_url=SLACK)
    client.force_login(editor)

    client.post(settings_url(org), {"update_cadence_minutes": "30", "remove_staff_slack": "on"})

    assert NotificationSettings.for_org(org).staff_slack_url == ""


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://example.com/hook", "Use a Slack incoming-webhook URL"),
        ("https://hooks.slack.com/services/T0/B0/x y", "The URL contains spaces."),
    ],
)
def test_a_bad_staff_slack_hook_is_refused_and_nothing_is_written(
    client, org, editor, public_dns, url, message
):
    client.force_login(editor)

    response = client.post(
        settings_url(org), {"update_cadence_minutes": "10", "staff_slack_url": url}
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not NotificationSettings.objects.filter(organization=org).exists()


def test_a_staff_slack_hook_resolving_to_a_private_address_is_refused(
    client, org, editor, monkeypatch
):
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))
        ],
    )
    client.force_login(editor)

    response = client.post(
        settings_url(org), {"update_cadence_minutes": "30", "staff_slack_url": SLACK}
    )

    assert response.status_code == 400
    assert "resolves to a non-public address" in response.content.decode()
    assert NotificationSettings.for_org(org).staff_slack_url == ""


def test_the_settings_service_refuses_viewers_and_read_only_keys(org, viewer, read_only_key):
    for actor in (member(viewer), read_only_key.principal):
        with pytest.raises(PermissionDenied):
            set_update_reminders(org, actor=actor, cadence_minutes=10)
    assert not NotificationSettings.objects.filter(organization=org).exists()


# --- the dashboard list ----------------------------------------------------------------------


def test_the_incident_list_lists_overdue_incidents_first_and_says_so(
    client, org, editor, viewer, clock
):
    def open_(name: str, minutes: int) -> None:
        services.open_incident(
            org, actor=member(editor), name=name, status="identified", body="b",
            next_update_due=clock.now + timedelta(minutes=minutes),
        )  # fmt: skip
        clock.move(minutes=1)

    open_("Overdue for long", 5)
    open_("On time", 120)
    open_("Overdue a little", 20)
    open_("Also on time", 60)
    clock.move(minutes=30)
    client.force_login(viewer)

    page = client.get(url(org, "list")).content.decode()

    names = re.findall(r'<td><a href="[^"]+">([^<]+)</a></td>', page)
    assert names == ["Overdue for long", "Overdue a little", "Also on time", "On time"]
    assert "2 incidents are overdue for an update" in page
    assert page.count("Update overdue since") == 2


def test_the_incident_list_says_nothing_about_overdue_when_all_is_on_time(
    client, org, viewer, incident
):
    client.force_login(viewer)

    page = client.get(url(org, "list")).content.decode()

    assert "overdue for an update" not in page
    assert "Next update by" in page
