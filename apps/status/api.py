"""Management API: components and component groups (`/api/v1/components/`,
`/api/v1/component-groups/`). Fields and enums follow the status API reference §1.3-1.4.

Every write goes through apps.status.services; status changes through set_component_status, so
the API writes the same history, uptime, audit and notification rows as the dashboard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers

from apps.api.base import OrgViewSet
from apps.api.fields import OrgObjectField, StrictModelSerializer
from apps.api.filters import ListFilterSerializer, ordering_field
from apps.api.schema import crud_schema

from . import services
from .models import Component, ComponentGroup, ComponentStatus

if TYPE_CHECKING:
    from apps.organizations.principals import Principal


def _reorder_item(item: Component | ComponentGroup) -> dict[str, str | None]:
    if isinstance(item, ComponentGroup):
        return {"type": "group", "id": item.public_id}
    return {
        "type": "component",
        "id": item.public_id,
        "group": item.group.public_id if item.group_id else None,
    }


def move_to_position(item: Component | ComponentGroup, position: int, *, actor: Principal) -> None:
    """Put `item` at `position` (1-based) among its siblings, through services.reorder.

    Siblings are the components of its group, or, at the top level, the groups and the
    components outside groups together (they share one sequence, as on the page).
    """
    organization = item.organization
    if isinstance(item, Component) and item.group_id:
        siblings: list[Component | ComponentGroup] = list(
            Component.objects.filter(group_id=item.group_id)
            .select_related("group")
            .order_by("position", "created_at", "pk")
        )
    else:
        siblings = services.top_level_items(organization)
    others = [s for s in siblings if not (type(s) is type(item) and s.pk == item.pk)]
    others.insert(min(position, len(others) + 1) - 1, item)
    services.reorder(organization, actor=actor, items=[_reorder_item(s) for s in others])
    item.refresh_from_db(fields=["position"])


class ComponentSerializer(StrictModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    status = serializers.ChoiceField(
        choices=ComponentStatus.choices,
        required=False,
        help_text="Current status. Changing it writes a history row and may notify subscribers.",
    )
    group_id = OrgObjectField(
        model=ComponentGroup,
        label_name="component group id",
        source="group",
        allow_null=True,
        required=False,
        help_text="The component group this component belongs to, or null for the top level.",
    )
    position = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=10_000,
        help_text="1-based order within its parent (top level or group). Setting it moves the "
        "component there and shifts its siblings; a position past the end puts it last.",
    )

    class Meta:
        model = Component
        fields = [
            "id",
            "name",
            "description",
            "status",
            "position",
            "group_id",
            "only_show_if_degraded",
            "showcase",
            "start_date",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> Component:
        status = validated_data.pop("status", ComponentStatus.OPERATIONAL)
        position = validated_data.pop("position", None)
        actor = self.context["principal"]
        component = services.create_component(
            self.context["organization"], actor=actor, **validated_data
        )
        if status != ComponentStatus.OPERATIONAL:
            services.set_component_status(component, status, actor=actor)
        if position is not None:
            move_to_position(component, position, actor=actor)
        return component

    @transaction.atomic
    def update(self, instance: Component, validated_data: dict[str, Any]) -> Component:
        status = validated_data.pop("status", None)
        position = validated_data.pop("position", None)
        actor = self.context["principal"]
        if validated_data:
            services.update_component(instance, actor=actor, **validated_data)
        if status is not None:
            services.set_component_status(instance, status, actor=actor)
        if position is not None:
            move_to_position(instance, position, actor=actor)
        return instance


class ComponentFilterSerializer(ListFilterSerializer):
    status = serializers.MultipleChoiceField(
        choices=ComponentStatus.choices, required=False, help_text="Only these statuses."
    )
    group_id = serializers.CharField(
        required=False, max_length=32, help_text="Only components of this group."
    )
    ordering = ordering_field(["created_at", "updated_at", "name", "position"], "created_at")


@extend_schema_view(**crud_schema("component", "components", ComponentSerializer))
@extend_schema_view(list=extend_schema(parameters=[ComponentFilterSerializer]))
class ComponentViewSet(OrgViewSet):
    queryset = Component.objects.all()
    serializer_class = ComponentSerializer
    lookup_url_kwarg = "component_id"
    filter_serializer_class = ComponentFilterSerializer
    ordering = "created_at"

    def filter_queryset_for_request(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("group")

    def apply_filters(self, queryset: QuerySet, params: dict[str, Any]) -> QuerySet:
        if params.get("status"):
            queryset = queryset.filter(status__in=params["status"])
        if "group_id" in params:
            queryset = queryset.filter(group__public_id=params["group_id"])
        if "created_after" in params:
            queryset = queryset.filter(created_at__gte=params["created_after"])
        if "created_before" in params:
            queryset = queryset.filter(created_at__lt=params["created_before"])
        return queryset

    def perform_destroy(self, instance: Component) -> None:
        services.delete_component(instance, actor=self.principal)


class ComponentGroupSerializer(StrictModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    status = serializers.ChoiceField(
        choices=ComponentStatus.choices,
        read_only=True,
        help_text="The worst status of the group's components.",
    )
    position = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=10_000,
        help_text="1-based order at the top level, shared with components outside groups. "
        "Setting it moves the group there.",
    )
    components = serializers.SerializerMethodField(
        help_text="Ids of the group's components, in display order."
    )

    class Meta:
        model = ComponentGroup
        fields = [
            "id",
            "name",
            "description",
            "status",
            "position",
            "components",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "status", "components", "created_at", "updated_at"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_components(self, group: ComponentGroup) -> list[str]:
        # components.all() is prefetched (and ordered by the model's position ordering).
        return [component.public_id for component in group.components.all()]

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> ComponentGroup:
        position = validated_data.pop("position", None)
        group = services.create_component_group(
            self.context["organization"], actor=self.context["principal"], **validated_data
        )
        if position is not None:
            move_to_position(group, position, actor=self.context["principal"])
        return group

    @transaction.atomic
    def update(self, instance: ComponentGroup, validated_data: dict[str, Any]) -> ComponentGroup:
        position = validated_data.pop("position", None)
        if validated_data:
            services.update_component_group(
                instance,
                actor=self.context["principal"],
                name=validated_data.get("name", instance.name),
                description=validated_data.get("description", instance.description),
            )
        if position is not None:
            move_to_position(instance, position, actor=self.context["principal"])
        return instance


class ComponentGroupFilterSerializer(ListFilterSerializer):
    ordering = ordering_field(["created_at", "updated_at", "name", "position"], "created_at")


@extend_schema_view(**crud_schema("component group", "component groups", ComponentGroupSerializer))
@extend_schema_view(list=extend_schema(parameters=[ComponentGroupFilterSerializer]))
class ComponentGroupViewSet(OrgViewSet):
    queryset = ComponentGroup.objects.all()
    serializer_class = ComponentGroupSerializer
    lookup_url_kwarg = "group_id"
    filter_serializer_class = ComponentGroupFilterSerializer
    ordering = "created_at"

    def filter_queryset_for_request(self, queryset: QuerySet) -> QuerySet:
        return queryset.prefetch_related("components")

    def apply_filters(self, queryset: QuerySet, params: dict[str, Any]) -> QuerySet:
        if "created_after" in params:
            queryset = queryset.filter(created_at__gte=params["created_after"])
        if "created_before" in params:
            queryset = queryset.filter(created_at__lt=params["created_before"])
        return queryset

    def perform_destroy(self, instance: ComponentGroup) -> None:
        services.delete_component_group(instance, actor=self.principal)
