"""The public fast path: shared public reads answered from process memory.

A status page is read hardest while its organization has an outage, and nearly every one of
those reads (the page, its live/ poll, summary.json, the badge) gets the same bytes as the
reader before. The normal path costs a database query (TenantMiddleware), the session, auth,
allauth and messages middleware and a Redis read of the rendering; this path answers the same
request from a small per-process memory with one small Redis read, the organization's published
content version (apps/organizations/published.py).

How it stays exactly the normal path's answer:

- It replays, never computes. An entry is what the normal path sent (status, every header, the
  body), stored under the request's key (see `request_key`: scheme, host, path, query, encoding,
  the validators sent, the render revision) with the organization id and the content version
  it was rendered at. It is served only while that version is still the published one and for
  `PUBLIC_FASTPATH_TTL` seconds at most (pages that depend on the date, the 90-day bars, move at
  midnight without a version change). A 304 is replayed like a 200, so the ETag rules (the
  page's, the live polls', the discussion's) stay in apps/public/caching.py and forum.
- It stores only what the views marked shared (`caching.mark_shared`: public_response and
  live_response, not a burst's coalesced copy, not personal pages; a last good copy served
  while the database is down for one second only), with a
  `Cache-Control: public`, no Set-Cookie, a 200 or 304, and a Vary of at most Accept-Encoding,
  Accept-Language and Cookie (the key holds the first two and the language cookie; requests
  carrying a session or messages cookie never use this path).
- The host is part of the key and the entry was stored by the normal path for that host, so a
  host never gets another organization's entry. Every change that could change which
  organization a host leads to (a domain verified or removed) bumps the version too. No
  host-to-organization map is needed here (the normal path resolves hosts): the entry itself
  names the organization whose version to check.
- Anything else (POST, a session, an unknown request, a version that moved, a cache that
  fails) goes down the normal path unchanged. A cache failure also turns the fast path off for
  a few seconds in this process, so a Redis that hangs costs one timeout, not one per request.

It runs twice over: wrapped around the WSGI application (config/wsgi.py, the leanest: no
HttpRequest, no middleware, no signals) and as the first middleware (the test client, and any
server that does not load config/wsgi.py). The wrapper marks the request it let through, so the
middleware does not ask again; the middleware stores what the normal path answered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from apps.core import i18n, outage
from apps.organizations.published import publish_version, published_version

from . import caching

logger = logging.getLogger(__name__)

CHECKED = "candor.fastpath.checked"
# Set on a request whose entry was there but not current: the normal path then publishes the
# version it read from the database, in case the published one went missing (only then, so a
# plain miss costs the normal path no cache operation).
OUTDATED = "candor.fastpath.outdated"
# Validators longer than this are not worth a key (no client of ours sends them).
MAX_CONDITION_LENGTH = 512
# After a cache failure, the fast path stays off this long in this process.
BACKOFF_SECONDS = 5.0
SAFE_VARY = frozenset({"accept-encoding", "accept-language", "cookie"})

Key = tuple[Any, ...]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Stored:
    organization_id: int
    version: int
    status_code: int
    status: str  # the WSGI status line
    headers: list[tuple[str, str]]
    body: bytes
    expires: float  # time.monotonic()

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + 200


class Memory:
    """A bounded LRU of Stored entries, by bytes; thread-safe (gthread workers share it)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self.items: OrderedDict[Key, Stored] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Key, now: float) -> Stored | None:
        with self.lock:
            stored = self.items.get(key)
            if stored is None:
                return None
            if stored.expires <= now:
                self._drop(key)
                return None
            self.items.move_to_end(key)
            return stored

    def put(self, key: Key, stored: Stored) -> None:
        size = stored.size
        # One entry may not push out more than an eighth of the memory.
        if size > self.max_bytes // 8:
            return
        with self.lock:
            if key in self.items:
                self._drop(key)
            self.items[key] = stored
            self.used += size
            while self.used > self.max_bytes and self.items:
                self._drop(next(iter(self.items)))

    def _drop(self, key: Key) -> None:
        self.used -= self.items.pop(key).size

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.used = 0

    def __len__(self) -> int:
        return len(self.items)


memory = Memory(getattr(settings, "PUBLIC_FASTPATH_MEMORY_BYTES", 32 * 1024 * 1024))
# After a cache failure, the fast path stays off for BACKOFF_SECONDS in this process.
cache_cooldown = outage.Cooldown(lambda: BACKOFF_SECONDS)


def enabled() -> bool:
    return bool(getattr(settings, "PUBLIC_FASTPATH", True)) and not cache_cooldown.active()


