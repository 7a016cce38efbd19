"""The inbound alert endpoint. Answers JSON, always: senders log the body of failed calls.

Status codes, in the order the checks run:
404 unknown kind · 401 no token (on /hooks/<kind>, where it travels in a header) ·
429 too many failed tries from this address (apps.api.throttling) · 404 unknown token ·
405 not POST/PUT · 401 bearer token missing or wrong ·
413 body over MAX_BODY_BYTES · 415 not application/json ·
411 chunked body on a server that cannot read it (runserver) · 401 bad Grafana HMAC signature ·
400 not JSON (apps.api.parsers.loads, strict), wrong version, unusable shape ·
200 applied or ignored (the log says which) ·
503 database unavailable (the only answer a retry can fix; Alertmanager and Grafana retry it).
"""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.api.throttling import AUTH_FAILURE_MESSAGE, auth_failure_wait, record_auth_failure

from . import services as alerts
from .models import AlertEvent, AlertIntegration
from .payloads import PARSERS, PayloadError, parse

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
UNKNOWN = "Unknown hook URL: check the token and the kind (alertmanager, grafana or generic)."


def _error(status: int, detail: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _reject(
    integration: AlertIntegration, status: int, detail: str, raw: bytes = b""
) -> JsonResponse:
    """A refused call from an authenticated sender: logged, so staff see why alerts are missing.

    Calls that fail authentication are not logged: whoever guessed or leaked a URL must not be
    able to fill the organization's log.
    """
    alerts.log_event(
        integration,
        outcome=AlertEvent.Outcome.REJECTED,
        summary=f"Refused ({status}): {detail}",
        raw=raw,
        http_status=status,
    )
    return _error(status, detail)


# SECURITY: CSRF protection is for browser sessions; this endpoint is authenticated by the secret
# URL token (and optionally a bearer token or an HMAC signature), never by cookies.
@csrf_exempt
def receive(request: HttpRequest, token: str, kind: str) -> JsonResponse:
    try:
        return _receive(request, token, kind)
    except DatabaseError:
        logger.exception("inbound alert: database unavailable")
        return _error(503, "Temporarily unavailable; please retry.", **{"Retry-After": "30"})


class _LengthRequired(Exception):
    pass


def _read_body(request: HttpRequest, limit: int) -> bytes:
    """At most `limit` bytes of the body, so no sender can make us buffer more.

    A chunked request has no Content-Length; Django then reads its body as empty (WSGIRequest
    wraps wsgi.input in a LimitedStream of CONTENT_LENGTH, 0 when missing). A server that has
    de-chunked wsgi.input and ends it at the body's end says so with `wsgi.input_terminated`
    (gunicorn does): it is then read directly, up to the limit. Other servers (runserver) hand
    over the raw socket, which cannot be read safely: _LengthRequired (a 411).
    """
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if request.META.get("CONTENT_LENGTH") or not chunked:
        return request.read(limit)
    if not request.environ.get("wsgi.input_terminated"):
        raise _LengthRequired
    stream = request.environ["wsgi.input"]
    parts: list[bytes] = []
    size = 0
    while size < limit:
        part = stream.read(limit - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


# SECURITY: as receive(); the token comes from a header instead of the URL.
@csrf_exempt
def receive_with_header_token(request: HttpRequest, kind: str) -> JsonResponse:
    token = request.headers.get("X-Candor-Token", "").strip()
    if not token:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        token = credentials.strip() if scheme.lower() == "bearer" else ""
    if kind in PARSERS and not token:
        return _error(
            401,
            "Send the hook token in an X-Candor-Token header (or Authorization: Bearer <token>), "
            "or post to the hook URL that contains it.",
            **{"WWW-Authenticate": 'Bearer realm="hooks"'},
        )
    return receive(request, token, kind)


def _receive(request: HttpRequest, token: str, kind: str) -> JsonResponse:
    if kind not in PARSERS:
        return _error(404, UNKNOWN)
    wait = auth_failure_wait(request)
    if wait is not None:
        return _error(429, AUTH_FAILURE_MESSAGE, **{"Retry-After": str(wait)})
    integration = alerts.integration_for_token(token)
    # SECURITY: the token of one kind does not work on another kind's URL, and both answers are
    # the same as for an unknown token.
    if integration is None or integration.kind != kind:
        record_auth_failure(request, what="hook token")
        return _error(404, UNKNOWN)
    if request.method not in ("POST", "PUT"):
        # Grafana may be configured to send PUT.
        return _error(405, "Send alerts with POST.", Allow="POST, PUT")
    if not alerts.bearer_ok(integration, request.headers.get("Authorization", "")):
        record_auth_failure(request, what="hook bearer token")
        return _error(
            401, "Missing or wrong bearer token.", **{"WWW-Authenticate": 'Bearer realm="hooks"'}
        )
    authenticated = not (kind == AlertIntegration.Kind.GRAFANA and integration.hmac_secret)

    length = request.headers.get("Content-Length")
    too_big = f"The body is larger than {MAX_BODY_BYTES // 1024} KB."
    if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
        return _reject(integration, 413, too_big) if authenticated else _error(413, too_big)
    content_type = request.content_type or ""
    if content_type != "application/json":
        detail = f"Send JSON with Content-Type: application/json (got {content_type or 'none'})."
        return _reject(integration, 415, detail) if authenticated else _error(415, detail)
    try:
        raw = _read_body(request, MAX_BODY_BYTES + 1)
    except _LengthRequired:
        detail = "Send a Content-Length header: this server cannot read chunked bodies."
        return _reject(integration, 411, detail) if authenticated else _error(411, detail)
    if len(raw) > MAX_BODY_BYTES:
        return _reject(integration, 413, too_big) if authenticated else _error(413, too_big)

    problem = alerts.signature_problem(integration, raw, request.headers, now=time.time())
    if problem:
        record_auth_failure(request, what="hook signature")
        return _error(401, problem)

    try:
        notification = parse(kind, raw)
    except PayloadError as exc:
        return _reject(integration, 400, str(exc), raw)
    event = alerts.receive_notification(integration, notification, raw=raw)
    return JsonResponse(
        {
            "status": event.outcome,
            "detail": event.summary,
            "incident": event.incident.public_id if event.incident else None,
        }
    )
