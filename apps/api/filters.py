"""Query-parameter filtering and ordering for list endpoints, validated like a request body.

A viewset declares `filter_serializer_class` (a Serializer over the query string, usually a
subclass of ListFilterSerializer) and implements `apply_filters(queryset, params)`. Bad values are
a 400 naming the parameter (`?status=broken` → `{"status": ["“broken” is not a valid
choice."]}`), never silently ignored, so a typo in a script does not return everything.

Ordering goes through the same serializer (`ordering` choice field); the cursor paginator asks
this backend for it (CursorPagination.get_ordering looks for a `get_ordering` method).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rest_framework import serializers
from rest_framework.filters import BaseFilterBackend

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from rest_framework.request import Request
    from rest_framework.views import APIView

    from .base import OrgViewSetMixin

CACHE_ATTRIBUTE = "_candor_filter_params"


class ListFilterSerializer(serializers.Serializer):
    # An empty range (created_after >= created_before) is not an error: it matches nothing.

    created_after = serializers.DateTimeField(
        required=False, help_text="Only rows created at or after this time (ISO 8601)."
    )
    created_before = serializers.DateTimeField(
        required=False, help_text="Only rows created before this time (ISO 8601)."
    )


def ordering_field(choices: list[str], default: str) -> serializers.ChoiceField:
    """`?ordering=` with the allowed fields, each also descending (`-field`)."""
    options = [option for field in choices for option in (field, f"-{field}")]
    return serializers.ChoiceField(
        choices=options,
        required=False,
        help_text=f"Sort order; a leading `-` sorts descending. Default `{default}`.",
    )


def filter_params(request: Request, view: APIView) -> dict[str, Any]:
    """The validated query parameters of a list request (validated once per request)."""
    cached = getattr(request, CACHE_ATTRIBUTE, None)
    if cached is not None:
        return cached
    serializer_class = getattr(view, "filter_serializer_class", None)
    params: dict[str, Any] = {}
    if serializer_class is not None and getattr(view, "action", None) == "list":
        serializer = serializer_class(data=request.query_params)
        # DRF reads `?status=` as "not given"; an empty value is more likely a script's bug.
        blank = {
            name: ["Give a value, or leave the parameter out."]
            for name in serializer.fields
            if name in request.query_params and not request.query_params.get(name, "").strip()
        }
        if blank:
            raise serializers.ValidationError(blank)
        serializer.is_valid(raise_exception=True)
        params = dict(serializer.validated_data)
    setattr(request, CACHE_ATTRIBUTE, params)
    return params


class QueryFilterBackend(BaseFilterBackend):
    def filter_queryset(self, request: Request, queryset: QuerySet, view: APIView) -> QuerySet:
        if getattr(view, "action", None) != "list":
            return queryset  # detail lookups are never narrowed by query parameters
        params = filter_params(request, view)
        # Only OrgViewSetMixin views use this backend (apps.api.base sets it).
        return cast("OrgViewSetMixin", view).apply_filters(queryset, params)

    def get_ordering(self, request: Request, queryset: QuerySet, view: APIView) -> Any:
        if getattr(view, "action", None) != "list":
            return None
        ordering = filter_params(request, view).get("ordering") or getattr(view, "ordering", None)
        if not ordering:
            return None
        # A unique tie-breaker keeps cursor pages from skipping or repeating rows.
        return (ordering, "-id" if ordering.startswith("-") else "id")
