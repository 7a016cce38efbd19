"""Management API: subscribers (`/api/v1/subscribers/`): list, add, remove, with component filters.

Email subscribers added here get the same double opt-in mail as on the public page: nothing else
is sent before the link is clicked. The exception is a trusted importer key
(`ApiKey.can_import_confirmed`) sending `already_confirmed: true`: the address consented
elsewhere (a migration), so it is stored confirmed, with no mail (services.import_confirmed_email).
Webhook and Slack subscribers are active at once; the webhook
signing secret is in the create response. Removing a subscriber unsubscribes it (pending
deliveries are skipped); the row stays for the record, with state `disabled`.

Also what the dashboard's Notifications pages show and do (apps.notifications.views):
the outbox (`/api/v1/notification-events/`) with delivery counts per event, an event's
deliveries, retrying its failed deliveries, and the organization's notification settings
(`/api/v1/notification-settings/`). Both call the dashboard's service functions, so the result and
the audit entry are the same whichever way staff go.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.fields import empty
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.base import OrgViewSetMixin
from apps.api.credentials import credential_of
from apps.api.fields import OrgObjectListField, StrictSerializer, organization_of
from apps.api.filters import ListFilterSerializer, ordering_field
from apps.api.pagination import CursorPagination
from apps.api.schema import IDEMPOTENCY_KEY, WRITE_ERRORS, error_responses
from apps.api.serializers import ErrorSerializer

from . import registry, services
from .models import Delivery, NotificationEvent, NotificationSettings, Subscriber
from .subscribers import Component


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
            "discussion_events",
            "language",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "discussion_events": {
                "help_text": "Webhook and Slack subscribers: also sent discussion events "
                "(`comment.created`, `comment.flagged`, `thread.affected_threshold`)."
            },
            "language": {
                "help_text": "The language their mail is written in (`en`, `de`, `fr`, `es`, "
                "`ja`): the page's when they subscribed on it, else the organization's default."
            },
        }

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

    discussion_events = serializers.BooleanField(
        default=False,
        help_text="Webhook and Slack subscribers only: `true` also sends them the forum's "
        "discussion events (`comment.created`, `comment.flagged`, "
        "`thread.affected_threshold`). Needs a key that may manage subscribers.",
    )
    language = serializers.CharField(
        required=False,
        max_length=8,
        help_text="The language of their mail, one the organization offers (`en`, `de`, `fr`, "
        "`es`, `ja`); omit for the organization's default. An address that is already "
        "subscribed keeps its own.",
    )

    def validate_language(self, value: str) -> str:
        offered = organization_of(self.fields["language"]).offered_languages
        if value not in offered:
            raise serializers.ValidationError(
                f"Not a language this page offers; use one of: {', '.join(offered)}."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["channel"] == Subscriber.Channel.EMAIL and attrs.get("discussion_events"):
            raise serializers.ValidationError(
                {
                    "discussion_events": [
                        "Discussion events go to webhook and Slack subscribers only. Leave "
                        "discussion_events out for an email subscriber."
                    ]
                }
            )
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
        if attrs["channel"] != Subscriber.Channel.EMAIL:
            # The channel and address checks (Slack only, no private address) name the field,
            # as the forms' do; subscribe_hook checks again before it writes.
            try:
                attrs["url"] = services.validate_hook_url(attrs["url"], attrs["channel"])
            except DjangoValidationError as error:
                raise serializers.ValidationError({"url": error.messages}) from error
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
                raise exceptions.PermissionDenied(services.UNTRUSTED_MESSAGE)
            subscriber = services.import_confirmed_email(
                self.organization,
                email=data["email"],
                component_ids=component_ids,
                api_key=key,
                actor=self.principal,
                language=data.get("language"),
            )
        elif data["channel"] == Subscriber.Channel.EMAIL:
            subscriber = services.subscribe_email(
                self.organization,
                email=data["email"],
                component_ids=component_ids,
                language=data.get("language"),
            )
        else:
            if data["discussion_events"]:
                # Before anything is written: a key that may not manage subscribers gets a 403.
                self.principal.require("subscribers.manage", self.organization)
            with transaction.atomic():
                subscriber = services.subscribe_hook(
                    self.organization,
                    channel=data["channel"],
                    url=data["url"],
                    email=data.get("email", ""),
                    component_ids=component_ids,
                    language=data.get("language"),
                )
                if data["discussion_events"]:
                    services.set_discussion_events(subscriber, enabled=True, actor=self.principal)
        fresh = self.get_queryset().get(pk=subscriber.pk)
        return Response(SubscriberCreatedSerializer(fresh).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Subscriber) -> None:
        services.unsubscribe(instance)


# --- notification events and their deliveries (the dashboard's Notifications pages) -----------


class DeliveryCountsSerializer(serializers.Serializer):
    pending = serializers.IntegerField(help_text="Waiting to be sent, or to be retried.")
    sent = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Gave up; `retry` sends them again.")
    skipped = serializers.IntegerField(
        help_text="Not sent on purpose, e.g. the subscriber unsubscribed in the meantime."
    )


class EventKindField(serializers.ChoiceField):
    """A notification event's kind: one of those the emitting apps registered
    (apps.notifications.registry), which the schema documents as an enum.

    The choices are read in __init__, not in the serializer's class body: the apps register at
    ready(), and DRF builds a serializer's fields afresh (deep copy, so __init__ again) for
    every serializer instance, so a kind registered later is known too."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=registry.kind_choices(), **kwargs)


class NotificationEventSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    kind = EventKindField(read_only=True)
    incident = serializers.CharField(
        # The emitting app writes the incident into the snapshot (apps/incidents/notifications.py).
        source="snapshot.incident.id",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="The incident or maintenance it announces; null for component-only events.",
    )
    update = serializers.CharField(
        source="snapshot.update",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="The update it announces, when it announces one.",
    )
    components = serializers.ListField(
        source="component_ids",
        child=serializers.CharField(),
        read_only=True,
        help_text="Ids of the components it concerns; empty means the whole page.",
    )
    deliver = serializers.BooleanField(
        read_only=True,
        help_text="False for changes posted with “don't notify”: kept for the record, never "
        "delivered.",
    )
    processed_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When all its deliveries had been created (for “don't notify” events: when "
        "it was set aside); null until then.",
    )
    # Set on each event by the view: one aggregate query for a whole page of events.
    delivery_counts = DeliveryCountsSerializer(
        read_only=True, help_text="Its deliveries by status."
    )

    class Meta:
        model = NotificationEvent
        fields = [
            "id",
            "kind",
            "incident",
            "update",
            "components",
            "deliver",
            "created_at",
            "processed_at",
            "delivery_counts",
        ]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    # No id: a delivery is one event to one subscriber, so the subscriber's id names it within
    # the event (the row number would tell the world how much the platform sends).
    # SECURITY: only the subscriber's public id is read (annotated by the view): the subscriber
    # row, with its webhook secret and URL, is never loaded here.
    subscriber = serializers.CharField(
        source="subscriber_public_id",
        read_only=True,
        help_text="The subscriber's id (see /api/v1/subscribers/<id>/).",
    )
    attempts = serializers.IntegerField(read_only=True, help_text="Sending attempts so far.")
    last_error = serializers.CharField(
        read_only=True, help_text="Why the last attempt failed; empty when none did."
    )
    sent_at = serializers.DateTimeField(read_only=True, allow_null=True)
    next_attempt_at = serializers.DateTimeField(
        read_only=True, help_text="Pending deliveries: when the next attempt is due."
    )

    class Meta:
        model = Delivery
        fields = [
            "subscriber",
            "channel",
            "status",
            "attempts",
            "last_error",
            "sent_at",
            "next_attempt_at",
        ]
        read_only_fields = fields


class RetryResultSerializer(serializers.Serializer):
    retried = serializers.IntegerField(
        help_text="Failed deliveries sent again: those to subscribers that are still active."
    )
    delivery_counts = DeliveryCountsSerializer(
        help_text="The event's deliveries by status right after the retry: retried ones are "
        "pending until they are sent."
    )


class QueryBooleanField(serializers.BooleanField):
    # DRF reads a boolean missing from form-like data (a query string is one) as false; a filter
    # left out must mean "either", not "false".
    default_empty_html = empty


class NotificationEventFilterSerializer(ListFilterSerializer):
    kind = EventKindField(required=False)
    incident = serializers.CharField(
        required=False,
        max_length=32,
        help_text="Only events of this incident or maintenance id.",
    )
    failed = QueryBooleanField(
        required=False,
        help_text="`true`: only events with at least one failed delivery (the dashboard's "
        "“Only with failed deliveries”); `false`: only events without.",
    )
    ordering = ordering_field(["created_at"], "-created_at")


class DeliveryFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Delivery.Status.choices, required=False)


class DeliveryPagination(CursorPagination):
    # In the order they were created, as on the dashboard's event page.
    ordering = "id"


EVENT_TAGS = ["notifications"]


