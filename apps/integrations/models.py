from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.api.credentials import ApiCredential
from apps.core.ids import PublicIdField
from apps.organizations.models import OrgOwnedModel
from apps.organizations.principals import ApiKeyPrincipal

KEY_PREFIX = "cnd_"


def hash_key(secret: str) -> str:
    # API keys are 32 random bytes: a fast hash is enough (nothing to brute-force), and it lets
    # authentication look the key up by hash in one indexed query.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def for_org(self, organization):
        return self.filter(organization=organization)

    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(OrgOwnedModel):
    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"
        # SECURITY: only admin keys manage API keys and alert integrations, so a leaked write
        # key cannot mint replacements that outlive its own revocation.
        ADMIN = "admin", "Admin"

    public_id = PublicIdField()
    name = models.CharField(max_length=100)
    # The first characters of the secret, shown in lists so people can tell keys apart.
    prefix = models.CharField(max_length=16, db_index=True)
    hashed_key = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.WRITE)
    # A "trusted importer": may add email subscribers as already confirmed (no double opt-in
    # mail), for addresses that consented elsewhere, e.g. a migration from another status page.
    # Set when the key is created, by an owner/admin or an admin key; never on read-only keys.
    can_import_confirmed = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # SECURITY: a read-only key cannot add anyone, so it cannot be a trusted importer
            # either; the database refuses the combination whatever path writes the row.
            models.CheckConstraint(
                condition=~models.Q(scope="read", can_import_confirmed=True),
                name="read_only_api_keys_are_never_trusted_importers",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope in (self.Scope.WRITE, self.Scope.ADMIN)

    @property
    def can_admin(self) -> bool:
        return self.scope == self.Scope.ADMIN

    @property
    def is_trusted_importer(self) -> bool:
        return self.can_import_confirmed and self.can_write

    @property
    def principal(self) -> ApiKeyPrincipal:
        """The key as the services' `actor`: its scope decides, through roles.py."""
        return ApiKeyPrincipal(self)

    @staticmethod
    def generate_secret() -> str:
        return KEY_PREFIX + secrets.token_urlsafe(32)


# The management API's base classes (apps.api, a lower floor) check request.auth against
# ApiCredential; an ApiKey is one.
ApiCredential.register(ApiKey)


# Inbound alerts and the importer are sub-packages with their own models.py; importing them here
# registers them with Django under this app (app label `integrations`).
from .alerts.models import AlertEvent, AlertGroupState, AlertIntegration  # noqa: E402
from .importer.models import ImportedObject, StagedImport  # noqa: E402

__all__ = [
    "AlertEvent",
    "AlertGroupState",
    "AlertIntegration",
    "ApiKey",
    "ImportedObject",
    "StagedImport",
]
