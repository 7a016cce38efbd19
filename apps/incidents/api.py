"""Management API: incidents, scheduled maintenances, their updates, and templates.

`/api/v1/incidents/`, `/api/v1/maintenances/` (one model, `kind`, as in the status API reference),
each with `.../<id>/updates/`, action routes for lifecycle steps, `/api/v1/templates/`, and an
incident's postmortem at `/api/v1/incidents/<id>/postmortem/` with its action items.
Every write goes through apps.incidents.services; their ValidationErrors (e.g. posting to a
resolved incident, starting a completed maintenance) become 400s in apps.api.exceptions.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.base import OrgViewSet, OrgViewSetMixin
from apps.api.fields import (
    PUBLIC_ID,
    OrgObjectListField,
    StrictModelSerializer,
    StrictSerializer,
)
from apps.api.filters import ListFilterSerializer, ordering_field
from apps.api.schema import IDEMPOTENCY_KEY, WRITE_ERRORS, crud_schema, error_responses
from apps.status.models import Component, ComponentStatus

from . import services, texts
from .api_fields import (
    ANY_STATUS,
    INCIDENT_IMPACT,
    INCIDENT_UPDATE_STATUS,
    OPEN_INCIDENT_STATUS,
    ComponentStatusMapField,
)
from .models import (
    ActionItem,
    Impact,
    Incident,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    Kind,
    MaintenanceStatus,
    Postmortem,
)
from .services import MAX_REMINDER_HOURS

BODY_MAX_LENGTH = 20_000
OPEN_INCIDENT_STATUSES = OPEN_INCIDENT_STATUS
UPDATE_INCIDENT_STATUSES = INCIDENT_UPDATE_STATUS
INCIDENT_IMPACT_CHOICES = INCIDENT_IMPACT


def body_field(**kwargs: Any) -> serializers.CharField:
    kwargs.setdefault("required", False)
    kwargs.setdefault(
        "help_text", "The message readers see. Defaults to the standard text for the status."
    )
    return serializers.CharField(max_length=BODY_MAX_LENGTH, trim_whitespace=True, **kwargs)


def deliver_field() -> serializers.BooleanField:
    return serializers.BooleanField(
        required=False, help_text="Notify subscribers of this change. Default true."
    )


# --- read serializers ------------------------------------------------------------------------


class AffectedComponentSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The component id.")
    name = serializers.CharField(help_text="`Group - Component` for components in a group.")
    old_status = serializers.ChoiceField(choices=ComponentStatus.choices)
    new_status = serializers.ChoiceField(choices=ComponentStatus.choices)


class IncidentComponentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)

    class Meta:
        model = Component
        fields = ["id", "name", "status"]
        read_only_fields = fields


class IncidentUpdateSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    incident_id = serializers.CharField(source="incident.public_id", read_only=True)
    status = serializers.ChoiceField(choices=IncidentStatus.choices, read_only=True)
    affected_components = AffectedComponentSerializer(many=True, read_only=True, allow_null=True)

    class Meta:
        model = IncidentUpdate
        fields = [
            "id",
            "incident_id",
            "status",
            "body",
            "created_at",
            "updated_at",
            "display_at",
            "deliver_notifications",
            "next_update_due",
            "no_further_updates",
            "affected_components",
        ]
        read_only_fields = fields


class MaintenanceUpdateSerializer(IncidentUpdateSerializer):
    status = serializers.ChoiceField(choices=MaintenanceStatus.choices, read_only=True)


INCIDENT_FIELDS = [
    "id",
    "name",
    "status",
    "impact",
    "impact_override",
    "created_at",
    "updated_at",
    "started_at",
    "monitoring_at",
    "resolved_at",
    "next_update_due",
    "no_further_updates",
    "components",
    "incident_updates",
]


class IncidentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    status = serializers.ChoiceField(choices=IncidentStatus.choices, read_only=True)
    impact = serializers.ChoiceField(choices=Impact.choices, read_only=True)
    components = IncidentComponentSerializer(
        many=True, read_only=True, help_text="Affected components, with their current status."
    )
    incident_updates = IncidentUpdateSerializer(
        source="updates", many=True, read_only=True, help_text="Newest first."
    )

    class Meta:
        model = Incident
        fields = INCIDENT_FIELDS
        read_only_fields = fields


class MaintenanceSerializer(IncidentSerializer):
    status = serializers.ChoiceField(choices=MaintenanceStatus.choices, read_only=True)
    incident_updates = MaintenanceUpdateSerializer(
        source="updates", many=True, read_only=True, help_text="Newest first."
    )

    class Meta:
        model = Incident
        fields = [
            *INCIDENT_FIELDS,
            "scheduled_for",
            "scheduled_until",
            "auto_start",
            "auto_complete",
            "reminder_hours",
        ]
        read_only_fields = fields


# --- write serializers -----------------------------------------------------------------------

PROMISE_FIELDS = ("next_update_due", "next_update_in_minutes", "no_further_updates")
# Which field a refused promise is about (cadence.check_promise / promise_from error codes).
PROMISE_ERROR_FIELD = {
    "next_update_past": "next_update_due",
    "next_update_too_far": "next_update_due",
    "next_update_minutes": "next_update_in_minutes",
    "minutes_and_time": "next_update_in_minutes",
    "no_further_not_monitoring": "no_further_updates",
    "promise_conflict": "no_further_updates",
}


class PromiseSerializer(StrictSerializer):
    """When the next update is due: minutes from now, a time, or (while monitoring) no further
    updates until resolved. None of them: the organization's default cadence. After
    validation `next_update_due` is the due time (None with `no_further_updates`)."""

    next_update_due = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When you promise the next update: a time in the next 7 days. Give this, "
        "`next_update_in_minutes` or `no_further_updates`; with none of them the "
        "organization's default cadence applies (30 minutes unless changed).",
    )
    next_update_in_minutes = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=services.MAX_PROMISE_MINUTES,
        help_text="The next update is due this many minutes from now (1 to 10080).",
    )
    no_further_updates = serializers.BooleanField(
        required=False,
        help_text="`true`: no further updates until it is resolved. Only with status `monitoring`.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        status_ = attrs.get("status")
        if status_ == IncidentStatus.RESOLVED:
            given = [name for name in PROMISE_FIELDS if attrs.get(name) not in (None, False)]
            if given:
                raise serializers.ValidationError(
                    {given[0]: ["A resolved incident promises no further update."]}
                )
            attrs["next_update_due"], attrs["no_further_updates"] = None, False
            return attrs
        organization = self.context["view"].organization
        now = timezone.now()
        no_further = attrs.get("no_further_updates", False)
        try:
            due = services.promise_from(
                organization,
                now=now,
                minutes=attrs.pop("next_update_in_minutes", None),
                at=attrs.get("next_update_due"),
                no_further_updates=no_further,
            )
            attrs["next_update_due"], attrs["no_further_updates"] = services.check_promise(
                organization,
                status=status_,
                next_update_due=due,
                no_further_updates=no_further,
                now=now,
            )
        except DjangoValidationError as error:
            field = PROMISE_ERROR_FIELD.get(error.code or "", "next_update_due")
            raise serializers.ValidationError({field: error.messages}) from error
        return attrs


class IncidentCreateSerializer(PromiseSerializer):
    name = serializers.CharField(max_length=255)
    status = serializers.ChoiceField(
        choices=OPEN_INCIDENT_STATUSES, default=IncidentStatus.INVESTIGATING
    )
    impact = serializers.ChoiceField(
        choices=INCIDENT_IMPACT_CHOICES,
        required=False,
        allow_null=True,
        help_text="Set the impact by hand. By default it follows the worst component status.",
    )
    body = body_field()
    components = ComponentStatusMapField(required=False)
    deliver_notifications = deliver_field()


class IncidentChangeSerializer(StrictSerializer):
    name = serializers.CharField(max_length=255, required=False)
    impact = serializers.ChoiceField(
        choices=INCIDENT_IMPACT_CHOICES,
        required=False,
        help_text="Setting it makes the impact manual (`impact_override`).",
    )


class IncidentUpdateCreateSerializer(PromiseSerializer):
    status = serializers.ChoiceField(choices=UPDATE_INCIDENT_STATUSES)
    body = body_field()
    components = ComponentStatusMapField(required=False)
    deliver_notifications = deliver_field()


class UpdateEditSerializer(StrictSerializer):
    body = serializers.CharField(
        max_length=BODY_MAX_LENGTH, required=False, help_text="The corrected text."
    )


class ResolveSerializer(StrictSerializer):
    body = body_field()
    components = ComponentStatusMapField(
        required=False,
        help_text="Statuses to set. By default every affected component goes back to operational.",
    )
    deliver_notifications = deliver_field()


class ReopenSerializer(PromiseSerializer):
    status = serializers.ChoiceField(
        choices=OPEN_INCIDENT_STATUSES, default=IncidentStatus.INVESTIGATING
    )
    body = body_field()
    components = ComponentStatusMapField(required=False)
    deliver_notifications = deliver_field()


class MaintenanceCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=255)
    body = body_field()
    scheduled_for = serializers.DateTimeField(help_text="Start of the window.")
    scheduled_until = serializers.DateTimeField(help_text="End of the window.")
    components = OrgObjectListField(
        model=Component,
        label_name="component id",
        required=False,
        help_text="Ids of the components under maintenance.",
    )
    auto_start = serializers.BooleanField(
        required=False, help_text="Start by itself at scheduled_for. Default true."
    )
    auto_complete = serializers.BooleanField(
        required=False, help_text="Complete by itself at scheduled_until. Default true."
    )
    reminder_hours = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_REMINDER_HOURS,
        help_text="Remind subscribers this many hours before the start.",
    )
    deliver_notifications = deliver_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["scheduled_until"] <= attrs["scheduled_for"]:
            raise serializers.ValidationError(
                {"scheduled_until": ["The maintenance must end after it starts."]}
            )
        return attrs


class MaintenanceChangeSerializer(StrictSerializer):
    name = serializers.CharField(max_length=255, required=False)
    scheduled_until = serializers.DateTimeField(
        required=False,
        help_text="A later end extends the maintenance and posts an update saying so.",
    )
    body = body_field(help_text="Message of the extension update (with scheduled_until).")
    deliver_notifications = deliver_field()


class MaintenanceStepSerializer(StrictSerializer):
    body = body_field()
    deliver_notifications = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="Notify subscribers. By default, as when the maintenance was announced.",
    )


class MaintenanceUpdateCreateSerializer(StrictSerializer):
    status = serializers.ChoiceField(
        choices=MaintenanceStatus.choices,
        required=False,
        help_text="Omit (or repeat the current status) to post a message without moving it.",
    )
    body = serializers.CharField(max_length=BODY_MAX_LENGTH)
    deliver_notifications = deliver_field()


# --- filters ---------------------------------------------------------------------------------


class IncidentFilterSerializer(ListFilterSerializer):
    status = serializers.MultipleChoiceField(
        choices=IncidentStatus.choices, required=False, help_text="Only these statuses."
    )
    component = serializers.CharField(
        required=False, max_length=32, help_text="Only those affecting this component id."
    )
    ordering = ordering_field(["created_at", "updated_at", "started_at"], "-created_at")


class MaintenanceFilterSerializer(ListFilterSerializer):
    status = serializers.MultipleChoiceField(
        choices=MaintenanceStatus.choices, required=False, help_text="Only these statuses."
    )
    component = serializers.CharField(
        required=False, max_length=32, help_text="Only those affecting this component id."
    )
    scheduled_after = serializers.DateTimeField(
        required=False, help_text="Only windows starting at or after this time."
    )
    scheduled_before = serializers.DateTimeField(
        required=False, help_text="Only windows starting before this time."
    )
    ordering = ordering_field(["created_at", "updated_at", "scheduled_for"], "-created_at")


# --- viewsets --------------------------------------------------------------------------------


class BaseIncidentViewSet(OrgViewSet):
    queryset = Incident.objects.all()
    kind = Kind.INCIDENT
    update_serializer_class: type[serializers.Serializer] = IncidentUpdateSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    ordering = "-created_at"

    def filter_queryset_for_request(self, queryset: QuerySet) -> QuerySet:
        updates = IncidentUpdate.objects.select_related("incident")
        return queryset.filter(kind=self.kind).prefetch_related(
            Prefetch("updates", queryset=updates), "components"
        )

    def apply_filters(self, queryset: QuerySet, params: dict[str, Any]) -> QuerySet:
        if params.get("status"):
            queryset = queryset.filter(status__in=params["status"])
        if "component" in params:
            queryset = queryset.filter(components__public_id=params["component"])
        if "created_after" in params:
            queryset = queryset.filter(created_at__gte=params["created_after"])
        if "created_before" in params:
            queryset = queryset.filter(created_at__lt=params["created_before"])
        if "scheduled_after" in params:
            queryset = queryset.filter(scheduled_for__gte=params["scheduled_after"])
        if "scheduled_before" in params:
            queryset = queryset.filter(scheduled_for__lt=params["scheduled_before"])
        return queryset

    def validated(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def respond(self, incident: Incident, code: int = status.HTTP_200_OK) -> Response:
        """The incident as it is now (re-read, so prefetched updates include the new one)."""
        fresh = get_object_or_404(self.get_queryset(), pk=incident.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incident = self.get_object()
        data = self.validated(self.change_serializer_class)
        self.change(incident, data)
        return self.respond(incident)

    def perform_destroy(self, instance: Incident) -> None:
        services.delete_incident(instance, actor=self.principal)

    # GET and PATCH /<id>/updates/<update_id>/ (the list and POST are per kind below).

    def update_detail(self, request: Request, update_id: str) -> Response:
        incident = self.get_object()
        update = None
        if PUBLIC_ID.match(update_id):
            update = (
                IncidentUpdate.objects.for_org(self.organization)
                .select_related("incident")
                .filter(incident=incident, public_id=update_id)
                .first()
            )
        if update is None:
            return Response({"detail": "No update matches the given query."}, status=404)
        if request.method == "PATCH":
            data = self.validated(UpdateEditSerializer)
            if "body" in data:
                update = services.edit_update(update, actor=self.principal, body=data["body"])
        return Response(self.update_serializer_class(update).data)


@extend_schema_view(**crud_schema("incident", "incidents", IncidentSerializer))
@extend_schema_view(
    list=extend_schema(parameters=[IncidentFilterSerializer]),
    create=extend_schema(
        request=IncidentCreateSerializer,
        description="Open an incident: its first update is posted with it, and the listed "
        "components change status.",
    ),
    partial_update=extend_schema(request=IncidentChangeSerializer),
    destroy=extend_schema(
        description="Delete the incident and its timeline. Component statuses stay as they are."
    ),
)
class IncidentViewSet(BaseIncidentViewSet):
    serializer_class = IncidentSerializer
    lookup_url_kwarg = "incident_id"
    filter_serializer_class = IncidentFilterSerializer
    change_serializer_class = IncidentChangeSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(IncidentCreateSerializer)
        incident_status = data["status"]
        incident = services.open_incident(
            self.organization,
            actor=self.principal,
            name=data["name"],
            status=incident_status,
            body=data.get("body") or texts.default_update_text(incident_status),
            impact=data.get("impact"),
            components=data.get("components") or {},
            deliver_notifications=data.get("deliver_notifications", True),
            next_update_due=data["next_update_due"],
            no_further_updates=data["no_further_updates"],
        )
        return self.respond(incident, status.HTTP_201_CREATED)

    def change(self, incident: Incident, data: dict[str, Any]) -> None:
        services.update_incident_details(
            incident, actor=self.principal, name=data.get("name"), impact=data.get("impact")
        )

    @extend_schema(
        summary="List an incident's updates",
        tags=["incidents"],
        responses={200: IncidentUpdateSerializer(many=True), **error_responses(404)},
        methods=["GET"],
    )
    @extend_schema(
        summary="Post an incident update",
        description="Post an update: its status becomes the incident's, and the listed "
        "components change status. Posting `resolved` resolves the incident.",
        tags=["incidents"],
        request=IncidentUpdateCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: IncidentUpdateSerializer, **error_responses(*WRITE_ERRORS, 404)},
        methods=["POST"],
    )
    @action(detail=True, methods=["get", "post"], url_path="updates", pagination_class=None)
    def updates(self, request: Request, incident_id: str) -> Response:
        incident = self.get_object()
        if request.method == "GET":
            return Response(self.update_serializer_class(incident.updates.all(), many=True).data)
        data = self.validated(IncidentUpdateCreateSerializer)
        update = services.post_update(
            incident,
            actor=self.principal,
            status=data["status"],
            body=data.get("body") or texts.default_update_text(data["status"]),
            components=data.get("components") or {},
            deliver_notifications=data.get("deliver_notifications", True),
            next_update_due=data["next_update_due"],
            no_further_updates=data["no_further_updates"],
        )
        return Response(self.update_serializer_class(update).data, status=201)

    @extend_schema(
        summary="Get one incident update",
        tags=["incidents"],
        responses={200: IncidentUpdateSerializer, **error_responses(404)},
        methods=["GET"],
    )
    @extend_schema(
        summary="Correct an incident update's text",
        description="The old text is kept as a revision; nobody is notified again.",
        tags=["incidents"],
        request=UpdateEditSerializer,
        responses={200: IncidentUpdateSerializer, **error_responses(*WRITE_ERRORS, 404)},
        methods=["PATCH"],
    )
    @action(detail=True, methods=["get", "patch"], url_path="updates/<str:update_id>")
    def update_item(self, request: Request, incident_id: str, update_id: str) -> Response:
        return self.update_detail(request, update_id)

    @extend_schema(
        summary="Resolve an incident",
        description="Posts a resolved update. Affected components go back to operational "
        "unless `components` says otherwise.",
        tags=["incidents"],
        request=ResolveSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: IncidentSerializer, **error_responses(*WRITE_ERRORS, 404)},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, incident_id: str) -> Response:
        incident = self.get_object()
        data = self.validated(ResolveSerializer)
        services.resolve_incident(
            incident,
            actor=self.principal,
            body=data.get("body"),
            components=data.get("components"),
            deliver_notifications=data.get("deliver_notifications", True),
        )
        return self.respond(incident)

    @extend_schema(
        summary="Reopen a resolved incident",
        tags=["incidents"],
        request=ReopenSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: IncidentSerializer, **error_responses(*WRITE_ERRORS, 404)},
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, incident_id: str) -> Response:
        incident = self.get_object()
        data = self.validated(ReopenSerializer)
        services.reopen_incident(
            incident,
            actor=self.principal,
            body=data.get("body"),
            status=data["status"],
            components=data.get("components") or {},
            deliver_notifications=data.get("deliver_notifications", True),
            next_update_due=data["next_update_due"],
            no_further_updates=data["no_further_updates"],
        )
        return self.respond(incident)


def _step_schema(summary: str, description: str) -> Any:
    return extend_schema(
        summary=summary,
        description=description,
        tags=["maintenances"],
        request=MaintenanceStepSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: MaintenanceSerializer, **error_responses(*WRITE_ERRORS, 404)},
    )


@extend_schema_view(**crud_schema("maintenance", "maintenances", MaintenanceSerializer))
@extend_schema_view(
    list=extend_schema(parameters=[MaintenanceFilterSerializer]),
    create=extend_schema(
        request=MaintenanceCreateSerializer,
        description="Schedule a maintenance window. With auto_start and auto_complete it "
        "starts and completes by itself; otherwise use the start and complete actions.",
    ),
    partial_update=extend_schema(
        request=MaintenanceChangeSerializer,
        description="Rename, or extend with a later `scheduled_until` (posts an update).",
    ),
)
class MaintenanceViewSet(BaseIncidentViewSet):
    kind = Kind.MAINTENANCE
    serializer_class = MaintenanceSerializer
    update_serializer_class = MaintenanceUpdateSerializer
    lookup_url_kwarg = "maintenance_id"
    filter_serializer_class = MaintenanceFilterSerializer
    change_serializer_class = MaintenanceChangeSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.validated(MaintenanceCreateSerializer)
        incident = services.schedule_maintenance(
            self.organization,
            actor=self.principal,
            name=data["name"],
            body=data.get("body") or texts.default_update_text(MaintenanceStatus.SCHEDULED),
            scheduled_for=data["scheduled_for"],
            scheduled_until=data["scheduled_until"],
            components=data.get("components") or [],
            auto_start=data.get("auto_start", True),
            auto_complete=data.get("auto_complete", True),
            reminder_hours=data.get("reminder_hours"),
            deliver_notifications=data.get("deliver_notifications", True),
        )
        return self.respond(incident, status.HTTP_201_CREATED)

    @transaction.atomic
    def change(self, incident: Incident, data: dict[str, Any]) -> None:
        # One transaction: a refused extension (not later than the current end) keeps the name.
        if "name" in data:
            services.update_incident_details(incident, actor=self.principal, name=data["name"])
        if "scheduled_until" in data:
            services.extend_maintenance(
                incident,
                actor=self.principal,
                new_until=data["scheduled_until"],
                body=data.get("body"),
                deliver_notifications=data.get("deliver_notifications"),
            )

    @extend_schema(
        summary="List a maintenance's updates",
        tags=["maintenances"],
        responses={200: MaintenanceUpdateSerializer(many=True), **error_responses(404)},
        methods=["GET"],
    )
    @extend_schema(
        summary="Post a maintenance update",
        description="A message, optionally moving the status (scheduled → in_progress → "
        "verifying → completed) with the same effects as the action routes.",
        tags=["maintenances"],
        request=MaintenanceUpdateCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: MaintenanceUpdateSerializer, **error_responses(*WRITE_ERRORS, 404)},
        methods=["POST"],
    )
    @action(detail=True, methods=["get", "post"], url_path="updates", pagination_class=None)
    def updates(self, request: Request, maintenance_id: str) -> Response:
        incident = self.get_object()
        if request.method == "GET":
            return Response(self.update_serializer_class(incident.updates.all(), many=True).data)
        data = self.validated(MaintenanceUpdateCreateSerializer)
        # The service decides whether the status is a message or a move (on the locked row).
        update = services.post_maintenance_update(
            incident,
            actor=self.principal,
            status=data.get("status"),
            body=data["body"],
            deliver_notifications=data.get("deliver_notifications", True),
        )
        return Response(self.update_serializer_class(update).data, status=201)

    @extend_schema(
        summary="Get one maintenance update",
        tags=["maintenances"],
        responses={200: MaintenanceUpdateSerializer, **error_responses(404)},
        methods=["GET"],
    )
    @extend_schema(
        summary="Correct a maintenance update's text",
        tags=["maintenances"],
        request=UpdateEditSerializer,
        responses={200: MaintenanceUpdateSerializer, **error_responses(*WRITE_ERRORS, 404)},
        methods=["PATCH"],
    )
    @action(detail=True, methods=["get", "patch"], url_path="updates/<str:update_id>")
    def update_item(self, request: Request, maintenance_id: str, update_id: str) -> Response:
        return self.update_detail(request, update_id)

    def _step(self, service: Any) -> Response:
        incident = self.get_object()
        data = self.validated(MaintenanceStepSerializer)
        service(
            incident,
            actor=self.principal,
            body=data.get("body"),
            deliver_notifications=data.get("deliver_notifications"),
        )
        return self.respond(incident)

    @_step_schema("Start a maintenance", "Components go under maintenance.")
    @action(detail=True, methods=["post"])
    def start(self, request: Request, maintenance_id: str) -> Response:
        return self._step(services.start_maintenance)

    @_step_schema("Move a maintenance to verifying", "The work is done and being checked.")
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, maintenance_id: str) -> Response:
        return self._step(services.mark_verifying)

    @_step_schema(
        "Complete a maintenance", "Components still under maintenance go back to operational."
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, maintenance_id: str) -> Response:
        return self._step(services.complete_maintenance)

    @_step_schema(
        "Cancel a maintenance",
        "Only before it starts. It is shown as completed, with an update saying it was cancelled.",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, maintenance_id: str) -> Response:
        return self._step(services.cancel_maintenance)


# --- templates -------------------------------------------------------------------------------


class IncidentTemplateSerializer(StrictModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    kind = serializers.ChoiceField(choices=Kind.choices, default=Kind.INCIDENT)
    status = serializers.ChoiceField(
        choices=ANY_STATUS,
        default=IncidentStatus.INVESTIGATING,
        help_text="The status the incident starts in (an incident or maintenance status).",
    )
    impact = serializers.ChoiceField(choices=Impact.choices, default=Impact.MINOR)
    title = serializers.CharField(max_length=255, help_text="The incident name it fills in.")
    body = serializers.CharField(max_length=BODY_MAX_LENGTH)

    class Meta:
        model = IncidentTemplate
        fields = ["id", "kind", "name", "title", "body", "status", "impact", "created_at"]
        read_only_fields = ["id", "created_at"]

    def create(self, validated_data: dict[str, Any]) -> IncidentTemplate:
        return services.create_template(
            self.context["organization"], actor=self.context["principal"], **validated_data
        )

    @transaction.atomic
    def update(
        self, instance: IncidentTemplate, validated_data: dict[str, Any]
    ) -> IncidentTemplate:
        # Lock the row: a DELETE committed since the view found it leaves nothing to save (a
        # 404, as if it had been gone already), and one still to come waits for this update.
        locked = IncidentTemplate.objects.select_for_update().filter(pk=instance.pk).first()
        if locked is None:
            raise NotFound("No IncidentTemplate matches the given query.")
        fields = {
            name: validated_data.get(name, getattr(locked, name))
            for name in ("name", "title", "body", "kind", "status", "impact")
        }
        return services.update_template(locked, actor=self.context["principal"], **fields)


class TemplateFilterSerializer(ListFilterSerializer):
    kind = serializers.ChoiceField(choices=Kind.choices, required=False)
    ordering = ordering_field(["created_at", "name"], "name")


@extend_schema_view(**crud_schema("template", "templates", IncidentTemplateSerializer))
@extend_schema_view(list=extend_schema(parameters=[TemplateFilterSerializer]))
class IncidentTemplateViewSet(OrgViewSet):
    queryset = IncidentTemplate.objects.all()
    serializer_class = IncidentTemplateSerializer
    lookup_url_kwarg = "template_id"
    filter_serializer_class = TemplateFilterSerializer
    ordering = "name"

    def apply_filters(self, queryset: QuerySet, params: dict[str, Any]) -> QuerySet:
        if "kind" in params:
            queryset = queryset.filter(kind=params["kind"])
        if "created_after" in params:
            queryset = queryset.filter(created_at__gte=params["created_after"])
        if "created_before" in params:
            queryset = queryset.filter(created_at__lt=params["created_before"])
        return queryset

    def perform_destroy(self, instance: IncidentTemplate) -> None:
        services.delete_template(instance, actor=self.principal)


# --- postmortems -------------------------------------------------------------------------------
# `/api/v1/incidents/<id>/postmortem/` (one per incident), its `publish/` and `unpublish/`
# actions, and `.../postmortem/action-items/[<item_id>/]`. The same nested pattern as
# `incidents/<id>/updates/`: get_object() finds the incident through the key's organization
# (another organization's id is a 404), and the children are looked up with for_org() under
# it. Its own viewset, registered on the `incidents` prefix with detail routes only, because
# the postmortem is replaced with PUT, which IncidentViewSet does not offer on the incident.

SECTION_HELP = {
    "summary": "What happened, in plain words: what customers saw, from when to when. "
    "Needed to publish.",
    "customer_impact": "How this affected customers: who, how and for how long. A new "
    "postmortem left without it starts with the measured impact (duration, each component's "
    "worst status and time out, subscribers notified, readers who said they were affected).",
    "acknowledgement": "In our own words: the team's acknowledgement of the trouble caused. "
    "Never written by Candor; publishing does not need it.",
    "cause": "Why it happened, without jargon.",
    "resolution": "How service was restored.",
}


def section_field(name: str, *, required: bool = False) -> serializers.CharField:
    return serializers.CharField(
        max_length=services.POSTMORTEM_TEXT_MAX,
        allow_blank=True,
        required=required,
        trim_whitespace=True,
        help_text=SECTION_HELP[name],
    )


class ActionItemSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    status = serializers.ChoiceField(choices=ActionItem.Status.choices, read_only=True)

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "title",
            "description",
            "status",
            "due_date",
            "position",
            "created_at",
            "updated_at",
            "completed_at",
            "status_changed_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "position": {"help_text": "Display order, from 1."},
            "completed_at": {"help_text": "When it was marked done; null unless done."},
            "status_changed_at": {
                "help_text": "When its status last changed (or it was added); null for items "
                "from before this was recorded."
            },
        }


class PostmortemSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    incident_id = serializers.CharField(source="incident.public_id", read_only=True)
    published = serializers.BooleanField(
        source="is_published", read_only=True, help_text="Shown on the public status page."
    )
    action_items = ActionItemSerializer(many=True, read_only=True, help_text="In display order.")

    class Meta:
        model = Postmortem
        fields = [
            "id",
            "incident_id",
            "summary",
            "customer_impact",
            "acknowledgement",
            "cause",
            "resolution",
            "published",
            "published_at",
            "notified_subscribers",
            "promise_kept_at",
            "created_at",
            "updated_at",
            "action_items",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "notified_subscribers": {"help_text": "Whether the last publish notified subscribers."},
            "promise_kept_at": {
                "help_text": "When every action item of the published postmortem was done and "
                "subscribers were told (once; null until then)."
            },
            "updated_at": {"help_text": "Last change to the text or the action items."},
        }


class PostmortemReplaceSerializer(StrictSerializer):
    """PUT: every section at once; sections left out become empty."""

    summary = section_field("summary", required=True)
    customer_impact = section_field("customer_impact")
    acknowledgement = section_field("acknowledgement")
    cause = section_field("cause")
    resolution = section_field("resolution")


class PostmortemChangeSerializer(StrictSerializer):
    """PATCH: only the sections given change."""

    summary = section_field("summary")
    customer_impact = section_field("customer_impact")
    acknowledgement = section_field("acknowledgement")
    cause = section_field("cause")
    resolution = section_field("resolution")


class PublishSerializer(StrictSerializer):
    notify_subscribers = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Send the summary and a link to the subscribers of the incident's components "
        "(email, webhooks, Slack). Default false.",
    )


class ActionItemWriteSerializer(StrictSerializer):
    title = serializers.CharField(max_length=255, help_text="What will change, in plain words.")
    description = serializers.CharField(
        max_length=services.POSTMORTEM_TEXT_MAX, allow_blank=True, required=False
    )
    status = serializers.ChoiceField(
        choices=ActionItem.Status.choices, required=False, help_text="Default planned."
    )
    due_date = serializers.DateField(required=False, allow_null=True)
    position = serializers.IntegerField(
        min_value=1,
        max_value=10_000,
        required=False,
        help_text="Move it to this place in the list (1 = first); the others shift.",
    )


class ActionItemChangeSerializer(ActionItemWriteSerializer):
    title = serializers.CharField(max_length=255, required=False)


POSTMORTEM_TAGS = ["postmortems"]
NO_POSTMORTEM = "This incident has no postmortem yet; create it with PUT."


class PostmortemViewSet(OrgViewSetMixin, viewsets.GenericViewSet):
    queryset = Incident.objects.all()
    serializer_class = PostmortemSerializer
    lookup_url_kwarg = "incident_id"
    http_method_names = ["get", "put", "patch", "post", "delete", "head", "options"]
    pagination_class = None

    def filter_queryset_for_request(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(kind=Kind.INCIDENT)

    def validated(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _postmortem(self, incident: Incident) -> Postmortem:
        postmortem = (
            Postmortem.objects.for_org(self.organization)
            .filter(incident=incident)
            .prefetch_related("action_items")
            .first()
        )
        if postmortem is None:
            raise NotFound(NO_POSTMORTEM)
        postmortem.incident = incident
        return postmortem

    def respond(self, incident: Incident, code: int = status.HTTP_200_OK) -> Response:
        return Response(PostmortemSerializer(self._postmortem(incident)).data, status=code)

    @extend_schema(
        summary="Get an incident's postmortem",
        description="Drafts included (`published` false); readers only see published ones.",
        tags=POSTMORTEM_TAGS,
        responses={200: PostmortemSerializer, **error_responses(404)},
        methods=["GET"],
    )
    @extend_schema(
        summary="Write an incident's postmortem",
        description="Creates the draft (201) or replaces every section (200). Editing a "
        "published postmortem keeps it published; nobody is notified again.",
        tags=POSTMORTEM_TAGS,
        request=PostmortemReplaceSerializer,
        responses={
            200: PostmortemSerializer,
            201: PostmortemSerializer,
            **error_responses(*WRITE_ERRORS, 404),
        },
        methods=["PUT"],
    )
    @extend_schema(
        summary="Change some sections of a postmortem",
        tags=POSTMORTEM_TAGS,
        request=PostmortemChangeSerializer,
        responses={200: PostmortemSerializer, **error_responses(*WRITE_ERRORS, 404)},
        methods=["PATCH"],
    )
    @extend_schema(
        summary="Delete a postmortem draft",
        description="Deletes the draft and its action items. A published postmortem must be "
        "unpublished first (400).",
        tags=POSTMORTEM_TAGS,
        responses={204: None, **error_responses(400, 403, 404)},
        methods=["DELETE"],
    )
    @action(detail=True, methods=["get", "put", "patch", "delete"], url_path="postmortem")
    def postmortem(self, request: Request, incident_id: str) -> Response:
        incident = self.get_object()
        if request.method == "GET":
            return self.respond(incident)
        if request.method == "DELETE":
            self._postmortem(incident)  # 404 when there is none
            services.delete_postmortem(incident, actor=self.principal)
            return Response(status=status.HTTP_204_NO_CONTENT)
        if request.method == "PUT":
            data = self.validated(PostmortemReplaceSerializer)
            sections = {name: data.get(name, "") for name in SECTION_HELP}
            existed = Postmortem.objects.filter(incident=incident).exists()
            services.save_postmortem(incident, actor=self.principal, **sections)
            return self.respond(
                incident, status.HTTP_200_OK if existed else status.HTTP_201_CREATED
            )
        data = self.validated(PostmortemChangeSerializer)
        self._postmortem(incident)
        services.save_postmortem(incident, actor=self.principal, **data)
        return self.respond(incident)

    @extend_schema(
        summary="Publish a postmortem",
        description="Shows it on the public incident page and moves the incident to status "
        "`postmortem`. The incident must be resolved and the summary written. With "
        "`notify_subscribers`, subscribers get the summary and a link.",
        tags=POSTMORTEM_TAGS,
        request=PublishSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: PostmortemSerializer, **error_responses(*WRITE_ERRORS, 404)},
    )
    @action(detail=True, methods=["post"], url_path="postmortem/publish")
    def publish(self, request: Request, incident_id: str) -> Response:
        incident = self.get_object()
        data = self.validated(PublishSerializer)
        self._postmortem(incident)
        services.publish_postmortem(
            incident, actor=self.principal, notify_subscribers=data["notify_subscribers"]
        )
        return self.respond(incident)

    @extend_schema(
        summary="Unpublish a postmortem",
        description="Takes it off the public page (kept as a draft); the incident is "
        "`resolved` again.",
        tags=POSTMORTEM_TAGS,
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: PostmortemSerializer, **error_responses(*WRITE_ERRORS, 404)},
    )
    @action(detail=True, methods=["post"], url_path="postmortem/unpublish")
    def unpublish(self, request: Request, incident_id: str) -> Response:
        incident = self.get_object()
        self._postmortem(incident)
        services.unpublish_postmortem(incident, actor=self.principal)
        return self.respond(incident)

    # Action items -----------------------------------------------------------------------------

    def _item(self, postmortem: Postmortem, item_id: str) -> ActionItem:
        item = None
        if PUBLIC_ID.match(item_id):
            item = (
                ActionItem.objects.for_org(self.organization)
                .filter(postmortem=postmortem, public_id=item_id)
                .first()
            )
        if item is None:
            raise NotFound("No action item matches the given query.")
        item.postmortem = postmortem
        return item

    def _write_item(self, item: ActionItem, data: dict[str, Any]) -> ActionItem:
        position = data.pop("position", None)
        if data:
            item = services.update_action_item(item, actor=self.principal, **data)
        if position is not None and position != item.position:
            item = services.move_action_item(item, actor=self.principal, position=position)
        return get_object_or_404(ActionItem.objects.for_org(self.organization), pk=item.pk)

    @extend_schema(
        summary="List a postmortem's action items",
        tags=POSTMORTEM_TAGS,
        responses={200: ActionItemSerializer(many=True), **error_responses(404)},
        methods=["GET"],
    )
    @extend_schema(
        summary="Add an action item",
        description="Added last, unless `position` says where.",
        tags=POSTMORTEM_TAGS,
        request=ActionItemWriteSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: ActionItemSerializer, **error_responses(*WRITE_ERRORS, 404)},
        methods=["POST"],
    )
    @action(detail=True, methods=["get", "post"], url_path="postmortem/action-items")
    def action_items(self, request: Request, incident_id: str) -> Response:
        incident = self.get_object()
        postmortem = self._postmortem(incident)
        if request.method == "GET":
            return Response(ActionItemSerializer(postmortem.action_items.all(), many=True).data)
        data = self.validated(ActionItemWriteSerializer)
        position = data.pop("position", None)
        item = services.add_action_item(postmortem, actor=self.principal, **data)
        if position is not None:
            item = self._write_item(item, {"position": position})
        return Response(ActionItemSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Get an action item",
        tags=POSTMORTEM_TAGS,
        responses={200: ActionItemSerializer, **error_responses(404)},
        methods=["GET"],
    )
    @extend_schema(
        summary="Change an action item",
        description="Setting `status` to `done` records `completed_at`; moving it away from "
        "done clears it. `position` moves it in the list.",
        tags=POSTMORTEM_TAGS,
        request=ActionItemChangeSerializer,
        responses={200: ActionItemSerializer, **error_responses(*WRITE_ERRORS, 404)},
        methods=["PATCH"],
    )
    @extend_schema(
        summary="Delete an action item",
        tags=POSTMORTEM_TAGS,
        responses={204: None, **error_responses(403, 404)},
        methods=["DELETE"],
    )
    @action(
        detail=True,
        methods=["get", "patch", "delete"],
        url_path="postmortem/action-items/<str:item_id>",
    )
    def action_item(self, request: Request, incident_id: str, item_id: str) -> Response:
        incident = self.get_object()
        item = self._item(self._postmortem(incident), item_id)
        if request.method == "DELETE":
            services.delete_action_item(item, actor=self.principal)
            return Response(status=status.HTTP_204_NO_CONTENT)
        if request.method == "PATCH":
            item = self._write_item(item, self.validated(ActionItemChangeSerializer))
        return Response(ActionItemSerializer(item).data)
