from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_profile_page_links_to_email_password_and_two_factor(client):
    user = UserFactory(email="me@example.com")
    client.force_login(user)
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 200
    content = response.content.decode()
    assert reverse("account_email") in content
    assert reverse("account_change_password") in content
    assert reverse("mfa_index") in content
    assert "me@example.com" in content


def test_the_profile_page_lists_the_users_organizations(client, org):
    user = UserFactory()
    MembershipFactory(organization=org, user=user, role="admin")
    client.force_login(user)
    response = client.get(reverse("accounts:profile"))
    assert b"Acme Cloud" in response.content
    assert b"Admin" in response.content


def test_changing_the_display_name(client):
    user = UserFactory(display_name="Old Name")
    client.force_login(user)
    response = client.post(reverse("accounts:profile"), {"display_name": "  Ada   Lovelace "})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.display_name == "Ada Lovelace"
    assert str(user) == "Ada Lovelace"


def test_a_too_long_display_name_is_a_form_error(client):
    user = UserFactory(display_name="Kept")
    client.force_login(user)
    response = client.post(reverse("accounts:profile"), {"display_name": "x" * 81})
    assert response.status_code == 200
    assert response.context["form"].errors["display_name"]
    user.refresh_from_db()
    assert user.display_name == "Kept"


def test_the_profile_needs_a_login(client, db):
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_the_display_name_help_says_where_it_is_shown(client):
    """Updates on the status page carry no author; comments on its forum do."""
    client.force_login(UserFactory())
    content = client.get(reverse("accounts:profile")).content.decode()
    assert "Shown to your team: in the member list, beside the updates you post" in content
    assert "beside the comments you post on status pages" in content
    assert "Customers never see it." not in content
