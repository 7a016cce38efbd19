"""The rules live in services, so callers other than the dashboard (API, commands) get them too."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from apps.organizations import services
from apps.organizations.models import AuditEntry, Invitation, Membership, Organization
from apps.organizations.principals import ApiKeyPrincipal
from apps.organizations.roles import Role
from tests.factories import InvitationFactory, UserFactory, member

pytestmark = pytest.mark.django_db


def test_invite_member_refuses_an_existing_member_without_the_form(org, owner, editor):
    with pytest.raises(ValidationError):
        services.invite_member(org, actor=member(owner), email=editor.email, role=Role.VIEWER)


def test_invite_member_refuses_a_role_the_actor_cannot_give(org, admin):
    with pytest.raises(PermissionDenied):
        services.invite_member(org, actor=member(admin), email="x@example.com", role=Role.OWNER)


def test_invite_member_refuses_a_non_member(org, outsider):
    with pytest.raises(PermissionDenied):
        services.invite_member(org, actor=member(outsider), email="x@example.com", role=Role.VIEWER)


def test_the_invitation_email_is_sent_only_after_commit(
    org, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.invite_member(
            org, actor=member(owner), email="later@example.com", role=Role.EDITOR
        )
    assert mail.outbox == []
    callbacks[0]()
    message = mail.outbox[0]
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "/invitations/" in html
    assert owner.get_full_name() in message.body


def test_a_failure_while_accepting_leaves_nothing_half_done(org, owner, monkeypatch):
    invitation = InvitationFactory(organization=org)
    token = services.invitation_token(invitation)
    user = UserFactory()

    def broken_record(*args, **kwargs):
        raise RuntimeError("audit storage unavailable")

    monkeypatch.setattr(AuditEntry, "record", broken_record)
    with pytest.raises(RuntimeError):
        services.accept_invitation(token, actor=user)
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert not Membership.objects.filter(organization=org, user=user).exists()


def test_a_failure_while_creating_leaves_no_organization(monkeypatch):
    user = UserFactory()

    def broken_record(*args, **kwargs):
        raise RuntimeError("audit storage unavailable")

    monkeypatch.setattr(AuditEntry, "record", broken_record)
    with pytest.raises(RuntimeError):
        services.create_organization(actor=user, name="Half", slug="half")
    assert not Organization.objects.filter(slug="half").exists()


def test_the_last_owner_rule_is_a_validation_error_for_every_caller(org, owner):
    with pytest.raises(services.LastOwnerError):
        services.change_member_role(
            Membership.objects.get(user=owner), actor=member(owner), role=Role.VIEWER
        )
    with pytest.raises(services.LastOwnerError):
        services.leave_organization(org, actor=member(owner))


def test_delete_organization_checks_the_confirmation_itself(org, owner):
    with pytest.raises(ValidationError):
        services.delete_organization(org, actor=member(owner), confirmation="ACME")
    assert Organization.objects.filter(pk=org.pk).exists()


def test_revoking_twice_is_refused(org, owner):
    invitation = InvitationFactory(organization=org)
    services.revoke_invitation(invitation, actor=member(owner))
    with pytest.raises(ValidationError):
        services.revoke_invitation(Invitation.objects.get(pk=invitation.pk), actor=member(owner))


def test_an_organization_cannot_send_more_than_the_hourly_invitation_cap(org, owner):
    InvitationFactory.create_batch(services.INVITATIONS_PER_HOUR, organization=org)
    with pytest.raises(ValidationError, match="Too many invitations"):
        services.invite_member(
            org, actor=member(owner), email="one-more@example.com", role=Role.EDITOR
        )


def test_the_invitation_cap_is_shown_as_a_form_error(client, org, owner):
    from django.urls import reverse

    InvitationFactory.create_batch(services.INVITATIONS_PER_HOUR, organization=org)
    client.force_login(owner)
    response = client.post(
        reverse("organizations:invite", args=[org.slug]),
        {"email": "one-more@example.com", "role": Role.EDITOR},
    )
    assert response.status_code == 400
    assert "Too many invitations" in response.content.decode()


def test_an_api_key_cannot_manage_members_whatever_its_scope(org, admin_key, editor):
    with pytest.raises(PermissionDenied):
        services.invite_member(
            org, actor=ApiKeyPrincipal(admin_key), email="x@example.com", role=Role.VIEWER
        )
    with pytest.raises(PermissionDenied):
        services.remove_member(
            Membership.objects.get(user=editor), actor=ApiKeyPrincipal(admin_key)
        )
    assert Membership.objects.filter(user=editor).exists()


def test_a_viewer_cannot_change_settings_even_calling_the_service(org, viewer):
    with pytest.raises(PermissionDenied):
        services.update_organization_settings(
            org, actor=member(viewer), name="Renamed", timezone="UTC"
        )
    org.refresh_from_db()
    assert org.name == "Acme Cloud"
