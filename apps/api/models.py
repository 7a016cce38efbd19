from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone


class IdempotencyKeyQuerySet(models.QuerySet):
    def for_org(self, organization: Any) -> IdempotencyKeyQuerySet:
        return self.filter(organization=organization)


class IdempotencyKey(models.Model):
    """A POST sent with `Idempotency-Key`, and the response it got (apps.api.idempotency).

    The row is claimed (inserted) before the request runs, so a concurrent retry with the same
    key finds it and gets 409 instead of running twice; response_status stays null until the
    first request finishes. Rows older than IDEMPOTENCY_WINDOW are purged.

    An organization-owned row, like apps.organizations.models.OrgOwnedModel's (the same field and
    `for_org`), written out here because this app sits below apps.organizations in the layers
    (docs/architecture.md). Both relations name their model as a string, not an import.
    """

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="+"
    )
    api_key = models.ForeignKey(
        "integrations.ApiKey", on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path and (canonical JSON) body: "the same request".
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The rendered JSON text, not a JSONField: PostgreSQL's jsonb refuses "\u0000", which an
    # error message may quote back from the request.
    response_body = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = IdempotencyKeyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="one_idempotency_key_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.response_status or 'in progress'})"
