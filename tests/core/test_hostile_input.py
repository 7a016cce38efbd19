"""Hostile text at the input boundary (issue #14): control characters are refused with a message
naming the field, alerts have them stripped, and rows stored before the rule never break a feed,
a calendar or a mail header."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from django.core import mail
from django.urls import reverse

from apps.core.validators import name_problem, strip_control_characters, text_problem
from apps.forum import services as forum_services
from apps.forum.services import ForumError
from apps.incidents.models import Incident
from apps.integrations.alerts.payloads import parse
from apps.notifications.channels import email as email_channel
from apps.status.models import Component
from tests.factories import (
    ComponentFactory,
    IncidentFactory,
    IncidentUpdateFactory,
    MaintenanceFactory,
)

JSON = "application/json"
VT = "\u000b"
ESC = "\u001b"


def parse_xml(document: bytes) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314 - our own output, parsed in a test


# --- the rule --------------------------------------------------------------------------------


@pytest.mark.parametrize("character", ["\x00", "\x01", VT, "\x0c", ESC, "\x1f", "\x7f", "\ud800"])
def test_the_text_rule_refuses_control_characters_and_lone_surrogates(character):
    assert text_problem(f"Database {character} slow") is not None


@pytest.mark.parametrize("text", ["Line one\nline two", "Tab\there", "Windows\r\nline", "Ünï 🚀"])
def test_the_text_rule_allows_tabs_line_breaks_and_any_printable_text(text):
    assert text_problem(text) is None


def test_the_message_names_the_character_and_the_rule():
    assert text_problem(f"a{VT}b") == (
        "Contains the control character U+000B. "
        "Tab and line breaks are allowed; other control characters are not."
    )


def test_strip_control_characters_keeps_tabs_and_line_breaks():
    assert strip_control_characters(f"a{VT}b\tc\nd{ESC}[31m\ud800") == "ab\tc\nd[31m"


# --- the API ---------------------------------------------------------------------------------


def test_the_api_refuses_a_control_character_in_an_incident_name(api, api_key, org):
    response = api(api_key).post(
        "/api/v1/incidents/",
        {"name": f"Database {VT} slow", "status": "investigating"},
        content_type=JSON,
    )

    assert response.status_code == 400
    assert "U+000B" in response.json()["name"][0]
    assert not Incident.objects.for_org(org).exists()


def test_the_api_refuses_a_control_character_in_an_update_body(api, api_key, org):
    response = api(api_key).post(
        "/api/v1/incidents/",
        {"name": "Database slow", "status": "investigating", "body": f"Looking{ESC}[2J"},
        content_type=JSON,
    )

    assert response.status_code == 400
    assert "U+001B" in response.json()["body"][0]
    assert not Incident.objects.for_org(org).exists()


def test_the_api_refuses_a_control_character_in_a_component_name(api, admin_key, org):
    response = api(admin_key).post("/api/v1/components/", {"name": f"C{VT}DN"}, content_type=JSON)

    assert response.status_code == 400
    assert "U+000B" in response.json()["name"][0]
    assert not Component.objects.for_org(org).exists()


def test_the_api_still_takes_line_breaks_in_a_body(api, api_key, org):
    response = api(api_key).post(
        "/api/v1/incidents/",
        {"name": "Database slow", "status": "investigating", "body": "One.\r\n\tTwo."},
        content_type=JSON,
    )

    assert response.status_code == 201


# --- dashboard forms -------------------------------------------------------------------------


def test_the_incident_form_refuses_a_control_character_in_the_name(client, editor, org):
    client.force_login(editor)

    response = client.post(
        reverse("incidents:new", args=[org.slug]),
        {"name": f"Database {VT} slow", "status": "investigating", "impact": "auto", "body": "x"},
    )

    assert response.status_code == 400
    assert "U+000B" in str(response.context["form"].errors["name"])
    assert not Incident.objects.for_org(org).exists()


def test_the_component_form_refuses_a_control_character_in_the_description(client, editor, org):
    client.force_login(editor)

    response = client.post(
        reverse("status:component_create", args=[org.slug]),
        {"name": "CDN", "description": f"Static{ESC} files"},
    )

    assert response.status_code == 200
    assert "U+001B" in str(response.context["form"].errors["description"])
    assert not Component.objects.for_org(org).exists()


def test_the_organization_settings_form_refuses_a_control_character_in_the_name(client, owner, org):
    client.force_login(owner)

    response = client.post(
        reverse("organizations:settings", args=[org.slug]),
        {"name": f"Ac{VT}me", "timezone": "UTC"},
    )

    assert response.status_code == 200
    assert "U+000B" in str(response.context["form"].errors["name"])
    org.refresh_from_db()
    assert org.name == "Acme Cloud"


# --- forum comments --------------------------------------------------------------------------


def test_a_comment_with_a_control_character_is_refused(org, customer_principal):
    incident = IncidentFactory(organization=org)

    with pytest.raises(ForumError, match="U\\+000B"):
        forum_services.post_comment(incident, actor=customer_principal, body=f"Same {VT} here")


@pytest.fixture
def customer_principal(org):
    from apps.organizations.principals import Customer
    from tests.factories import UserFactory

    return Customer(UserFactory(email="casey@customer.test", display_name="Casey"), org)


# --- alerts: stripped, not refused -----------------------------------------------------------


def test_an_alert_title_and_description_have_control_characters_stripped():
    body = {
        "title": f"Disk {VT}full",
        "alerts": [{"status": "firing", "description": f"sda1{ESC}[31m at 99%"}],
    }

    notification = parse("generic", json.dumps(body).encode())

    assert notification.title == "Disk full"
    assert notification.alerts[0].annotations["description"] == "sda1[31m at 99%"


# --- outputs stay well-formed with a row stored before the rule --------------------------------


@pytest.fixture
def stored_bad_rows(org):
    """Rows written straight through the ORM, as before the rule existed."""
    component = ComponentFactory(organization=org, name=f"Data{VT}base")
    incident = IncidentFactory(organization=org, name=f"Database {VT} slow")
    incident.components.add(component)
    IncidentUpdateFactory(incident=incident, body=f"Looking{ESC}[2J into it")
    maintenance = MaintenanceFactory(organization=org, name=f"Upgrade{VT}")
    IncidentUpdateFactory(incident=maintenance, status="scheduled", body=f"Ten{ESC} minutes")
    org.name = f"Acme{VT} Cloud"
    org.save(update_fields=["name"])
    return incident


@pytest.mark.parametrize("path", ["/s/acme/history.atom", "/s/acme/history.rss"])
def test_a_stored_control_character_never_breaks_a_feed(client, stored_bad_rows, path):
    response = client.get(path)

    assert response.status_code == 200
    document = response.content.decode()
    assert VT not in document and ESC not in document
    assert "Database  slow" in document
    parse_xml(response.content)


def test_a_stored_control_character_never_breaks_the_maintenance_calendar(client, stored_bad_rows):
    response = client.get("/s/acme/maintenance.ics")

    assert response.status_code == 200
    calendar = response.content.decode()
    assert VT not in calendar and ESC not in calendar
    assert "SUMMARY:Upgrade" in calendar


def test_mail_headers_carry_no_control_characters():
    assert email_channel.header_text(f"[Acme] Investigating: {ESC}[31mDatabase{VT} slow") == (
        "[Acme] Investigating: [31mDatabase slow"
    )
    assert ESC not in email_channel.from_header(f"Acme{ESC}[2J")
    assert VT not in email_channel.list_name(f"Acme{VT}")


def test_subscriber_mail_for_a_stored_bad_name_has_a_clean_subject(stored_bad_rows, org):
    from apps.notifications.channels.email import send_confirmation
    from tests.notifications.factories import EmailSubscriberFactory

    send_confirmation(EmailSubscriberFactory(organization=org, email="reader@example.test"))

    (message,) = mail.outbox
    assert message.subject == "Confirm your subscription to Acme Cloud status updates"
    assert VT not in message.from_email


# --- the RSS channel description ---------------------------------------------------------------


def test_the_rss_channel_description_escapes_the_organization_name(client, org):
    org.name = "Acme <b>Cloud</b>"
    org.save(update_fields=["name"])

    root = parse_xml(client.get("/s/acme/history.rss").content)

    description = root.find("channel/description").text
    assert description == "Incidents and scheduled maintenance of Acme &lt;b&gt;Cloud&lt;/b&gt;"


# --- names (kept here so the rule's two halves read together) ----------------------------------


def test_the_name_rule_includes_the_text_rule():
    assert name_problem(f"Acme{VT}") is not None


def test_a_flag_message_with_a_control_character_is_refused(org, customer_principal):
    from apps.forum.models import Flag
    from apps.organizations.principals import Customer
    from tests.factories import UserFactory

    incident = IncidentFactory(organization=org)
    author = Customer(UserFactory(email="dana@customer.test", display_name="Dana"), org)
    comment = forum_services.post_comment(incident, actor=author, body="First!")

    with pytest.raises(ForumError, match="U\\+001B"):
        forum_services.flag_comment(
            comment, actor=customer_principal, reason="spam", message=f"Spam{ESC}[2J"
        )
    assert not Flag.objects.exists()
