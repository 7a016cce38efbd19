"""The principal: who acts, what it may do (roles.py), and how the audit log names it."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils import timezone

from apps.organizations.models import AuditEntry
from apps.organizations.principals import SCOPE_PERMISSIONS, ApiKeyPrincipal, Member, System
from apps.organizations.roles import PERMISSIONS
from apps.organizations.tenancy import org_view

from ..factories import ApiKeyFactory, member


def test_a_member_can_what_their_role_holds(org, editor, viewer):
    assert member(editor).can("incidents.edit")
    assert not member(editor).can("incidents.delete")
    assert member(viewer).can("org.view")
    assert not member(viewer).can("incidents.edit")


def test_require_refuses_a_role_too_low_with_permission_denied(org, viewer):
    with pytest.raises(PermissionDenied, match="role"):
        member(viewer).require("incidents.edit", org)


def test_require_refuses_another_organizations_object(org, other_org, outsider):
    with pytest.raises(PermissionDenied, match="another organization"):
        member(outsider).require("org.view", org)


def test_an_unknown_permission_is_a_bug_not_a_refusal(org, owner):
    with pytest.raises(KeyError):
        member(owner).require("incidents.fly", org)


def test_member_of_refuses_a_non_member(org, outsider):
    with pytest.raises(PermissionDenied):
        Member.of(outsider, org)


def test_a_member_is_named_by_email_in_the_audit_log(org, editor):
    entry = AuditEntry.record(org, actor=member(editor), action="test.act")
    assert (entry.actor, entry.actor_label) == (editor, "eddie@acme.test")


def test_api_key_scopes_map_to_roles_permissions(org, read_only_key, api_key, admin_key):
    read, write, admin = (ApiKeyPrincipal(k) for k in (read_only_key, api_key, admin_key))
    assert (read.can("org.view"), read.can("incidents.edit")) == (True, False)
    assert (write.can("incidents.edit"), write.can("incidents.delete")) == (True, True)
    assert (write.can("api_keys.manage"), admin.can("api_keys.manage")) == (False, True)


def test_no_api_key_scope_may_delete_the_organization_or_manage_owners():
    for permissions in SCOPE_PERMISSIONS.values():
        assert not permissions & {
            "org.delete",
            "org.billing",
            "members.manage_owners",
            "org.require_two_factor",
            "org.export",
            "org.erase_person",
        }
        assert permissions <= set(PERMISSIONS)


def test_a_read_only_key_is_refused_with_the_scope_message(org, read_only_key):
    with pytest.raises(PermissionDenied, match="read-only"):
        ApiKeyPrincipal(read_only_key).require("incidents.edit", org)


def test_a_revoked_key_may_do_nothing(org):
    key = ApiKeyFactory(organization=org, scope="admin", revoked_at=timezone.now())
    with pytest.raises(PermissionDenied, match="revoked"):
        ApiKeyPrincipal(key).require("org.view", org)


def test_another_organizations_key_is_refused(org, other_api_key):
    with pytest.raises(PermissionDenied, match="another organization"):
        ApiKeyPrincipal(other_api_key).require("incidents.edit", org)


def test_an_api_key_is_named_by_name_and_prefix_in_the_audit_log(org, api_key):
    entry = AuditEntry.record(org, actor=ApiKeyPrincipal(api_key), action="test.act")
    assert entry.actor is None
    assert entry.actor_label == f"API key “Deploy script” ({api_key.prefix}…)"


def test_the_system_may_act_in_any_organization(org, other_org):
    system = System("Alertmanager integration “prod”")
    system.require("incidents.delete", org)
    system.require("components.edit", other_org)


def test_the_systems_audit_label_is_its_label(org):
    entry = AuditEntry.record(org, actor=System("Alertmanager integration “prod”"), action="x.y")
    assert (entry.actor, entry.actor_label) == (None, "Alertmanager integration “prod”")
    assert AuditEntry.record(org, actor=System(), action="x.y").actor_label == "system"


def test_org_view_gives_the_view_the_members_principal(rf, org, editor):
    seen = {}

    @org_view("incidents.edit")
    def view(request):
        seen["principal"] = request.principal
        return HttpResponse("ok")

    request = rf.get("/dashboard/acme/")
    request.user, request.session = editor, SessionStore()
    assert view(request, org_slug="acme").status_code == 200
    assert isinstance(seen["principal"], Member)
    assert (seen["principal"].audit_user, seen["principal"].role) == (editor, "editor")


def test_org_view_refuses_a_role_too_low_through_the_principal(rf, org, viewer):
    view = org_view("incidents.edit")(lambda request: HttpResponse("ok"))
    request = rf.post("/dashboard/acme/")
    request.user, request.session = viewer, SessionStore()
    with pytest.raises(PermissionDenied):
        view(request, org_slug="acme")


def test_an_api_key_is_its_own_principal(api_key):
    principal = api_key.principal
    assert isinstance(principal, ApiKeyPrincipal)
    assert (principal.credential, principal.scope) == (api_key, "write")
