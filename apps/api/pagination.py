from __future__ import annotations

from rest_framework import pagination


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