def _is_secure(environ: dict[str, Any]) -> bool:
    # As HttpRequest.is_secure (SecurityMiddleware's redirect and HSTS depend on it).
    header = settings.SECURE_PROXY_SSL_HEADER
    if header:
        name, secure_value = header
        value = environ.get(name)
        if value is not None:
            return str(value).split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


def request_key(environ: dict[str, Any]) -> Key | None:
    """The key of a request that may be answered from memory, or None (normal path only)."""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return None
    cookie = environ.get("HTTP_COOKIE", "")
    # Signed-in readers get personal pages; a messages cookie is consumed by the normal path.
    # A substring test errs only towards the normal path.
    if cookie and (settings.SESSION_COOKIE_NAME in cookie or "messages" in cookie):
        return None
    if_none_match = environ.get("HTTP_IF_NONE_MATCH", "")
    if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE", "")
    if len(if_none_match) + len(if_modified_since) > MAX_CONDITION_LENGTH:
        return None
    return (
        caching.RENDER_REVISION,
        _is_secure(environ),
        (environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")).lower(),
        environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
        caching.accepts_gzip_header(environ.get("HTTP_ACCEPT_ENCODING", "")),
        if_none_match,
        if_modified_since,
        # What the reader's language depends on (apps/core/i18n.py `choose`): the same two
        # values always pick the same language for the same organization and version.
        i18n.cookie_value(cookie) if cookie else "",
        environ.get("HTTP_ACCEPT_LANGUAGE", "")[: i18n.MAX_HEADER],
    )


def lookup(environ: dict[str, Any]) -> Stored | None:
    """The normal path's answer to this request, if it is in memory and still current."""
    if not enabled():
        return None
    key = request_key(environ)
    if key is None:
        return None
    stored = memory.get(key, time.monotonic())
    if stored is None:
        return None
    try:
        current = published_version(stored.organization_id)
    except Exception:  # Redis down or slow: the normal path knows what to do
        logger.warning("public fast path: version read failed; off for a moment", exc_info=True)
        cache_cooldown.start()
        return None
    if current != stored.version:
        environ[OUTDATED] = True
        return None
    return stored


def store(request: HttpRequest, response: HttpResponseBase) -> None:
    """Keep the normal path's answer if every reader without a session would get it too."""
    if not getattr(response, "shared_public", False) or not enabled():
        return
    organization = getattr(request, "organization", None)
    if organization is None or response.status_code not in (200, 304):
        return
    if organization.is_private:
        # SECURITY: a private page is never answered from memory (the one who asks next may
        # not be allowed to read it). Its responses are not marked shared nor public either;
        # this holds whatever a view marks.
        return
    if response.cookies or response.streaming or not isinstance(response, HttpResponse):
        return
    if not response.get("Cache-Control", "").startswith("public"):
        return
    vary = {part.strip().lower() for part in response.get("Vary", "").split(",") if part.strip()}
    if not vary <= SAFE_VARY:
        return
    key = request_key(request.META)
    if key is None:
        return
    version = organization.content_version
    ttl = float(getattr(settings, "PUBLIC_FASTPATH_TTL", 5.0))
    # A last good copy (caching.mark_shared(seconds=...)) is replayed for less.
    seconds = getattr(response, "shared_seconds", None)
    if seconds is not None:
        ttl = min(ttl, seconds)
    memory.put(
        key,
        Stored(
            organization_id=organization.pk,
            version=version,
            status_code=response.status_code,
            status=f"{response.status_code} {response.reason_phrase}",
            headers=list(response.items()),
            body=response.content,
            expires=time.monotonic() + ttl,
        ),
    )
    if request.META.get(OUTDATED):
        # A missing published version (evicted, Redis restarted empty) comes back here; a
        # lower one is raised (publish never lowers it).
        publish_version(organization.pk, version, heal=True)


def as_response(stored: Stored) -> HttpResponse:
    response = HttpResponse(stored.body, status=stored.status_code)
    del response["Content-Type"]
    for name, value in stored.headers:
        response[name] = value
    return response


class FastPathMiddleware:
    """First in MIDDLEWARE: answers from memory, else stores what the rest of the stack says."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.META.get(CHECKED):
            stored = lookup(request.META)
            if stored is not None:
                return as_response(stored)
        response = self.get_response(request)
        store(request, response)
        return response


class FastPathApplication:
    """The WSGI application with the fast path in front (config/wsgi.py)."""

    def __init__(self, application: WSGIApp) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        stored = lookup(environ)
        if stored is None:
            environ[CHECKED] = True
            return self.application(environ, start_response)
        start_response(stored.status, list(stored.headers))
        return [stored.body]
