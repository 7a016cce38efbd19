"""The scorecard in the management API: read-only, any key scope.

`GET /api/v1/scorecard/?days=90`: the organization's figures over the last `days` days (7 to
365), overall, per week and per incident. `GET /api/v1/incidents/<id>/scorecard/`: one
incident's figures. Durations are whole seconds (null where the figure does not exist yet),
each with the plain label the dashboard shows. A bad `days` is a 400 naming it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.base import OrgViewSetMixin
from apps.api.credentials import credential_of
from apps.api.schema import error_responses

from ..models import Incident, Kind
from . import figures

TAGS = ["scorecard"]
DAYS_MESSAGE = f"Must be a whole number of days from {figures.MIN_DAYS} to {figures.MAX_DAYS}."


def _seconds(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(allow_null=True, help_text=help_text)


class ScorecardQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        required=False,
        default=figures.DEFAULT_DAYS,
        min_value=figures.MIN_DAYS,
        max_value=figures.MAX_DAYS,
        help_text=f"The window: incidents that started in the last `days` days "
        f"({figures.MIN_DAYS} to {figures.MAX_DAYS}; default {figures.DEFAULT_DAYS}).",
        error_messages={key: DAYS_MESSAGE for key in ("invalid", "min_value", "max_value")},
    )

    def to_internal_value(self, data: Any) -> Any:
        # DRF reads `?days=` as "not given"; an empty value is more likely a script's bug.
        if "days" in data and not str(data["days"]).strip():
            raise serializers.ValidationError({"days": [DAYS_MESSAGE]})
        return super().to_internal_value(data)


class IncidentLabelsSerializer(serializers.Serializer):
    first_update = serializers.CharField(help_text="E.g. “First public update after 12 min”.")
    updates_on_time = serializers.CharField(help_text="E.g. “7 of 9 updates on time”.")
    longest_silence = serializers.CharField()
    resolution = serializers.CharField()
    postmortem = serializers.CharField()
    action_items = serializers.CharField()


class IncidentScoreSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The incident's id.")
    name = serializers.CharField()
    started_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(
        allow_null=True, help_text="Null while the incident is not resolved."
    )
    updates = serializers.IntegerField(help_text="Public updates on the timeline.")
    first_update_seconds = _seconds("From the incident's start to its first public update.")
    updates_promised = serializers.IntegerField(
        help_text="Promised next-update times that have come (kept or broken); a promise still "
        "ahead is not counted."
    )
    updates_on_time = serializers.IntegerField(
        help_text="Of those, how many were kept: the next update came at or before the time."
    )
    longest_silence_seconds = _seconds(
        "The longest stretch with no update while the incident was active, including from the "
        "start to the first update and, while still active, from the last update to now."
    )
    resolution_seconds = _seconds("From the start to resolution; null while unresolved.")
    postmortem_seconds = _seconds(
        "From resolution to the postmortem's publication; null while none is published."
    )
    action_items_total = serializers.IntegerField()
    action_items_done = serializers.IntegerField()
    recorded_later = serializers.BooleanField(
        help_text="Recorded after the fact (backfilled or imported): no update was entered "
        "before the resolution, so none was public while it happened. Such incidents are left "
        "out of the organization's scorecard."
    )
    labels = IncidentLabelsSerializer(help_text="Each figure in words, as the dashboard says it.")


class FiguresSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    label = serializers.CharField(  # type: ignore[assignment]  # a field named like Field.label
        help_text="The week's first day, e.g. “Sep 8”."
    )
    incidents = serializers.IntegerField(help_text="Incidents that started in the period.")
    median_first_update_seconds = _seconds("Median time to the first public update.")
    updates_promised = serializers.IntegerField()
    updates_on_time = serializers.IntegerField()
    updates_on_time_percent = serializers.IntegerField(
        allow_null=True, help_text="Null when no promised time came due."
    )
    median_resolution_seconds = _seconds("Median time to resolution of the resolved ones.")
    longest_silence_seconds = _seconds("The longest silence of any incident in the period.")
    postmortems_due = serializers.IntegerField(
        help_text="Resolved incidents whose postmortem is published or was due "
        "(`postmortem_target_days` after resolution have passed)."
    )
    postmortems_on_time = serializers.IntegerField(
        help_text="Of those, postmortems published within `postmortem_target_days`."
    )
    action_items_total = serializers.IntegerField()
    action_items_done = serializers.IntegerField()


class ScorecardSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    postmortem_target_days = serializers.IntegerField()
    overall = FiguresSerializer(help_text="The whole window.")
    periods = FiguresSerializer(
        many=True,
        help_text="Oldest first: the window's first (partial) week, then each week from "
        "Monday 00:00 in the organization's timezone.",
    )
    incidents = IncidentScoreSerializer(many=True, help_text="Oldest first.")
    recorded_later = serializers.IntegerField(
        help_text="Incidents in the window left out because they were recorded after the fact."
    )


class ScorecardView(APIView):
    # Default authentication, permission and throttle classes (settings.REST_FRAMEWORK): any
    # key may read; the organization is the key's, never a parameter (like OrganizationView).

    @extend_schema(
        operation_id="scorecard_retrieve",
        summary="The organization's response scorecard",
        description="How soon and how regularly the organization updated its customers, for "
        "the incidents that started in the last `days` days: overall, per week (for a trend) "
        "and per incident.",
        tags=TAGS,
        parameters=[ScorecardQuerySerializer],
        responses={200: ScorecardSerializer, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        query = ScorecardQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        organization = credential_of(request).organization
        card = figures.organization_scorecard(organization, days=query.validated_data["days"])
        return Response(ScorecardSerializer(card.as_dict()).data)


class IncidentScorecardViewSet(OrgViewSetMixin, viewsets.GenericViewSet):
    queryset = Incident.objects.all()
    serializer_class = IncidentScoreSerializer
    lookup_url_kwarg = "incident_id"
    pagination_class = None

    def filter_queryset_for_request(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(kind=Kind.INCIDENT)

    @extend_schema(
        summary="An incident's response scorecard",
        description="Time to first public update, updates on time versus promised, longest "
        "silence while active, time to resolution, time to the published postmortem and "
        "action items done.",
        tags=TAGS,
        responses={200: IncidentScoreSerializer, **error_responses(404)},
    )
    @action(detail=True, methods=["get"], url_path="scorecard")
    def scorecard(self, request: Request, incident_id: str) -> Response:
        incident = self.get_object()
        assert isinstance(incident, Incident)
        return Response(IncidentScoreSerializer(figures.incident_score(incident).as_dict()).data)
