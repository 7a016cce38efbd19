"""The status page importer's models: which Candor row each imported object became, and the
uploaded files between the dry run and the confirmation.

Imported by apps/integrations/models.py, so Django registers them under the `integrations` app
(the app that contains this module; same label, same tables, same migrations)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.ids import PublicIdField
from apps.organizations.models import OrgOwnedModel, OrgQuerySet


class ImportedObject(OrgOwnedModel):
    """Which Candor row an object of an imported status page became, so importing the same
    export twice finds it again instead of creating a duplicate."""

    class SourceKind(models.TextChoices):
        GROUP = "group", "Component group"
        COMPONENT = "component", "Component"
        INCIDENT = "incident", "Incident"

    source_kind = models.CharField(max_length=10, choices=SourceKind.choices)
    source_id = models.CharField(max_length=64)
    source_page_id = models.CharField(max_length=64, blank=True)
    group = models.ForeignKey(
        "status.ComponentGroup", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    component = models.ForeignKey(
        "status.Component", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField(default=timezone.now)

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source_kind", "source_id"], name="one_import_per_source"
            )
        ]


class StagedImport(OrgOwnedModel):
    """Uploaded export files between the dry run and the confirmation (deleted after a day)."""

    public_id = PublicIdField()
    summary = models.JSONField()
    incidents = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    imported_at = models.DateTimeField(null=True, blank=True)

    objects = OrgQuerySet.as_manager()