@extend_schema_view(
    list=extend_schema(
        summary="List notification events",
        description="The outbox: every change that notifies subscribers (or would have, when "
        "posted with “don't notify”), newest first, with its deliveries counted by status.",
        tags=EVENT_TAGS,
        parameters=[NotificationEventFilterSerializer],
        responses={200: NotificationEventSerializer, **error_responses(400)},
    ),
    retrieve=extend_schema(
        summary="Get a notification event",
        description="The event with its deliveries counted by status.",
        tags=EVENT_TAGS,
        responses={200: NotificationEventSerializer, **error_responses(404)},
    ),
)
class NotificationEventViewSet(
    OrgViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    queryset = NotificationEvent.objects.all()
    serializer_class = NotificationEventSerializer
    lookup_url_kwarg = "event_id"
    filter_serializer_class = NotificationEventFilterSerializer
    ordering = "-created_at"

    def filter_queryset_for_request(self, queryset: QuerySet) -> QuerySet:
        return queryset

    def apply_filters(self, queryset: QuerySet, params: dict[str, Any]) -> QuerySet:
        if "kind" in params:
            queryset = queryset.filter(kind=params["kind"])
        if "incident" in params:
            queryset = queryset.filter(snapshot__incident__id=params["incident"])
        if "failed" in params:
            failed = Exists(
                Delivery.objects.filter(event=OuterRef("pk"), status=Delivery.Status.FAILED)
            )
            queryset = queryset.filter(failed if params["failed"] else ~failed)
        if "created_after" in params:
            queryset = queryset.filter(created_at__gte=params["created_after"])
        if "created_before" in params:
            queryset = queryset.filter(created_at__lt=params["created_before"])
        return queryset

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        # ONE aggregate query for the page's counts, as the dashboard's list does.
        counts = services.delivery_counts_by_event(event.pk for event in page)
        for event in page:
            event.delivery_counts = counts[event.pk]  # type: ignore[attr-defined]
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        event = self.get_object()
        event.delivery_counts = services.delivery_counts(event)  # type: ignore[attr-defined]
        return Response(self.get_serializer(event).data)

    @extend_schema(
        summary="List a notification event's deliveries",
        description="One row per subscriber the event went (or goes) to, in the order they "
        "were created, with the last error of failed ones.",
        tags=EVENT_TAGS,
        parameters=[DeliveryFilterSerializer],
        responses={200: DeliverySerializer(many=True), **error_responses(400, 404)},
    )
    @action(detail=True, methods=["get"], pagination_class=DeliveryPagination)
    def deliveries(self, request: Request, event_id: str) -> Response:
        event = self.get_object()
        # Query parameters of a detail route: QueryFilterBackend only reads them on lists.
        params = DeliveryFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        deliveries = (
            Delivery.objects.for_org(self.organization)
            .filter(event=event)
            .annotate(subscriber_public_id=F("subscriber__public_id"))
        )
        if "status" in params.validated_data:
            deliveries = deliveries.filter(status=params.validated_data["status"])
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="Retry a notification event's failed deliveries",
        description="What the dashboard's “Retry failed deliveries” button does: failed "
        "deliveries to subscribers that are still active go back to pending and are sent "
        "again; failures to subscribers that have left stay failed. Recorded in the audit log "
        "when there was something to retry. No request body.",
        tags=EVENT_TAGS,
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: RetryResultSerializer, **error_responses(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, event_id: str) -> Response:
        event = self.get_object()
        retried = services.retry_failed_deliveries(event, actor=self.principal)
        result = {"retried": retried, "delivery_counts": services.delivery_counts(event)}
        return Response(RetryResultSerializer(result).data)


# --- notification settings (a singleton per organization) ----------------------------------


class NotificationSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = NotificationSettings
        fields = ["email_component_changes"]
        read_only_fields = fields
        extra_kwargs = {
            "email_component_changes": {
                "help_text": "Email subscribers when a component's status changes without an "
                "incident. Webhook and Slack subscribers always get these. Off by default."
            }
        }


class NotificationSettingsChangeSerializer(StrictSerializer):
    email_component_changes = serializers.BooleanField(
        required=False,
        help_text="`true` mails email subscribers component-only status changes.",
    )


SETTINGS_TAGS = ["notifications"]


class NotificationSettingsView(APIView):
    """The organization's notification settings: one object per organization, so no id in the
    URL (like OrganizationView). Not an OrgViewSet: there is no list and no object to look up,
    and the settings row only exists once staff changed something (`NotificationSettings.for_org`
    gives the defaults before that)."""

    # Default authentication, permission (HasApiKeyScope: PATCH needs write scope) and throttle
    # classes (settings.REST_FRAMEWORK); the organization is the key's, never a parameter.

    def respond(self, organization: Any) -> Response:
        settings_row = NotificationSettings.for_org(organization)
        return Response(NotificationSettingsSerializer(settings_row).data)

    @extend_schema(
        operation_id="notification_settings_retrieve",
        summary="Get the notification settings",
        description="The organization's notification choices (the dashboard's Notifications "
        "settings).",
        tags=SETTINGS_TAGS,
        responses={200: NotificationSettingsSerializer, **error_responses()},
    )
    def get(self, request: Request) -> Response:
        return self.respond(request.auth.organization)

    @extend_schema(
        operation_id="notification_settings_partial_update",
        summary="Change the notification settings",
        description="Change the fields given; the others keep their value. A change is "
        "recorded in the audit log (`notifications.settings`), as from the dashboard.",
        tags=SETTINGS_TAGS,
        request=NotificationSettingsChangeSerializer,
        responses={
            200: NotificationSettingsSerializer,
            **error_responses(400, 403, 413, 415),
        },
    )
    def patch(self, request: Request) -> Response:
        organization = request.auth.organization
        serializer = NotificationSettingsChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if "email_component_changes" in serializer.validated_data:
            services.set_email_component_changes(
                organization,
                enabled=serializer.validated_data["email_component_changes"],
                actor=credential_of(request).principal,
            )
        return self.respond(organization)
