from __future__ import annotations

import pytest
from django.urls import reverse

from apps.organizations.models import AuditEntry, Membership
from apps.organizations.roles import Role
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def membership(org, user) -> Membership:
    return Membership.objects.get(organization=org, user=user)


def change_role(client, org, user, role):
    url = reverse("organizations:change_role", args=[org.slug, membership(org, user).pk])
    return client.post(url, {"role": role}, follow=True)


def remove(client, org, user):
    url = reverse("organizations:remove_member", args=[org.slug, membership(org, user).pk])
    return client.post(url, follow=True)


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_the_team_page_lists_members_with_their_roles(login, org, owner, editor, viewer):
    response = login(viewer).get(reverse("organizations:members", args=[org.slug]))
    assert response.status_code == 200
    content = response.content.decode()
    assert owner.email in content
    assert editor.email in content
    assert "Editor" in content


def test_a_viewer_sees_the_team_without_management_controls(login, org, owner, viewer):
    response = login(viewer).get(reverse("organizations:members", args=[org.slug]))
    assert b"Send invitation" not in response.content
    assert b'name="role"' not in response.content


def test_an_owner_changes_a_members_role(login, org, owner, editor):
    change_role(login(owner), org, editor, Role.ADMIN)
    assert membership(org, editor).role == Role.ADMIN
    entry = AuditEntry.objects.get(organization=org, action="member.role_change")
    assert entry.data == {"from": "editor", "to": "admin"}
    assert entry.actor == owner


def test_an_owner_can_make_another_owner(login, org, owner, admin):
    change_role(login(owner), org, admin, Role.OWNER)
    assert membership(org, admin).role == Role.OWNER


def test_an_admin_changes_an_editor_to_viewer(login, org, admin, editor):
    change_role(login(admin), org, editor, Role.VIEWER)
    assert membership(org, editor).role == Role.VIEWER


def test_an_admin_cannot_make_an_owner(login, org, owner, admin, editor):
    response = change_role(login(admin), org, editor, Role.OWNER)
    assert membership(org, editor).role == Role.EDITOR
    assert "Choose one of the roles" in messages_of(response)


def test_an_admin_cannot_demote_an_owner(login, org, owner, admin):
    url = reverse("organizations:change_role", args=[org.slug, membership(org, owner).pk])
    response = login(admin).post(url, {"role": Role.VIEWER})
    assert response.status_code == 403
    assert membership(org, owner).role == Role.OWNER


def test_an_admin_cannot_remove_an_owner(login, org, owner, admin):
    url = reverse("organizations:remove_member", args=[org.slug, membership(org, owner).pk])
    assert login(admin).post(url).status_code == 403
    assert Membership.objects.filter(organization=org, user=owner).exists()


def test_the_last_owner_cannot_demote_themselves(login, org, owner, admin):
    response = change_role(login(owner), org, owner, Role.ADMIN)
    assert membership(org, owner).role == Role.OWNER
    assert "at least one owner" in messages_of(response)


def test_one_of_two_owners_can_demote_the_other(login, org, owner):
    second = MembershipFactory(organization=org, role=Role.OWNER).user
    change_role(login(owner), org, second, Role.EDITOR)
    assert membership(org, second).role == Role.EDITOR


def test_an_owner_with_a_co_owner_may_step_down(login, org, owner):
    MembershipFactory(organization=org, role=Role.OWNER)
    change_role(login(owner), org, owner, Role.ADMIN)
    assert membership(org, owner).role == Role.ADMIN


def test_the_team_page_explains_why_the_last_owner_cannot_change(login, org, owner):
    response = login(owner).get(reverse("organizations:members", args=[org.slug]))
    assert b"The only owner" in response.content


def test_an_admin_removes_an_editor(login, org, admin, editor):
    response = remove(login(admin), org, editor)
    assert not Membership.objects.filter(organization=org, user=editor).exists()
    assert "was removed" in messages_of(response)
    assert AuditEntry.objects.filter(organization=org, action="member.remove").exists()


def test_removing_yourself_points_to_leaving(login, org, owner, admin):
    response = remove(login(admin), org, admin)
    assert Membership.objects.filter(organization=org, user=admin).exists()
    assert "Leave organization" in messages_of(response)


def test_a_member_of_another_organization_cannot_be_targeted(login, org, owner, outsider):
    other = Membership.objects.get(user=outsider)
    url = reverse("organizations:remove_member", args=[org.slug, other.pk])
    assert login(owner).post(url).status_code == 404
    assert Membership.objects.filter(pk=other.pk).exists()


def test_a_viewer_can_leave(login, org, owner, viewer):
    response = login(viewer).post(reverse("organizations:leave", args=[org.slug]))
    assert response.status_code == 302
    assert response.url == reverse("orgs:home")
    assert not Membership.objects.filter(organization=org, user=viewer).exists()
    assert AuditEntry.objects.filter(organization=org, action="member.leave").exists()


def test_the_last_owner_cannot_leave(login, org, owner, admin):
    client = login(owner)
    assert (
        b"You are the only owner"
        in client.get(reverse("organizations:leave", args=[org.slug])).content
    )
    response = client.post(reverse("organizations:leave", args=[org.slug]), follow=True)
    assert Membership.objects.filter(organization=org, user=owner).exists()
    assert "at least one owner" in messages_of(response)


def test_an_owner_with_a_co_owner_can_leave(login, org, owner):
    MembershipFactory(organization=org, role=Role.OWNER)
    login(owner).post(reverse("organizations:leave", args=[org.slug]))
    assert not Membership.objects.filter(organization=org, user=owner).exists()


def test_the_sidebar_shows_admin_pages_by_permission_not_by_role_name(login, org, admin, viewer):
    admin_page = login(admin).get(reverse("organizations:members", args=[org.slug])).content
    viewer_page = login(viewer).get(reverse("organizations:members", args=[org.slug])).content
    audit_url = reverse("organizations:audit", args=[org.slug]).encode()
    domains_url = reverse("organizations:domains", args=[org.slug]).encode()
    assert audit_url in admin_page
    assert domains_url in admin_page
    assert audit_url not in viewer_page
    assert domains_url not in viewer_page


def test_the_team_page_renders_with_a_bounded_number_of_queries(
    login, org, owner, django_assert_max_num_queries
):
    from tests.factories import InvitationFactory

    for _ in range(15):
        MembershipFactory(organization=org)
    for _ in range(10):
        InvitationFactory(organization=org, invited_by=owner)
    client = login(owner)
    with django_assert_max_num_queries(12):
        client.get(reverse("organizations:members", args=[org.slug]))
