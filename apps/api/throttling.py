from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .credentials import is_api_credential

if TYPE_CHECKING:
    from django.http import HttpRequest
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per API key, shared by all processes through the cache (Redis in production).

    The rate is REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_key"]. Over it, DRF answers 429
    with Retry-After. Requests without a valid key never get here: authentication and the
    permission check refuse them first.
    """

    scope = "api_key"

    def get_rate(self) -> str | None:
        # Read at request time, not import time (DRF's THROTTLE_RATES is a class attribute frozen
        # at import), so a changed setting (override_settings in tests) takes effect.
        # The stubs type the rates as numbers; they are "100/minute" strings.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # type: ignore[return-value]

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        key = request.auth
        if not is_api_credential(key):
            return None
        return self.cache_format % {"scope": self.scope, "ident": key.pk}


# --- failed authentication, per client address ---------------------------------------------

# Keys and hook tokens are far too long to guess, but a client that keeps failing is probing:
# past this many failures in a minute, its address gets 429 until the minute is over (valid
# keys included: the address, not the key, is what is limited). Other addresses are unaffected.
AUTH_FAILURES_PER_MINUTE = 20
AUTH_FAILURE_WINDOW_SECONDS = 60
AUTH_FAILURE_MESSAGE = "Too many failed authentication attempts from your address; retry later."


def client_address(request: HttpRequest | Request) -> str:
    # REMOTE_ADDR: the peer, or behind our own proxies (TRUSTED_PROXIES) the address they saw,
    # set before Django runs (apps/core/forwarded.py); never a client-supplied X-Forwarded-For
    # (the same rule as apps.organizations.middleware.client_ip, a floor above this one).
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _window(now: float) -> tuple[int, int]:
    start = int(now) - int(now) % AUTH_FAILURE_WINDOW_SECONDS
    return start, start + AUTH_FAILURE_WINDOW_SECONDS


def _failure_key(address: str, window_start: int) -> str:
    return f"auth-failures:{address}:{window_start}"


def auth_failure_wait(request: HttpRequest | Request, *, now: float | None = None) -> int | None:
    """Seconds this client must wait before trying to authenticate again, or None.

    Fails open: with the cache down, nobody is limited (and the log says so), because refusing
    every monitoring system and script would be worse than letting guesses through.
    """
    now = time.time() if now is None else now
    start, end = _window(now)
    try:
        failures = cache.get(_failure_key(client_address(request), start), 0)
    except Exception:
        logger.warning("auth failure limit: cache unavailable, not limiting", exc_info=True)
        return None
    if failures < AUTH_FAILURES_PER_MINUTE:
        return None
    return max(1, math.ceil(end - now))


def record_auth_failure(
    request: HttpRequest | Request, *, what: str, now: float | None = None
) -> None:
    """Count one failed authentication (`what`: "API key", "hook token"...) for this client.

    The credential that was tried is never logged, not even a prefix: only what and from where.
    """
    now = time.time() if now is None else now
    start, _ = _window(now)
    address = client_address(request)
    key = _failure_key(address, start)
    try:
        # add() then incr(): atomic in Redis and locmem, so concurrent workers count every try.
        cache.add(key, 0, timeout=AUTH_FAILURE_WINDOW_SECONDS * 2)
        failures = cache.incr(key)
    except Exception:
        logger.warning("auth failure limit: cache unavailable, not counting", exc_info=True)
        return
    if failures >= AUTH_FAILURES_PER_MINUTE:
        logger.warning(
            "%d failed %s attempts from %s within a minute; refusing it until the minute ends",
            failures,
            what,
            address,
        )
    else:
        logger.info("failed %s attempt from %s (%d this minute)", what, address, failures)
