"""drf-spectacular extensions. Imported by ApiConfig.ready() so they are registered.

The API key's security scheme is in apps.integrations.authentication, beside the key."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema


class StrictSerializerScheme(OpenApiSerializerExtension):
    """Request bodies of strict serializers (apps.api.fields.StrictSerializerMixin) refuse
    unknown fields: say so in the schema with `additionalProperties: false`."""

    target_class = "apps.api.fields.StrictSerializerMixin"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


# --- shared pieces of operation documentation ------------------------------------------------

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    # Printable ASCII, no surrounding spaces (apps.api.idempotency).
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]*[!-~])?$"},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (e.g. a UUID). Sending the same POST again with the same key and body "
        "within 24 hours returns the first response (with `Idempotent-Replayed: true`) and "
        "changes nothing; the same key with another body is a 409."
    ),
)


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Documented error responses: always 401 and 429, plus the given codes."""
    from .serializers import ErrorSerializer

    descriptions = {
        400: "Invalid input: `detail` says what, and each bad field is listed with its "
        "messages. Unknown fields, ids of objects that do not exist or belong to another "
        "organization, and transitions the current state does not allow are 400s too.",
        401: "No API key, or an invalid or revoked one.",
        403: "The API key is read-only.",
        404: "Not found, or it belongs to another organization.",
        409: "The Idempotency-Key was used for another request, or is still being processed; "
        "or the change conflicts with the current state (changed by someone else a moment "
        "ago, already exists).",
        413: "The request body is larger than 2 MB.",
        415: "The body is not `application/json`.",
        429: "Too many requests for this key; retry after `Retry-After` seconds.",
    }
    wanted = sorted({401, 429, *codes})
    return {
        code: OpenApiResponse(ErrorSerializer, description=descriptions[code]) for code in wanted
    }


WRITE_ERRORS = (400, 403, 409, 413, 415)


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def crud_schema(
    singular: str, plural: str, serializer: Any, *, tag: str | None = None
) -> dict[str, Any]:
    """extend_schema_view arguments for a model viewset's standard actions."""
    tags = [tag or plural.replace(" ", "-")]
    return {
        "list": extend_schema(
            summary=f"List {plural}", tags=tags, responses={200: serializer, **error_responses(400)}
        ),
        "retrieve": extend_schema(
            summary=f"Get {_a(singular)}",
            tags=tags,
            responses={200: serializer, **error_responses(404)},
        ),
        "create": extend_schema(
            summary=f"Create {_a(singular)}",
            tags=tags,
            parameters=[IDEMPOTENCY_KEY],
            responses={201: serializer, **error_responses(*WRITE_ERRORS)},
        ),
        "update": extend_schema(
            summary=f"Replace {_a(singular)}",
            tags=tags,
            responses={200: serializer, **error_responses(*WRITE_ERRORS, 404)},
        ),
        "partial_update": extend_schema(
            summary=f"Change some fields of {_a(singular)}",
            tags=tags,
            responses={200: serializer, **error_responses(*WRITE_ERRORS, 404)},
        ),
        "destroy": extend_schema(
            summary=f"Delete {_a(singular)}",
            tags=tags,
            responses={204: None, **error_responses(403, 404)},
        ),
    }
