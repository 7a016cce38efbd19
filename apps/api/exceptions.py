"""One exception handler for the management API: every error is `{"detail": "..."}`.

DRF already answers its own exceptions. This adds what services and Django raise:

- django.core.exceptions.ValidationError (raised by services before they write anything) is a
  400 with the service's message, and its field errors when it has them;
- RequestDataTooBig (a body over DATA_UPLOAD_MAX_MEMORY_SIZE) is a 413, not Django's bare 400;
- an idempotent replay (apps.api.idempotency) returns the stored first response;
- an OperationalError or InterfaceError (PostgreSQL down or restarting), wherever it is raised
  in the request (the API key lookup in authentication, a view, a service), is a 503
  `{"detail": ...}` with Retry-After, like the inbound alert hooks answer
  (apps.integrations.alerts.views_hooks): the one answer a client's retry can fix, in JSON as
  every other API answer, never Django's HTML 500 page. Other database errors (IntegrityError,
  ProgrammingError) are bugs: still 500s.

A row deleted by another request while a service worked on it raises apps.core.locking.Gone, an
Http404, which DRF answers as its 404. Any other ObjectDoesNotExist is a bug and stays a 500: it
is deliberately not mapped here.

Field errors keep DRF's shape (`{"name": ["This field is required."]}`) and gain a `detail`
summarising them, so every error body has `detail` and clients can show it as it is.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY

logger = logging.getLogger(__name__)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This conflicts with the current state of the resource."
    default_code = "conflict"


class DatabaseUnavailable(exceptions.APIException):
    """PostgreSQL did not answer. The same words and Retry-After as the alert hooks' 503."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Temporarily unavailable; please retry."
    default_code = "unavailable"
    # DRF's handler sends `wait` as Retry-After: long enough for a restart or a failover.
    wait = 30


class IdempotentReplay(Exception):
    """Raised before the handler runs when an Idempotency-Key was seen with the same body: the
    handler is skipped and the first response is sent again."""

    def __init__(self, status_code: int, body: Any) -> None:
        super().__init__(status_code)
        self.status_code = status_code
        self.body = body

    def as_response(self) -> Response:
        return Response(self.body, status=self.status_code, headers={"Idempotent-Replayed": "true"})


def _first_message(errors: Any) -> str:
    """The first human message in a DRF error structure (list, dict or string)."""
    if isinstance(errors, dict):
        for value in errors.values():
            return _first_message(value)
        return ""
    if isinstance(errors, list):
        return _first_message(errors[0]) if errors else ""
    return str(errors)


def summarise(errors: dict[str, Any]) -> str:
    parts = []
    for field, messages in errors.items():
        message = _first_message(messages)
        parts.append(message if field == NON_FIELD else f"{field}: {message}")
    return " ".join(parts) if len(parts) == 1 else "; ".join(parts)


# Service error codes that mean "the current state conflicts", not "bad input": 409.
CONFLICT_CODES = frozenset({"conflict", "exists"})


def from_django_validation_error(exc: DjangoValidationError) -> exceptions.APIException:
    codes = {error.code for error in exc.error_list} if not hasattr(exc, "error_dict") else set()
    if codes and codes <= CONFLICT_CODES:
        # e.g. "This was changed by someone else a moment ago", "already subscribed".
        return Conflict(" ".join(message for message in exc.messages))
    detail = as_serializer_error(exc)
    if set(detail) == {NON_FIELD}:
        # A plain service message: "This incident is resolved. Reopen it to post another update."
        return exceptions.ValidationError({"detail": " ".join(detail[NON_FIELD])})
    return exceptions.ValidationError(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Imported here: rest_framework.views reads the parser setting at import, and the parser
    # module imports this one (a module-level import would be circular).
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, IdempotentReplay):
        return exc.as_response()
    if isinstance(exc, DjangoValidationError):
        exc = from_django_validation_error(exc)
    elif isinstance(exc, RequestDataTooBig):
        from .parsers import too_large

        exc = too_large()
    elif isinstance(exc, OperationalError | InterfaceError):
        logger.warning("API: database unavailable (%s); answering 503", exc)
        exc = DatabaseUnavailable()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's 500 handling (and error reporting) takes over
    data = response.data
    if isinstance(data, list):
        response.data = {"detail": " ".join(str(message) for message in data)}
    elif isinstance(data, dict) and "detail" not in data:
        response.data = {"detail": summarise(data), **data}
    return response
