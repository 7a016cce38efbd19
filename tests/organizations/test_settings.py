from __future__ import annotations

import pytest
from django.urls import reverse

from apps.organizations.models import AuditEntry, Organization
from tests.factories import ComponentFactory

pytestmark = pytest.mark.django_db


def settings_url(org) -> str:
    return reverse("organizations:settings", args=[org.slug])


def delete_url(org) -> str:
    return reverse("organizations:delete", args=[org.slug])


def form_data(org, **changes) -> dict:
    """The settings form as a browser sends it, unchanged but for `changes`."""
    data = {
        "name": org.name,
        "timezone": org.timezone,
        "default_language": org.default_language,
        "languages": org.offered_languages,
    }
    return {**data, **changes}


def test_an_admin_changes_the_name_and_time_zone(login, org, admin):
    response = login(admin).post(
        settings_url(org), form_data(org, name="Acme Cloud Inc.", timezone="America/New_York")
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.name == "Acme Cloud Inc."
    assert org.timezone == "America/New_York"
    entry = AuditEntry.objects.get(organization=org, action="organization.update")
    assert entry.data["changes"]["name"] == ["Acme Cloud", "Acme Cloud Inc."]


def test_an_unchanged_form_records_nothing(login, org, admin):
    login(admin).post(settings_url(org), form_data(org))
    assert not AuditEntry.objects.filter(action="organization.update").exists()
    assert not AuditEntry.objects.filter(action="organization.languages").exists()


def test_an_empty_name_is_a_form_error(login, org, admin):
    response = login(admin).post(settings_url(org), form_data(org, name=""))
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    org.refresh_from_db()
    assert org.name == "Acme Cloud"


def test_a_viewer_sees_the_settings_but_cannot_change_them(login, org, viewer):
    client = login(viewer)
    page = client.get(settings_url(org))
    assert page.status_code == 200
    assert b"Only owners and admins" in page.content
    assert b"Danger zone" not in page.content
    response = client.post(settings_url(org), form_data(org, name="Hacked"))
    assert response.status_code == 403


def test_only_owners_see_the_danger_zone(login, org, owner, admin):
    assert b"Danger zone" in login(owner).get(settings_url(org)).content
    assert b"Danger zone" not in login(admin).get(settings_url(org)).content


def test_deleting_needs_the_slug_typed_exactly(login, org, owner):
    response = login(owner).post(delete_url(org), {"confirmation": "Acme"})
    assert response.status_code == 400
    assert "exactly" in response.context["delete_form"].errors["confirmation"][0]
    assert Organization.objects.filter(pk=org.pk).exists()


def test_an_owner_deletes_the_organization_and_everything_in_it(login, org, owner):
    component = ComponentFactory(organization=org)
    response = login(owner).post(delete_url(org), {"confirmation": "acme"})
    assert response.status_code == 302
    assert response.url == reverse("orgs:home")
    assert not Organization.objects.filter(pk=org.pk).exists()
    assert not type(component).objects.filter(pk=component.pk).exists()


def test_an_admin_cannot_delete_the_organization(login, org, owner, admin):
    response = login(admin).post(delete_url(org), {"confirmation": "acme"})
    assert response.status_code == 403
    assert Organization.objects.filter(pk=org.pk).exists()


def test_the_overview_checklist_starts_with_nothing_done(login, org, owner):
    response = login(owner).get(reverse("organizations:overview", args=[org.slug]))
    assert response.status_code == 200
    assert [step["done"] for step in response.context["steps"]] == [False, False, False]
    assert org.public_path_url.encode() in response.content
    assert org.subdomain_host.encode() in response.content


def test_the_overview_checklist_ticks_components_and_team(login, org, owner, editor):
    ComponentFactory(organization=org)
    response = login(owner).get(reverse("organizations:overview", args=[org.slug]))
    assert [step["done"] for step in response.context["steps"]] == [True, True, False]


def test_the_overview_hides_the_domain_step_from_editors(login, org, owner, editor):
    response = login(editor).get(reverse("organizations:overview", args=[org.slug]))
    assert len(response.context["steps"]) == 2


@pytest.mark.parametrize(
    "model", ["organization", "membership", "invitation", "domain", "auditentry"]
)
def test_the_operator_admin_lists_every_organizations_model(client, org, owner, model):
    from tests.factories import UserFactory

    staff = UserFactory(email="ops@candor.test", is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.get(reverse(f"admin:organizations_{model}_changelist"))
    assert response.status_code == 200


def test_the_admin_never_shows_an_invitation_nonce(client, org):
    from tests.factories import InvitationFactory, UserFactory

    invitation = InvitationFactory(organization=org)
    client.force_login(UserFactory(email="ops@candor.test", is_staff=True, is_superuser=True))
    response = client.get(reverse("admin:organizations_invitation_change", args=[invitation.pk]))
    assert response.status_code == 200
    assert invitation.nonce.encode() not in response.content
