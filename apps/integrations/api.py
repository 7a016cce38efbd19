"""Management API: API keys of the organization (`/api/v1/api-keys/`).

Keys are organization-level credentials: only an admin key may list, create and revoke the
organization's keys (the dashboard restricts the same to owners and admins, who create keys).
That includes trusted importers (`can_import_confirmed`), which skip the double opt-in.
The secret is returned once, in the response to the create request; only its hash is stored.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.base import OrgViewSetMixin
from apps.api.fields import StrictModelSerializer
from apps.api.filters import ListFilterSerializer, ordering_field
from apps.api.permissions import HasAdminScope
from apps.api.schema import IDEMPOTENCY_KEY, WRITE_ERRORS, error_responses

from . import services
from .models import ApiKey


class ApiKeySerializer(StrictModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    scope = serializers.ChoiceField(
        choices=ApiKey.Scope.choices,
        default=ApiKey.Scope.READ,
        help_text="`read` keys can only read; `write` keys can change everything but "
        "credentials; `admin` keys can also manage API keys and alert integrations.",
    )
    prefix = serializers.CharField(
        read_only=True, help_text="The first characters of the secret, to tell keys apart."
    )
    can_import_confirmed = serializers.BooleanField(
        default=False,
        help_text="Trusted importer: may add email subscribers as already confirmed "
        "(`already_confirmed` on `POST /api/v1/subscribers/`), without a confirmation mail. "
        "Only for addresses that already consented, e.g. a migration from another status "
        "page. Needs `write` or `admin` scope; set when the key is created, never changed.",
    )
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "scope",
            "can_import_confirmed",
            "prefix",
            "active",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = ["id", "prefix", "active", "created_at", "last_used_at", "revoked_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("can_import_confirmed") and attrs.get("scope") == ApiKey.Scope.READ:
            raise serializers.ValidationError(
                {"can_import_confirmed": [services.READ_ONLY_TRUSTED_MESSAGE]}
            )
        return attrs


class ApiKeyCreatedSerializer(ApiKeySerializer):
    secret = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The key itself, for `Authorization: Bearer …`. Shown only in this response "
        "(null when the response is an Idempotency-Key replay: the secret is never stored).",
    )

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "secret"]
        read_only_fields = [*ApiKeySerializer.Meta.read_only_fields, "secret"]


class ApiKeyFilterSerializer(ListFilterSerializer):
    active = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Only active (or revoked) keys."
    )
    ordering = ordering_field(["created_at", "name"], "-created_at")


TAGS = ["api-keys"]


@extend_schema_view(
    list=extend_schema(
        summary="List API keys",
        tags=TAGS,
        parameters=[ApiKeyFilterSerializer],
        responses={200: ApiKeySerializer, **error_responses(400)},
    ),
    retrieve=extend_schema(
        summary="Get an API key",
        tags=TAGS,
        responses={200: ApiKeySerializer, **error_responses(404)},
    ),
    create=extend_schema(
        summary="Create an API key",
        description="The response carries the secret; it cannot be shown again.",
        tags=TAGS,
        parameters=[IDEMPOTENCY_KEY],
        request=ApiKeySerializer,
        responses={201: ApiKeyCreatedSerializer, **error_responses(*WRITE_ERRORS)},
    ),
    destroy=extend_schema(
        summary="Revoke an API key",
        description="The key stops working at once. It stays listed, with `revoked_at`.",
        tags=TAGS,
        responses={204: None, **error_responses(403, 404)},
    ),
)
class ApiKeyViewSet(
    OrgViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [HasAdminScope]
    queryset = ApiKey.objects.all()
    serializer_class = ApiKeySerializer
    lookup_url_kwarg = "key_id"
    # SECURITY: the secret exists only in the create response; a replay shows null.
    idempotency_redact = ("secret",)
    filter_serializer_class = ApiKeyFilterSerializer
    ordering = "-created_at"

    def apply_filters(self, queryset: QuerySet, params: dict[str, Any]) -> QuerySet:
        if params.get("active") is not None:
            queryset = queryset.filter(revoked_at__isnull=params["active"])
        if "created_after" in params:
            queryset = queryset.filter(created_at__gte=params["created_after"])
        if "created_before" in params:
            queryset = queryset.filter(created_at__lt=params["created_before"])
        return queryset

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, secret = services.create_api_key(
            self.organization,
            actor=self.principal,
            name=serializer.validated_data["name"],
            scope=serializer.validated_data["scope"],
            can_import_confirmed=serializer.validated_data["can_import_confirmed"],
        )
        key.secret = secret  # type: ignore[attr-defined]  # for this one response only
        return Response(ApiKeyCreatedSerializer(key).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ApiKey) -> None:
        services.revoke_api_key(instance, actor=self.principal)
