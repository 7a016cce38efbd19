from __future__ import annotations

from django.http import HttpRequest, JsonResponse


def not_found(request: HttpRequest) -> JsonResponse:
    """JSON 404 for unknown paths below /api/v1/, so clients never get an HTML page."""
    detail = "Not found."
    if not request.path.endswith("/"):
        detail = "Not found. API paths end with a slash."
    return JsonResponse({"detail": detail}, status=404)
