from __future__ import annotations

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import mail, signing
from django.urls import reverse
from django.utils import timezone

from apps.organizations import services
from apps.organizations.models import AuditEntry, Invitation, Membership
from apps.organizations.roles import Role
from tests.factories import PASSWORD, InvitationFactory, UserFactory

pytestmark = pytest.mark.django_db


def invite(client, org, email="new.person@example.com", role=Role.EDITOR):
    return client.post(
        reverse("organizations:invite", args=[org.slug]), {"email": email, "role": role}
    )


def link_path(message) -> str:
    match = re.search(r"https?://[^/\s]+(/invitations/[^/\s]+/)", message.body)
    assert match, message.body
    return match[1]


def accept_path(invitation) -> str:
    return reverse("orgs:invitation_accept", args=[services.invitation_token(invitation)])


def test_inviting_sends_an_email_with_a_link(login, org, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(login(owner), org)
    assert response.status_code == 302
    invitation = Invitation.objects.get(organization=org, email="new.person@example.com")
    assert invitation.role == Role.EDITOR
    assert invitation.invited_by == owner
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@example.com"]
    assert "Acme Cloud" in mail.outbox[0].subject
    assert link_path(mail.outbox[0]) == accept_path(invitation)
    assert AuditEntry.objects.filter(organization=org, action="invitation.send").count() == 1


def test_the_invitation_token_is_signed_and_embeds_public_id_and_nonce(org, owner):
    invitation = InvitationFactory(organization=org, invited_by=owner)
    signer = signing.Signer(salt=services.INVITATION_SALT)
    payload = signer.unsign_object(services.invitation_token(invitation))
    assert payload == {"i": invitation.public_id, "n": invitation.nonce}


def test_the_email_address_is_normalised(login, org, owner):
    invite(login(owner), org, email="  New.Person@Example.COM ")
    assert Invitation.objects.filter(email="new.person@example.com").exists()


def test_inviting_an_existing_member_is_a_form_error(login, org, owner, editor):
    response = invite(login(owner), org, email="EDDIE@acme.test")
    assert response.status_code == 400
    assert "already a member" in response.context["invite_form"].errors["email"][0]
    assert not Invitation.objects.filter(organization=org).exists()


def test_inviting_an_address_with_a_pending_invitation_is_a_form_error(login, org, owner):
    InvitationFactory(organization=org, email="pending@example.com")
    response = invite(login(owner), org, email="pending@example.com")
    assert response.status_code == 400
    assert "pending invitation" in response.context["invite_form"].errors["email"][0]
    assert Invitation.objects.filter(organization=org).count() == 1


def test_an_expired_invitation_is_replaced_by_a_new_one(login, org, owner):
    old = InvitationFactory(
        organization=org, email="late@example.com", sent_at=timezone.now() - timedelta(days=30)
    )
    invite(login(owner), org, email="late@example.com")
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert Invitation.objects.filter(email="late@example.com", revoked_at__isnull=True).count() == 1


def test_the_same_address_may_be_invited_by_another_organization(login, org, owner, other_org):
    InvitationFactory(organization=other_org, email="shared@example.com")
    response = invite(login(owner), org, email="shared@example.com")
    assert response.status_code == 302


def test_an_admin_cannot_invite_an_owner(login, org, admin):
    response = invite(login(admin), org, role=Role.OWNER)
    assert response.status_code == 400
    assert response.context["invite_form"].errors["role"]
    assert not Invitation.objects.exists()


def test_an_admin_can_invite_an_admin(login, org, admin):
    invite(login(admin), org, role=Role.ADMIN)
    assert Invitation.objects.get().role == Role.ADMIN


def test_an_editor_cannot_invite(login, org, editor):
    assert invite(login(editor), org).status_code == 403


def test_the_team_page_lists_pending_invitations_with_their_state(login, org, owner):
    InvitationFactory(organization=org, email="pending@example.com")
    InvitationFactory(
        organization=org, email="expired@example.com", sent_at=timezone.now() - timedelta(days=8)
    )
    InvitationFactory(organization=org, email="revoked@example.com", revoked_at=timezone.now())
    response = login(owner).get(reverse("organizations:members", args=[org.slug]))
    content = response.content.decode()
    assert "pending@example.com" in content
    assert "Pending" in content
    assert "Expired" in content
    assert "Revoked" in content


def test_a_logged_out_visitor_sees_who_invited_them_to_what(client, org, owner):
    invitation = InvitationFactory(organization=org, invited_by=owner, role=Role.ADMIN)
    response = client.get(accept_path(invitation))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Acme Cloud" in content
    assert owner.get_full_name() in content
    assert invitation.email in content
    assert "admin" in content
    assert reverse("account_signup") in content
    assert reverse("account_login") in content
    assert client.session["pending_invitation"] == services.invitation_token(invitation)


def test_signing_up_with_the_invited_address_needs_no_second_verification(client, org, owner):
    invitation = InvitationFactory(organization=org, email="newbie@example.com", invited_by=owner)
    invitation_page = client.get(accept_path(invitation)).content.decode()
    assert reverse("account_signup") + "?email=newbie%40example.com" in invitation_page
    signup_page = client.get(reverse("account_signup"), {"email": "newbie@example.com"})
    assert b'value="newbie@example.com"' in signup_page.content
    response = client.post(
        reverse("account_signup"),
        {"email": "newbie@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert mail.outbox == []
    assert response.status_code == 302
    assert response.url == accept_path(invitation)
    client.post(response.url)
    membership = Membership.objects.get(organization=org, user__email="newbie@example.com")
    assert membership.role == Role.EDITOR


def test_signing_up_with_another_address_verifies_it_then_returns_to_the_link(client, org):
    invitation = InvitationFactory(organization=org, email="work@example.com")
    client.get(accept_path(invitation))
    client.post(
        reverse("account_signup"),
        {"email": "personal@example.net", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert mail.outbox[-1].to == ["personal@example.net"]
    confirm = re.search(r"http://[^/\s]+(/accounts/confirm-email/[^/\s]+/)", mail.outbox[-1].body)
    response = client.post(confirm[1])
    assert response.status_code == 302
    assert response.url == accept_path(invitation)
    addresses = EmailAddress.objects.filter(user__email="personal@example.net")
    assert [(a.email, a.verified) for a in addresses] == [("personal@example.net", True)]


def test_an_existing_user_logs_in_from_the_link_and_lands_back_on_it(client, org, owner):
    user = UserFactory(email="returning@example.com")
    invitation = InvitationFactory(organization=org, email=user.email)
    client.get(accept_path(invitation))
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == accept_path(invitation)


def test_a_logged_in_user_accepts_and_becomes_a_member(login, org, owner):
    user = UserFactory(email="joiner@example.com")
    invitation = InvitationFactory(organization=org, email=user.email, role=Role.VIEWER)
    client = login(user)
    assert client.get(accept_path(invitation)).status_code == 200
    response = client.post(accept_path(invitation))
    assert response.status_code == 302
    assert response.url == reverse("organizations:overview", args=[org.slug])
    assert Membership.objects.get(organization=org, user=user).role == Role.VIEWER
    invitation.refresh_from_db()
    assert invitation.accepted_by == user
    assert invitation.accepted_at is not None
    assert AuditEntry.objects.filter(organization=org, action="invitation.accept").exists()


def test_a_different_logged_in_address_is_shown_clearly_and_may_still_accept(login, org):
    user = UserFactory(email="personal@example.net")
    invitation = InvitationFactory(organization=org, email="work@example.com")
    client = login(user)
    response = client.get(accept_path(invitation))
    assert response.context["email_differs"] is True
    assert b"You are logged in as personal@example.net" in response.content
    client.post(accept_path(invitation))
    entry = AuditEntry.objects.get(organization=org, action="invitation.accept")
    assert entry.data["invited_email"] == "work@example.com"
    assert entry.data["accepted_as"] == "personal@example.net"
    assert Membership.objects.filter(organization=org, user=user).exists()


def test_an_existing_member_accepting_keeps_their_role(login, org, owner, viewer):
    invitation = InvitationFactory(organization=org, email=viewer.email, role=Role.ADMIN)
    login(viewer).post(accept_path(invitation))
    assert Membership.objects.get(organization=org, user=viewer).role == Role.VIEWER
    assert Membership.objects.filter(organization=org, user=viewer).count() == 1


def test_an_expired_link_answers_410(login, org):
    invitation = InvitationFactory(organization=org, sent_at=timezone.now() - timedelta(days=8))
    client = login(UserFactory())
    response = client.post(accept_path(invitation))
    assert response.status_code == 410
    assert b"expired" in response.content
    assert not Membership.objects.filter(organization=org).exists()


def test_a_link_is_still_valid_just_before_the_expiry(login, org, settings):
    sent = timezone.now() - timedelta(days=settings.INVITATION_MAX_AGE_DAYS) + timedelta(minutes=5)
    invitation = InvitationFactory(organization=org, sent_at=sent)
    assert login(UserFactory()).get(accept_path(invitation)).status_code == 200


def test_a_used_link_cannot_be_used_again(login, org):
    invitation = InvitationFactory(organization=org)
    path = accept_path(invitation)
    login(UserFactory()).post(path)
    second = UserFactory()
    response = login(second).post(path)
    assert response.status_code == 410
    assert b"already been accepted" in response.content
    assert not Membership.objects.filter(organization=org, user=second).exists()


def test_a_revoked_link_answers_410(login, org, owner):
    invitation = InvitationFactory(organization=org)
    path = accept_path(invitation)
    login(owner).post(
        reverse("organizations:revoke_invitation", args=[org.slug, invitation.public_id])
    )
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    response = login(UserFactory()).post(path)
    assert response.status_code == 410
    assert b"withdrawn" in response.content


def test_a_tampered_link_answers_404(client, org):
    invitation = InvitationFactory(organization=org)
    token = services.invitation_token(invitation)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    response = client.get(reverse("orgs:invitation_accept", args=[tampered]))
    assert response.status_code == 404
    assert b"not valid" in response.content
    assert "pending_invitation" not in client.session


def test_a_token_signed_with_another_salt_answers_404(client, org):
    invitation = InvitationFactory(organization=org)
    forged = signing.Signer(salt="other").sign_object(
        {"i": invitation.public_id, "n": invitation.nonce}
    )
    assert client.get(reverse("orgs:invitation_accept", args=[forged])).status_code == 404


def test_resending_kills_the_old_link_and_mails_a_new_one(
    login, org, owner, django_capture_on_commit_callbacks
):
    invitation = InvitationFactory(
        organization=org, invited_by=owner, sent_at=timezone.now() - timedelta(days=6)
    )
    old_path = accept_path(invitation)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(owner).post(
            reverse("organizations:resend_invitation", args=[org.slug, invitation.public_id])
        )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.sent_at > timezone.now() - timedelta(minutes=1)
    new_path = link_path(mail.outbox[-1])
    assert new_path != old_path
    joiner = UserFactory()
    client = login(joiner)
    assert client.get(old_path).status_code == 410
    assert client.post(new_path).status_code == 302
    assert Membership.objects.filter(organization=org, user=joiner).exists()
    assert AuditEntry.objects.filter(organization=org, action="invitation.resend").exists()


def test_another_organizations_invitation_cannot_be_revoked(login, org, owner, other_org):
    invitation = InvitationFactory(organization=other_org)
    response = login(owner).post(
        reverse("organizations:revoke_invitation", args=[org.slug, invitation.public_id])
    )
    assert response.status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_an_accepted_invitation_cannot_be_resent(login, org, owner):
    invitation = InvitationFactory(organization=org, accepted_at=timezone.now())
    login(owner).post(
        reverse("organizations:resend_invitation", args=[org.slug, invitation.public_id])
    )
    assert not AuditEntry.objects.filter(action="invitation.resend").exists()
