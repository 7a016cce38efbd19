from __future__ import annotations

from django.db import models
from django.utils import timezone

from apps.organizations.models import OrgOwnedModel


class IdempotencyKey(OrgOwnedModel):
    """A POST sent with `Idempotency-Key`, and the response it got (apps.api.idempotency).

    The row is claimed (inserted) before the request runs, so a concurrent retry with the same
    key finds it and gets 409 instead of running twice; response_status stays null until the
    first request finishes. Rows older than IDEMPOTENCY_WINDOW are purged.
    """

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

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="one_idempotency_key_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.response_status or 'in progress'})"
