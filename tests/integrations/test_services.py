from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.integrations.models import ApiKey, hash_key
from apps.integrations.services import create_api_key, revoke_api_key
from apps.organizations.models import AuditEntry
from apps.organizations.principals import ApiKeyPrincipal, System
from tests.factories import member


def test_create_api_key_stores_only_the_hash_and_a_short_prefix(org, owner):
    key, secret = create_api_key(org, actor=member(owner), name="Deploys", scope="write")

    key.refresh_from_db()
    assert secret.startswith("cnd_")
    assert len(secret) > 40
    assert key.hashed_key == hash_key(secret)
    assert key.hashed_key != secret
    assert key.prefix == secret[:12]
    stored_row = ApiKey.objects.filter(pk=key.pk).values().get()
    assert secret not in str(stored_row)


def test_a_key_is_found_by_the_hash_of_its_secret(org, owner):
    key, secret = create_api_key(org, actor=member(owner), name="Deploys", scope="read")

    assert ApiKey.objects.get(hashed_key=hash_key(secret)) == key


def test_create_api_key_records_who_made_it_without_the_secret(org, owner):
    key, secret = create_api_key(org, actor=member(owner), name="Deploys", scope="read")

    entry = AuditEntry.objects.for_org(org).get(action="api_key.create")
    assert key.created_by == owner
    assert entry.actor == owner
    assert entry.target_id == key.public_id
    assert entry.data == {"scope": "read", "prefix": key.prefix, "can_import_confirmed": False}
    assert secret not in str(entry.__dict__)


def test_a_key_made_by_the_system_has_no_creator_but_an_audit_label(org):
    key, _secret = create_api_key(org, actor=System(), name="Provisioning", scope="write")

    assert key.created_by is None
    assert AuditEntry.objects.for_org(org).get(action="api_key.create").actor_label == "system"


def test_create_api_key_refuses_an_unknown_scope_and_a_blank_name(org, owner):
    with pytest.raises(ValidationError):
        create_api_key(org, actor=member(owner), name="Deploys", scope="root")
    with pytest.raises(ValidationError):
        create_api_key(org, actor=member(owner), name="   ", scope="read")
    assert not ApiKey.objects.for_org(org).exists()


def test_revoking_a_key_twice_revokes_it_once(org, owner, api_key):
    revoke_api_key(api_key, actor=member(owner))
    first_revoked_at = api_key.revoked_at
    revoke_api_key(api_key, actor=member(owner))

    api_key.refresh_from_db()
    assert api_key.revoked_at == first_revoked_at
    assert not api_key.is_active
    assert AuditEntry.objects.for_org(org).filter(action="api_key.revoke").count() == 1


def test_only_principals_holding_api_keys_manage_may_create_or_revoke_keys(
    org, admin, editor, api_key, admin_key
):
    with pytest.raises(PermissionDenied):
        create_api_key(org, actor=member(editor), name="Deploys", scope="write")
    with pytest.raises(PermissionDenied, match="scope"):
        revoke_api_key(admin_key, actor=ApiKeyPrincipal(api_key))
    key, _secret = create_api_key(org, actor=member(admin), name="Deploys", scope="write")
    assert revoke_api_key(key, actor=ApiKeyPrincipal(admin_key)).revoked_at is not None
    assert admin_key.revoked_at is None
