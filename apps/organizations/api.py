"""Management API: the organization's audit log (`/api/v1/audit-log/`), read-only."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from apps.api.base import OrgListViewSet
from apps.api.filters import ListFilterSerializer, ordering_field
from apps.api.schema import error_responses

from .models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor_label",
        read_only=True,
        help_text="Who did it: a member's email, an API key, or `system`.",
    )
    data = serializers.JSONField(read_only=True, help_text="Details that depend on the action.")

    class Meta:
        model = AuditEntry
        fields = [
            "action",
            "actor",
            "target_type",
            "target_id",
            "target_label",
            "ip_address",
            "data",
            "created_at",
        ]
        read_only_fields = fields


class AuditFilterSerializer(ListFilterSerializer):
    action = serializers.CharField(
        required=False,
        max_length=64,
        help_text="Only this action, e.g. `incident.open`; a value ending in `.` matches every "
        "action starting with it (`incident.`).",
    )
    ordering = ordering_field(["created_at"], "-created_at")


@extend_schema_view(
    list=extend_schema(
        summary="List audit log entries",
        description="Every staff and API action on the organization, newest first.",
        tags=["audit-log"],
        parameters=[AuditFilterSerializer],
        responses={200: AuditEntrySerializer, **error_responses(400)},
    )
)
class AuditLogViewSet(OrgListViewSet):
    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    filter_serializer_class = AuditFilterSerializer
    ordering = "-created_at"

    def apply_filters(self, queryset: QuerySet, params: dict[str, Any]) -> QuerySet:
        action = params.get("action")
        if action:
            if action.endswith("."):
                queryset = queryset.filter(action__startswith=action)
            else:
                queryset = queryset.filter(action=action)
        if "created_after" in params:
            queryset = queryset.filter(created_at__gte=params["created_after"])
        if "created_before" in params:
            queryset = queryset.filter(created_at__lt=params["created_before"])
        return queryset
