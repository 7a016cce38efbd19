from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("orgs:home")
    return render(request, "core/landing.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches nothing else."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    cache.set("readyz", "1", timeout=5)
    if cache.get("readyz") != "1":
        raise RuntimeError("cache did not return the value just written")


# The broker check must answer well within a load balancer's probe timeout, also when the broker
# host drops packets instead of refusing the connection.
BROKER_CHECK_TIMEOUT = 1.5  # seconds


def _check_broker() -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return  # tasks run in-process: there is no broker to reach
    from config.celery import app

    # The URL is read from settings on every call (not from the Celery app's cached config), and
    # neither kombu nor redis-py may retry: one attempt, short socket timeouts.
    with app.connection_for_write(
        url=settings.CELERY_BROKER_URL,
        connect_timeout=BROKER_CHECK_TIMEOUT,
        transport_options={
            "socket_connect_timeout": BROKER_CHECK_TIMEOUT,
            "socket_timeout": BROKER_CHECK_TIMEOUT,
            "max_retries": 0,
        },
    ) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_CHECK_TIMEOUT)


CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database, the cache and the broker answer. 503 names what failed."""
    results, failing = {}, []
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:
            logger.warning("readyz: %s failed: %s", name, exc, exc_info=True)
            # SECURITY: /readyz is public; exception messages can carry host names, user names
            # or URLs, so the response names the failing part and the error type only (the log
            # has the rest).
            results[name] = f"error: {type(exc).__name__}"
            failing.append(name)
        else:
            results[name] = "ok"
    body = {"status": "fail" if failing else "ok", "checks": results, "failing": failing}
    return JsonResponse(body, status=503 if failing else 200)


# Uploaded branding images, served by the application in every mode (the quick start has no
# web server in front, and production needs no separate media host for a few small images).
# SECURITY: only files directly inside the two branding folders, only image types whose bytes
# were decoded on upload (apps.status.services.validate_branding_image; never SVG), with the
# content type fixed from the extension, nosniff and a sandboxing CSP.
BRANDING_FOLDERS = frozenset({"logos", "favicons"})
BRANDING_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "ico": "image/x-icon",
}


@require_GET
def branding_file(request: HttpRequest, folder: str, name: str) -> HttpResponseBase:
    from pathlib import Path

    from django.http import FileResponse, Http404

    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if folder not in BRANDING_FOLDERS or extension not in BRANDING_TYPES or "/" in name:
        raise Http404("No such image.")
    root = Path(settings.MEDIA_ROOT).resolve() / "branding" / folder
    path = (root / name).resolve()
    if path.parent != root or not path.is_file():
        raise Http404("No such image.")
    response = FileResponse(path.open("rb"), content_type=BRANDING_TYPES[extension])
    # File names are random per upload, so a URL's content never changes.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Access-Control-Allow-Origin"] = "*"
    return response
