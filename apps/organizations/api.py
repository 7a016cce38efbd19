"""Management API: the key's organization (`/api/v1/organization/`) and its audit log
(`/api/v1/audit-log/`), both read-only."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.base import OrgListViewSet
from apps.api.credentials import credential_of
from apps.api.filters import ListFilterSerializer, ordering_field
from apps.api.schema import error_responses
from apps.api.serializers import ErrorSerializer

from .models import AuditEntry, Organization


class OrganizationSerializer(serializers.ModelSerializer):
    id = serializers.CharField(
        source="public_id", read_only=True, help_text="Short random identifier, e.g. p31zjtct2jer."
    )
    # A plain string in the schema: the choices are every IANA zone, ~400 values.
    timezone = serializers.CharField(read_only=True, help_text="IANA time zone, e.g. Europe/Paris.")
    page_url = serializers.URLField(
        source="public_url", read_only=True, help_text="The public status page."
    )
    default_language = serializers.CharField(
        read_only=True,
        help_text="What the public page speaks when none of `languages` suits the reader, e.g. en.",
    )
    languages = serializers.ListField(
        source="offered_languages",
        child=serializers.CharField(),
        read_only=True,
        help_text="The languages readers can choose on the public page (the default among "
        'them), e.g. ["en", "de"].',
    )

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "slug",
            "timezone",
            "default_language",
            "languages",
            "page_url",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "slug": {"help_text": "The page's address: <slug>.<status domain> and /s/<slug>/."},
        }


ERROR_RESPONSES = {
    401: OpenApiResponse(ErrorSerializer, description="No API key, or an invalid or revoked one."),
    429: OpenApiResponse(ErrorSerializer, description="Too many requests; see Retry-After."),
}


class OrganizationView(APIView):
    # Default authentication, permission and throttle classes (settings.REST_FRAMEWORK): a key
    # is required, and the organization is the key's, never a parameter.

    @extend_schema(
        operation_id="organization_retrieve",
        summary="The key's organization",
        description="The organization the API key belongs to, with its public status page.",
        tags=["organization"],
        responses={200: OrganizationSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        organization = credential_of(request).organization
        return Response(OrganizationSerializer(organization, context={"request": request}).data)


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor_label",
        read_only=True,
        help_text="Who did it: a member's email, an API key, or `system`.",
    )
    # The serializer metaclass takes declared fields off the class, so Serializer.data stays.
    data = serializers.JSONField(  # type: ignore[assignment]
        read_only=True, help_text="Details that depend on the action."
    )

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
