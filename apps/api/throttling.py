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


# One warning a minute per process and kind when the cache is down: during an outage every
# request would log one otherwise, and the log is what people read while they fix it.
CACHE_WARNING_INTERVAL = 60.0
_last_cache_warning: dict[str, float] = {}


def warn_cache_unavailable(what: str, *, now: float | None = None) -> bool:
    """Log that `what` fails open because the cache is unreachable, at most once a minute per
    process for each `what`. Returns whether it logged."""
    now = time.monotonic() if now is None else now
    last = _last_cache_warning.get(what)
    if last is not None and now - last < CACHE_WARNING_INTERVAL:
        return False
    _last_cache_warning[what] = now
    logger.warning(
        "%s: cache unavailable, not limiting (this warning repeats at most once a minute)",
        what,
        exc_info=True,
    )
    return True


def count_in_window(key: str, window_seconds: int) -> int:
    """Add one to `key`'s counter and return the new count, atomically across processes.

    add() then incr(): both are atomic in Redis (SET NX with EXPIRE, INCR) and in locmem (one
    lock), so concurrent requests each get their own number and none is lost. The counter
    outlives its window by a little, so a request at the window's very end still finds it.
    Raises whatever the cache raises when it is down.
    """
    cache.add(key, 0, timeout=window_seconds + 5)
    try:
        return cache.incr(key)
    except ValueError:
        # The counter expired between add() and incr() (Django raises ValueError for a
        # missing key): this request opens the count again.
        cache.add(key, 0, timeout=window_seconds + 5)
        return cache.incr(key)


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per API key, shared by all processes through the cache (Redis in production).

    The rate is REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_key"]. Over it, DRF answers 429
    with Retry-After (the seconds left in the window). Requests without a valid key never get
    here: authentication and the permission check refuse them first.

    A fixed window counted with an atomic counter per key and window (count_in_window), not
    DRF's list of timestamps: that one is read, appended to and written back, so concurrent
    requests overwrite each other's entries and 20 clients got 738 requests through a limit of
    600. A fixed window lets a key send up to twice the rate across a window boundary; that is
    the price of one INCR per request, and still bounds every key.

    With the cache down the limit fails open, and says so in the log (once a minute): refusing
    every API call because the limiter cannot count would turn a Redis outage into an API one.
    """

    scope = "api_key"
    retry_after: int | None = None

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

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        limit, duration = self.parse_rate(self.rate)
        ident = self.get_cache_key(request, view)
        if limit is None or not duration or ident is None:
            return True
        now = self.timer()
        window = int(now // duration)
        try:
            count = count_in_window(f"{ident}:{window}", duration)
        except Exception:
            warn_cache_unavailable("API rate limit")
            return True
        if count <= limit:
            return True
        self.retry_after = max(1, math.ceil((window + 1) * duration - now))
        return False

    def wait(self) -> float | None:
        return self.retry_after


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
        warn_cache_unavailable("auth failure limit")
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
        failures = count_in_window(key, AUTH_FAILURE_WINDOW_SECONDS)
    except Exception:
        warn_cache_unavailable("auth failure limit")
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
