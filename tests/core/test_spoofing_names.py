"""Spoofing characters (issue #14): direction overrides, isolates and zero-width characters are
refused in names, and names shown on public pages are isolated from the text around them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.incidents.models import Incident
from apps.organizations.models import Organization
from apps.status.models import Component, ComponentGroup
from tests.factories import IncidentFactory, IncidentUpdateFactory, UserFactory

JSON = "application/json"
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "Acme\u202eatad" reads "Acmeatad" reversed
SPOOFING = ["\u202a", RLO, "\u2066", "\u2069", "\u200b", "\u200d", "\u2060", "\ufeff"]


@pytest.mark.parametrize("character", SPOOFING)
def test_the_api_refuses_spoofing_characters_in_an_incident_name(api, api_key, org, character):
    response = api(api_key).post(
        "/api/v1/incidents/",
        {"name": f"Database{character} slow", "status": "investigating"},
        content_type=JSON,
    )

    assert response.status_code == 400
    assert "direction overrides or zero-width characters" in response.json()["name"][0]
    assert not Incident.objects.for_org(org).exists()


def test_the_api_refuses_a_direction_override_in_a_maintenance_name(api, api_key, org):
    response = api(api_key).post(
        "/api/v1/maintenances/",
        {
            "name": f"Upgrade{RLO}",
            "scheduled_for": "2030-01-01T10:00:00Z",
            "scheduled_until": "2030-01-01T11:00:00Z",
        },
        content_type=JSON,
    )

    assert response.status_code == 400
    assert "U+202E" in response.json()["name"][0]


def test_the_api_refuses_a_zero_width_space_in_component_and_group_names(api, admin_key, org):
    component = api(admin_key).post("/api/v1/components/", {"name": "C\u200bDN"}, content_type=JSON)
    group = api(admin_key).post(
        "/api/v1/component-groups/", {"name": "A\u200bPI"}, content_type=JSON
    )

    assert component.status_code == group.status_code == 400
    assert "U+200B" in component.json()["name"][0] and "U+200B" in group.json()["name"][0]
    assert not Component.objects.for_org(org).exists()
    assert not ComponentGroup.objects.for_org(org).exists()


def test_the_api_still_takes_right_to_left_text_in_names(api, api_key):
    response = api(api_key).post(
        "/api/v1/incidents/",
        {"name": "שגיאות ב-API", "status": "investigating"},
        content_type=JSON,
    )

    assert response.status_code == 201


def test_a_direction_override_stays_allowed_in_update_bodies(api, api_key):
    # Bodies are not names: only the control-character rule applies to them.
    response = api(api_key).post(
        "/api/v1/incidents/",
        {"name": "Database slow", "status": "investigating", "body": f"Quote: {RLO}abc"},
        content_type=JSON,
    )

    assert response.status_code == 201


def test_the_organization_settings_refuse_a_direction_override_in_the_name(client, owner, org):
    client.force_login(owner)

    response = client.post(
        reverse("organizations:settings", args=[org.slug]),
        {"name": f"Acme{RLO}duolC", "timezone": "UTC"},
    )

    assert "U+202E" in str(response.context["form"].errors["name"])
    assert Organization.objects.get(pk=org.pk).name == "Acme Cloud"


def test_a_new_organization_name_with_a_zero_width_joiner_is_refused(client, owner):
    client.force_login(owner)

    response = client.post(reverse("orgs:new"), {"name": "Gl\u200dobex", "slug": "globex"})

    assert "U+200D" in str(response.context["form"].errors["name"])
    assert not Organization.objects.filter(slug="globex").exists()


def test_the_component_form_refuses_a_direction_override_in_the_name(client, editor, org):
    client.force_login(editor)

    response = client.post(
        reverse("status:component_create", args=[org.slug]), {"name": f"CDN{RLO}"}
    )

    assert "U+202E" in str(response.context["form"].errors["name"])
    assert not Component.objects.for_org(org).exists()


def test_starter_component_names_are_names_too(client, editor, org):
    client.force_login(editor)

    response = client.post(
        reverse("status:starter_components", args=[org.slug]), {"names": f"Website, API{RLO}"}
    )

    assert "U+202E" in str(response.context["starter_form"].errors["names"])
    assert not Component.objects.for_org(org).exists()


def test_the_profile_refuses_an_isolate_in_the_display_name(client, owner):
    client.force_login(owner)

    response = client.post(reverse("accounts:profile"), {"display_name": "Alice\u2066"})

    assert "U+2066" in str(response.context["form"].errors["display_name"])


# --- shown isolated ---------------------------------------------------------------------------


def test_the_incident_title_is_isolated_on_its_public_page(client, org):
    incident = IncidentFactory(organization=org, name="שגיאות ב-API")
    IncidentUpdateFactory(incident=incident)

    page = client.get(f"/s/acme/incidents/{incident.public_id}/").content.decode()

    assert '<h1 id="incident-title" dir="auto">שגיאות ב-API</h1>' in page


def test_incident_titles_are_isolated_on_the_status_page_and_history(client, org):
    incident = IncidentFactory(organization=org, name="שגיאות ב-API")
    IncidentUpdateFactory(incident=incident)

    page = client.get("/s/acme/").content.decode()
    history = client.get("/s/acme/history/").content.decode()

    assert f'<h3 id="incident-{incident.public_id}" dir="auto">' in page
    assert '<h3 dir="auto"><a href="' in history


def test_comment_author_names_are_isolated(client, org):
    from apps.forum import services as forum_services
    from apps.organizations.principals import Customer

    incident = IncidentFactory(organization=org)
    IncidentUpdateFactory(incident=incident)
    customer = UserFactory(email="dana@customer.test", display_name="דנה")
    forum_services.post_comment(incident, actor=Customer(customer, org), body="Same here")

    page = client.get(f"/s/acme/incidents/{incident.public_id}/").content.decode()

    assert '<strong class="fm-author"><bdi>דנה</bdi></strong>' in page


def test_the_models_carry_the_rules_for_admin_and_full_clean(org):
    from django.core.exceptions import ValidationError

    from tests.factories import ComponentFactory

    incident = IncidentFactory.build(organization=org, name=f"Slow{RLO}")
    component = ComponentFactory.build(organization=org, name="CDN", description="a\x1bb")
    org.name = "Acme\u200b"

    with pytest.raises(ValidationError) as incident_error:
        incident.full_clean()
    with pytest.raises(ValidationError) as component_error:
        component.full_clean()
    with pytest.raises(ValidationError) as org_error:
        org.full_clean()
    assert "U+202E" in str(incident_error.value.message_dict["name"])
    assert "U+001B" in str(component_error.value.message_dict["description"])
    assert "U+200B" in str(org_error.value.message_dict["name"])
