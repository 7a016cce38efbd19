"""Every organizations dashboard URL: outsiders get 404, viewers get 403 on writes."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import get_resolver, reverse

from apps.organizations.models import Membership
from apps.organizations.principals import Member
from apps.organizations.services import create_page_access_token
from tests.factories import DomainFactory, InvitationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(org, owner, editor):
    return {
        "membership_id": Membership.objects.get(organization=org, user=editor).pk,
        "invitation_id": InvitationFactory(organization=org).public_id,
        "domain_id": DomainFactory(organization=org).public_id,
        "token_id": create_page_access_token(org, actor=Member.of(owner, org), name="Feed")[
            0
        ].public_id,
    }


# url name -> the extra URL arguments (keys of the `objects` fixture) after the org slug.
URLS = {
    "overview": [],
    "members": [],
    "invite": [],
    "leave": [],
    "change_role": ["membership_id"],
    "remove_member": ["membership_id"],
    "resend_invitation": ["invitation_id"],
    "revoke_invitation": ["invitation_id"],
    "domains": [],
    "verify_domain": ["domain_id"],
    "remove_domain": ["domain_id"],
    "audit": [],
    "settings": [],
    "delete": [],
    "page_access": [],
    "create_page_token": [],
    "revoke_page_token": ["token_id"],
}
# Writes a viewer may do: leaving is open to every role.
VIEWER_MAY_POST = {"leave"}
WRITES = ["invite", "change_role", "remove_member", "resend_invitation", "revoke_invitation",
          "domains", "verify_domain", "remove_domain", "settings", "delete", "page_access",
          "create_page_token", "revoke_page_token"]  # fmt: skip


def url(org, name, objects) -> str:
    return reverse(f"organizations:{name}", args=[org.slug, *(objects[k] for k in URLS[name])])


def test_the_table_lists_every_organizations_url():
    resolver = get_resolver()
    names = {
        name
        for name in resolver.namespace_dict["organizations"][1].reverse_dict
        if isinstance(name, str)
    }
    assert names == set(URLS)


def test_every_write_is_in_the_viewer_table():
    assert set(WRITES) | VIEWER_MAY_POST | {"overview", "members", "audit"} == set(URLS)


@pytest.mark.parametrize("name", sorted(URLS))
def test_an_outsider_gets_404_on_get(login, org, outsider, objects, name):
    assert login(outsider).get(url(org, name, objects)).status_code == 404


@pytest.mark.parametrize("name", sorted(URLS))
def test_an_outsider_gets_404_on_post(login, org, outsider, objects, name):
    assert login(outsider).post(url(org, name, objects)).status_code == 404


@pytest.mark.parametrize("name", sorted(URLS))
def test_a_missing_organization_gets_the_same_404(login, org, outsider, objects, name):
    path = url(org, name, objects).replace("/acme/", "/no-such-org/", 1)
    response = login(outsider).get(path)
    assert response.status_code == 404


@pytest.mark.parametrize("name", WRITES)
def test_a_viewer_gets_403_on_every_write(login, org, viewer, objects, name):
    assert login(viewer).post(url(org, name, objects)).status_code == 403


@pytest.mark.parametrize("name", sorted(URLS))
def test_a_logged_out_visitor_is_sent_to_log_in(client, org, objects, name):
    response = client.get(url(org, name, objects))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_the_session_is_written_only_when_the_organization_changes(client, org, owner):
    client.force_login(owner)
    overview = reverse("organizations:overview", args=[org.slug])

    first = client.get(overview)
    second = client.get(overview)

    assert first.status_code == second.status_code == 200
    assert client.session["current_org"] == org.slug
    assert settings.SESSION_COOKIE_NAME in first.cookies  # remembered on the first visit
    assert settings.SESSION_COOKIE_NAME not in second.cookies  # and not saved again
