from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from rest_framework import pagination, serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request


class CursorPagination(pagination.CursorPagination):
    """Cursor pagination: stable under inserts, and no COUNT(*) on large tables.

    `?limit=` picks the page size (at most max_page_size). Viewsets whose model has a better
    order (e.g. incidents by -created_at) set `ordering` on the viewset; "-id" is the default
    because it is unique, which cursor pagination needs to never skip or repeat rows.
    """

    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"
    ordering = "-id"

    def get_page_size(self, request: Request) -> int:
        # DRF ignores a bad ?limit= silently; a script should hear that it asked for nonsense.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        field = serializers.IntegerField(min_value=1, max_value=self.max_page_size)
        try:
            return field.run_validation(raw)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({self.page_size_query_param: exc.detail}) from exc

    # Only querysets reach here (every list is one); the cursor needs their model.
    def paginate_queryset(  # type: ignore[override]
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> Any:
        self._model = queryset.model  # decode_cursor checks positions against the order field
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> Any:
        """A cursor is opaque but client-supplied: one we did not make is a 400, and its position
        must be a valid value of the ordering field before it reaches a query (PostgreSQL raises
        on NUL characters, and a non-number compared with an integer column is a crash)."""
        invalid = serializers.ValidationError(
            {self.cursor_query_param: ["Invalid cursor; use the next or previous link."]}
        )
        try:
            cursor = super().decode_cursor(request)
        except NotFound as exc:
            raise invalid from exc
        if cursor is None or cursor.position is None:
            return cursor
        # Cursor.position is the decoded query-string text; the stubs type it as int.
        if "\x00" in cursor.position:  # type: ignore[operator]
            raise invalid
        field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        try:
            field.to_python(cursor.position)
        except (DjangoValidationError, ValueError, TypeError) as exc:
            raise invalid from exc
        return cursor

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
                parameter["description"] = f"Results per page (1 to {self.max_page_size})."
        return parameters
