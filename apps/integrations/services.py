"""Every write to API keys goes through here (dashboard, management commands, later the API)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.organizations.models import AuditEntry, Organization

from .models import ApiKey, hash_key

if TYPE_CHECKING:
    from apps.organizations.principals import Principal

# Shown in lists so people can tell keys apart: "cnd_" plus 8 random characters. Revealing them
# costs nothing: the secret has 32 random bytes, the prefix gives away 48 bits of it at most.
PREFIX_LENGTH = 12

READ_ONLY_TRUSTED_MESSAGE = (
    "A read-only key cannot add subscribers, so it cannot be a trusted importer: "
    "choose the read and write or the admin scope."
)


@transaction.atomic
def create_api_key(
    organization: Organization,
    *,
    actor: Principal,
    name: str,
    scope: str,
    can_import_confirmed: bool = False,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret. The secret exists only in the return value.

    actor needs `api_keys.manage` (owners and admins in the dashboard, admin keys in the API,
    the System for the command line); can_import_confirmed makes a trusted importer (see
    ApiKey), which needs a write or admin scope.
    """
    actor.require("api_keys.manage", organization)
    name = name.strip()
    if not name:
        raise ValidationError("Give the key a name.", code="required")
    if scope not in ApiKey.Scope.values:
        raise ValidationError(f"Unknown scope {scope!r}.", code="invalid_scope")
    if can_import_confirmed and scope == ApiKey.Scope.READ:
        raise ValidationError(READ_ONLY_TRUSTED_MESSAGE, code="read_only_trusted")
    secret = ApiKey.generate_secret()
    key = ApiKey.objects.create(
        organization=organization,
        name=name,
        scope=scope,
        can_import_confirmed=can_import_confirmed,
        # SECURITY: only the hash and a short prefix are stored; the secret cannot be shown again.
        prefix=secret[:PREFIX_LENGTH],
        hashed_key=hash_key(secret),
        created_by=actor.audit_user,
    )
    AuditEntry.record(
        organization,
        actor=actor,
        action="api_key.create",
        target=key,
        data={"scope": scope, "prefix": key.prefix, "can_import_confirmed": can_import_confirmed},
    )
    return key, secret


@transaction.atomic
def revoke_api_key(key: ApiKey, *, actor: Principal) -> ApiKey:
    """Revoke key at once: the next request that sends it gets 401. Revoking twice is a no-op."""
    actor.require("api_keys.manage", key.organization)
    now = timezone.now()
    # A conditional UPDATE, so two people revoking at the same time write one audit row.
    revoked = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
    if revoked:
        key.revoked_at = now
        AuditEntry.record(key.organization, actor=actor, action="api_key.revoke", target=key)
    else:
        key.refresh_from_db(fields=["revoked_at"])
    return key
