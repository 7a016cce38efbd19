"""Management API: inbound alert integrations (`/api/v1/integrations/`).

The hook URL carries a secret token, stored only as a hash: the full `hook_url` is in the
response to the create request and to `rotate-token`; other responses give `hook_url_hint`
(the URL with only the token's first characters). Bearer tokens and HMAC secrets are
write-only; responses say whether one is set.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.base import OrgViewSet
from apps.api.fields import StrictModelSerializer
from apps.api.permissions import HasAdminScope
from apps.api.schema import IDEMPOTENCY_KEY, WRITE_ERRORS, crud_schema, error_responses
from apps.status.models import ComponentStatus

from . import services as alerts
from .models import MAX_UPDATE_WINDOW_MINUTES, AlertIntegration

OUTAGE_STATUSES = [c for c in ComponentStatus.choices if c[0] != ComponentStatus.OPERATIONAL]


@extend_schema_field(
    {
        "type": "string",
        # A pattern, not an enum: the enum post-processing would name it after the field and
        # collide with the incidents' "kind" enum (a schema warning fails CI).
        "pattern": "^(" + "|".join(AlertIntegration.Kind.values) + ")$",
        "description": "Payload format: " + ", ".join(AlertIntegration.Kind.values) + ".",
    }
)
class IntegrationKindField(serializers.ChoiceField):
    pass


class AlertIntegrationSerializer(StrictModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    kind = IntegrationKindField(
        choices=AlertIntegration.Kind.choices,
        help_text="Payload format and URL suffix. Cannot be changed after creation.",
    )
    severity_map = serializers.DictField(
        child=serializers.ChoiceField(choices=OUTAGE_STATUSES),
        required=False,
        help_text="Severity label value → component status, on top of the defaults "
        "(critical → major_outage, major and warning → partial_outage).",
    )
    default_status = serializers.ChoiceField(
        choices=OUTAGE_STATUSES,
        required=False,
        help_text="Component status for severities not in the map.",
    )
    update_window_minutes = serializers.IntegerField(
        min_value=0,
        max_value=MAX_UPDATE_WINDOW_MINUTES,
        required=False,
        help_text="At most one alert-driven public update per incident in this many minutes; "
        "changes inside the window are folded into one update at its end (when every alert "
        "has resolved, that is posted at once). 0 posts every change at once.",
    )
    bearer_token = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Require `Authorization: Bearer <token>` on the hook; empty string removes it.",
    )
    hmac_secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Grafana: HMAC-SHA256 signing secret; empty string stops checking.",
    )
    bearer_token_set = serializers.SerializerMethodField()
    hmac_secret_set = serializers.SerializerMethodField()
    hook_url_hint = serializers.SerializerMethodField(
        help_text="The hook URL with only the token's first characters."
    )

    class Meta:
        model = AlertIntegration
        fields = [
            "id",
            "name",
            "kind",
            "enabled",
            "component_label",
            "severity_label",
            "severity_map",
            "default_status",
            "on_firing",
            "on_resolved",
            "deliver_notifications",
            "update_window_minutes",
            "signature_header",
            "timestamp_header",
            "bearer_token",
            "hmac_secret",
            "bearer_token_set",
            "hmac_secret_set",
            "hook_url_hint",
            "created_at",
            "updated_at",
            "last_received_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at", "last_received_at"]

    def get_bearer_token_set(self, integration: AlertIntegration) -> bool:
        return bool(integration.bearer_token_hash)

    def get_hmac_secret_set(self, integration: AlertIntegration) -> bool:
        return bool(integration.hmac_secret)

    def get_hook_url_hint(self, integration: AlertIntegration) -> str:
        return integration.hook_url()

    def validate_kind(self, value: str) -> str:
        if self.instance is not None and value != self.instance.kind:
            raise serializers.ValidationError("The kind cannot be changed; create another.")
        return value

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> AlertIntegration:
        integration, token = alerts.create_alert_integration(
            self.context["organization"], actor=self.context["principal"], **validated_data
        )
        integration.hook_url_with_token = integration.hook_url(token)  # type: ignore[attr-defined]
        return integration

    @transaction.atomic
    def update(
        self, instance: AlertIntegration, validated_data: dict[str, Any]
    ) -> AlertIntegration:
        validated_data.pop("kind", None)
        return alerts.update_alert_integration(
            instance, actor=self.context["principal"], **validated_data
        )


class AlertIntegrationCreatedSerializer(AlertIntegrationSerializer):
    hook_url = serializers.CharField(
        source="hook_url_with_token",
        read_only=True,
        help_text="The full hook URL with its secret token. Shown only in this response.",
    )

    class Meta(AlertIntegrationSerializer.Meta):
        fields = [*AlertIntegrationSerializer.Meta.fields, "hook_url"]
        read_only_fields = [*AlertIntegrationSerializer.Meta.read_only_fields, "hook_url"]


TAGS = ["integrations"]


@extend_schema_view(
    **(
        crud_schema("integration", "integrations", AlertIntegrationSerializer)
        | {
            "create": extend_schema(
                summary="Create an inbound alert integration",
                description="The response's `hook_url` carries the secret token; it is not "
                "shown again (rotate the token to get a new URL).",
                tags=TAGS,
                parameters=[IDEMPOTENCY_KEY],
                request=AlertIntegrationSerializer,
                responses={
                    201: AlertIntegrationCreatedSerializer,
                    **error_responses(*WRITE_ERRORS),
                },
            )
        }
    )
)
class AlertIntegrationViewSet(OrgViewSet):
    permission_classes = [HasAdminScope]
    queryset = AlertIntegration.objects.all()
    serializer_class = AlertIntegrationSerializer
    lookup_url_kwarg = "integration_id"
    ordering = "name"
    # SECURITY: the token exists only in the create and rotate responses; replays show null.
    idempotency_redact = ("hook_url",)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        integration = serializer.save()
        return Response(
            AlertIntegrationCreatedSerializer(
                integration, context=self.get_serializer_context()
            ).data,
            status=status.HTTP_201_CREATED,
        )

    def perform_destroy(self, instance: AlertIntegration) -> None:
        alerts.delete_alert_integration(instance, actor=self.principal)

    @extend_schema(
        summary="Rotate the hook URL token",
        description="The old URL stops working at once; the response carries the new one.",
        tags=TAGS,
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: AlertIntegrationCreatedSerializer, **error_responses(*WRITE_ERRORS, 404)},
    )
    @action(detail=True, methods=["post"], url_path="rotate-token")
    def rotate_token(self, request: Request, integration_id: str) -> Response:
        integration = self.get_object()
        token = alerts.rotate_hook_token(integration, actor=self.principal)
        integration.hook_url_with_token = integration.hook_url(token)  # type: ignore[attr-defined]
        return Response(
            AlertIntegrationCreatedSerializer(
                integration, context=self.get_serializer_context()
            ).data
        )
