from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .serializers import ErrorSerializer, OrganizationSerializer

ERROR_RESPONSES = {
    401: OpenApiResponse(ErrorSerializer, description="No API key, or an invalid or revoked one."),
    429: OpenApiResponse(ErrorSerializer, description="Too many requests; see Retry-After."),
}


class OrganizationView(APIView):
    # Default authentication, permission and throttle classes (settings.REST_FRAMEWORK): a key
    # is required, and the organization is the key's, never a parameter.

    @extend_schema(
        operation_id="organization_retrieve",
        summary="The key's organization",
        description="The organization the API key belongs to, with its public status page.",
        tags=["organization"],
        responses={200: OrganizationSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        organization = request.auth.organization
        return Response(OrganizationSerializer(organization, context={"request": request}).data)


def not_found(request: HttpRequest) -> JsonResponse:
    """JSON 404 for unknown paths below /api/v1/, so clients never get an HTML page."""
    detail = "Not found."
    if not request.path.endswith("/"):
        detail = "Not found. API paths end with a slash."
    return JsonResponse({"detail": detail}, status=404)
