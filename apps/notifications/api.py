"""Management API: subscribers (`/api/v1/subscribers/`): list, add, remove, with component filters.

Email subscribers added here get the same double opt-in mail as on the public page: nothing else
is sent before the link is clicked. The exception is a trusted importer key
(`ApiKey.can_import_confirmed`) sending `already_confirmed: true`: the address consented
elsewhere (a migration), so it is stored confirmed, with no mail (apps.notifications.importing).
Webhook and Slack subscribers are active at once; the webhook
signing secret is in the create response. Removing a subscriber unsubscribes it (pending
deliveries are skipped); the row stays for the record, with state `disabled`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.base import OrgViewSetMixin
from apps.api.fields import OrgObjectListField, StrictSerializer
from apps.api.filters import ListFilterSerializer, ordering_field
from apps.api.schema import IDEMPOTENCY_KEY, WRITE_ERRORS, error_responses
from apps.api.serializers import ErrorSerializer
from apps.status.models import Component

from . import importing, services
from .models import Subscriber


class SubscriberSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    # Plain strings: empty when the channel has none (an email subscriber has no URL).
    email = serializers.CharField(read_only=True, help_text="Empty for Slack subscribers.")
    url = serializers.CharField(read_only=True, help_text="Empty for email subscribers.")
    components = serializers.SerializerMethodField(
        help_text="Ids of the components it follows; empty means the whole page."
    )
    confirmed = serializers.SerializerMethodField(
        help_text="False until an email subscriber clicks the confirmation link (true at "
        "once when a trusted importer key added it with `already_confirmed`)."
    )

    class Meta:
        model = Subscriber
        fields = [
            "id",
            "channel",
            "email",
            "url",
            "components",
            "state",
            "confirmed",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_components(self, subscriber: Subscriber) -> list[str]:
        return [component.public_id for component in subscriber.components.all()]

    @extend_schema_field(serializers.BooleanField())
    def get_confirmed(self, subscriber: Subscriber) -> bool:
        return subscriber.confirmed_at is not None


class SubscriberCreatedSerializer(SubscriberSerializer):
    webhook_secret = serializers.SerializerMethodField(
        help_text="Webhook subscribers: the Standard Webhooks signing secret. Null otherwise."
    )

    class Meta(SubscriberSerializer.Meta):
        fields = [*SubscriberSerializer.Meta.fields, "webhook_secret"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_webhook_secret(self, subscriber: Subscriber) -> str | None:
        return (
            subscriber.webhook_secret if subscriber.channel == Subscriber.Channel.WEBHOOK else None
        )


class SubscriberCreateSerializer(StrictSerializer):
    channel = serializers.ChoiceField(choices=Subscriber.Channel.choices)
    email = serializers.EmailField(
        required=False,
        help_text="Email subscribers: the address. Webhooks: where failure notices go.",
    )
    url = serializers.URLField(
        required=False, max_length=2000, help_text="Webhook or Slack incoming-webhook URL."
    )
    components = OrgObjectListField(
        model=Component,
        label_name="component id",
        required=False,
        help_text="Only hear about these components; omit for the whole page.",
    )
    already_confirmed = serializers.BooleanField(
        default=False,
        help_text="Email subscribers only, and only with a trusted importer key "
        "(`can_import_confirmed`): `true` stores the address as confirmed and sends no "
        "confirmation mail, for people who already consented, e.g. subscribers moved over "
        "from another status page. An address waiting for its confirmation click becomes "
        "confirmed; a stopped subscription (unsubscribed, removed) is a 409. Any other key "
        "gets a 403 and nothing is stored. Webhook and Slack subscribers are active at once: "
        "`true` there is a 400. The response's `confirmed` tells the outcome.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["channel"] != Subscriber.Channel.EMAIL and attrs.get("already_confirmed"):
            raise serializers.ValidationError(
                {
                    "already_confirmed": [
                        "Only email subscribers wait for a confirmation; webhook and Slack "
                        "subscribers are active at once. Leave already_confirmed out."
                    ]
                }
            )
        if attrs["channel"] == Subscriber.Channel.EMAIL and not attrs.get("email"):
            raise serializers.ValidationError({"email": ["Email subscribers need an address."]})
        if attrs["channel"] != Subscriber.Channel.EMAIL and not attrs.get("url"):
            raise serializers.ValidationError(
                {"url": ["Webhook and Slack subscribers need a URL."]}
            )
        return attrs


class SubscriberFilterSerializer(ListFilterSerializer):
    channel = serializers.ChoiceField(choices=Subscriber.Channel.choices, required=False)
    state = serializers.ChoiceField(choices=Subscriber.State.choices, required=False)
    component = serializers.CharField(
        required=False, max_length=32, help_text="Only subscribers following this component id."
    )
    ordering = ordering_field(["created_at"], "-created_at")


TAGS = ["subscribers"]


@extend_schema_view(
    list=extend_schema(
        summary="List subscribers",
        tags=TAGS,
        parameters=[SubscriberFilterSerializer],
        responses={200: SubscriberSerializer, **error_responses(400)},
    ),
    retrieve=extend_schema(
        summary="Get a subscriber",
        tags=TAGS,
        responses={200: SubscriberSerializer, **error_responses(404)},
    ),
    create=extend_schema(
        summary="Add a subscriber",
        description="Email subscribers get a confirmation mail and receive nothing else until "
        "they confirm, unless a trusted importer key sends `already_confirmed: true` (then "
        "they are confirmed at once and get no mail; the audit log names the key). Webhook "
        "and Slack subscribers are active at once; an endpoint that is already subscribed is "
        "a 409.",
        tags=TAGS,
        parameters=[IDEMPOTENCY_KEY],
        request=SubscriberCreateSerializer,
        responses={
            201: SubscriberCreatedSerializer,
            **error_responses(*WRITE_ERRORS),
            403: OpenApiResponse(
                ErrorSerializer,
                description="The API key is read-only, or it sent `already_confirmed: true` "
                "without being trusted to import confirmed subscribers.",
            ),
        },
    ),
    destroy=extend_schema(
        summary="Unsubscribe",
        description="Stops all notifications at once. The subscriber stays listed as disabled.",
        tags=TAGS,
        responses={204: None, **error_responses(403, 404)},
    ),
)
class SubscriberViewSet(
    OrgViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Subscriber.objects.all()
    serializer_class = SubscriberSerializer
    lookup_url_kwarg = "subscriber_id"
    filter_serializer_class = SubscriberFilterSerializer
    ordering = "-created_at"

    def filter_queryset_for_request(self, queryset: QuerySet) -> QuerySet:
        return queryset.prefetch_related("components")

    def apply_filters(self, queryset: QuerySet, params: dict[str, Any]) -> QuerySet:
        for name in ("channel", "state"):
            if name in params:
                queryset = queryset.filter(**{name: params[name]})
        if "component" in params:
            queryset = queryset.filter(components__public_id=params["component"])
        if "created_after" in params:
            queryset = queryset.filter(created_at__gte=params["created_after"])
        if "created_before" in params:
            queryset = queryset.filter(created_at__lt=params["created_before"])
        return queryset

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = SubscriberCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        component_ids = [component.public_id for component in data.get("components", [])]
        if data["already_confirmed"]:
            key = self.request.auth
            if not key.is_trusted_importer:
                # Before anything is written: no row, no mail.
                raise exceptions.PermissionDenied(importing.UNTRUSTED_MESSAGE)
            subscriber = importing.import_confirmed_email(
                self.organization,
                email=data["email"],
                component_ids=component_ids,
                api_key=key,
                actor=self.actor,
            )
        elif data["channel"] == Subscriber.Channel.EMAIL:
            subscriber = services.subscribe_email(
                self.organization, email=data["email"], component_ids=component_ids
            )
        else:
            subscriber = services.subscribe_hook(
                self.organization,
                channel=data["channel"],
                url=data["url"],
                email=data.get("email", ""),
                component_ids=component_ids,
            )
        fresh = self.get_queryset().get(pk=subscriber.pk)
        return Response(SubscriberCreatedSerializer(fresh).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Subscriber) -> None:
        services.unsubscribe(instance)
