from __future__ import annotations

import pytest
from django.urls import reverse

from apps.organizations.models import AuditEntry, Membership, Organization
from apps.organizations.roles import Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def create(client, **data):
    payload = {"name": "Initech", "slug": "initech", "timezone": "Europe/Paris"} | data
    return client.post(reverse("orgs:new"), payload)


def test_the_create_form_renders_with_a_timezone_select(login):
    client = login(UserFactory())
    response = client.get(reverse("orgs:new"))
    assert response.status_code == 200
    assert b'<select name="timezone"' in response.content
    assert b"Europe/Paris" in response.content


def test_the_create_form_says_where_the_page_will_answer(login, settings):
    settings.SITE_URL = "http://127.0.0.1:8101"
    settings.STATUS_PAGE_DOMAIN = "status.localhost"
    client = login(UserFactory())

    text = client.get(reverse("orgs:new")).content.decode()

    assert "http://127.0.0.1:8101/s/<span data-slug-preview>your-name</span>/" in text
    assert "<span data-slug-preview>your-name</span>.status.localhost:8101)" in text


def test_creating_an_organization_makes_the_creator_its_owner(login):
    user = UserFactory()
    response = create(login(user))
    organization = Organization.objects.get(slug="initech")
    assert response.status_code == 302
    assert response.url == reverse("organizations:overview", args=["initech"])
    assert organization.timezone == "Europe/Paris"
    assert Membership.objects.get(organization=organization).user == user
    assert Membership.objects.get(organization=organization).role == Role.OWNER
    assert AuditEntry.objects.filter(organization=organization, action="organization.create")


def test_an_empty_slug_is_derived_from_the_name(login):
    create(login(UserFactory()), name="Umbrella Corp!", slug="")
    assert Organization.objects.filter(slug="umbrella-corp").exists()


def test_a_taken_slug_is_a_form_error(login, org):
    response = create(login(UserFactory()), slug="acme")
    assert response.status_code == 200
    assert "already taken" in response.context["form"].errors["slug"][0]
    assert Organization.objects.filter(slug="acme").count() == 1


def test_a_taken_slug_is_caught_case_insensitively(login, org):
    response = create(login(UserFactory()), slug="ACME")
    assert "already taken" in response.context["form"].errors["slug"][0]


@pytest.mark.parametrize("slug", ["admin", "www", "api", "new", "dashboard"])
def test_a_reserved_slug_is_a_form_error(login, slug):
    response = create(login(UserFactory()), slug=slug)
    assert "reserved" in response.context["form"].errors["slug"][0]
    assert not Organization.objects.filter(slug=slug).exists()


@pytest.mark.parametrize("slug", ["-acme", "acme-", "ac me", "acme_co", "a" * 41, "ümlaut"])
def test_an_invalid_slug_is_a_form_error(login, slug):
    response = create(login(UserFactory()), slug=slug)
    assert response.context["form"].errors["slug"]
    assert Organization.objects.count() == 0


def test_an_unknown_timezone_is_a_form_error(login):
    response = create(login(UserFactory()), timezone="Mars/Olympus")
    assert response.context["form"].errors["timezone"]


def test_logged_out_visitors_are_sent_to_log_in(client, db):
    response = client.get(reverse("orgs:new"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_home_lists_each_organization_with_the_users_role(login):
    user = UserFactory()
    MembershipFactory(user=user, organization=OrganizationFactory(name="Alpha"), role=Role.OWNER)
    MembershipFactory(user=user, organization=OrganizationFactory(name="Beta"), role=Role.VIEWER)
    response = login(user).get(reverse("orgs:home"))
    assert response.status_code == 200
    assert [m.organization.name for m in response.context["memberships"]] == ["Alpha", "Beta"]
    assert b"Owner" in response.content
    assert b"Viewer" in response.content


def test_home_without_organizations_leads_to_creating_one(login):
    response = login(UserFactory()).get(reverse("orgs:home"))
    assert b"Create your first status page" in response.content
    assert reverse("orgs:new").encode() in response.content


def test_home_does_not_list_other_peoples_organizations(login, outsider, org):
    response = login(outsider).get(reverse("orgs:home"))
    assert b"Acme Cloud" not in response.content
    assert b"Globex" in response.content
