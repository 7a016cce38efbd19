"""Caching for everything a status page reader fetches (DESIGN.md "Public page caching").

Every public view (HTML page, history, incident page, status API v2, feeds) answers through
`public_response`, so the rules live here only:

- A rendering is stored under a key holding the organization's id and `content_version`.
  Services bump the version on commit, so a change simply makes a new key: nothing here ever
  invalidates, and each page is rendered once per change (old entries age out).
- The last good rendering of each resource is also kept without expiry. When the database
  fails (OperationalError), that copy is served, with a visible "may be out of date" note on
  HTML pages, rather than a 500: a status page must stay up when we are the ones having
  the outage.
- `ETag` is a hash of the body and `Last-Modified` the time it was rendered; a matching
  `If-None-Match` (or, without one, `If-Modified-Since`) gets a 304.
- `Cache-Control` makes browsers revalidate on every use (the ETag makes that a cheap 304), so
  a reader who reloads or navigates sees a change as soon as it is committed; shared caches
  (CDNs) may hold a copy for a second and serve it stale while we are down (see CACHE_CONTROL).
- A burst of changes (a busy discussion) is coalesced: while the version keeps moving, each
  page is rendered at most about once a second, and only one request renders a page at a time
  (see COALESCE_SECONDS). One change after a quiet spell still renders at once.
- `live_response` answers a page's poll (static/js/live.js) from the content version alone:
  304 when the reader already has it, else the page itself.
- Bodies over 1 KB are also kept gzipped (compressed once per rendering, not per request) and
  served so to clients that accept it, with `Vary: Accept-Encoding` and an ETag of their own.
  These responses are the same for every reader and hold no secret, so compression cannot
  leak one (BREACH needs a secret and attacker-chosen text in the same body).
- The fresh copy is stored as two entries, one per encoding (`Variant`): a read fetches only
  the bytes it sends (15 KB gzipped rather than those and the 563 KB plain page together).
- Responses that every reader shares are marked (`mark_shared`), so the fast path
  (apps/public/fastpath.py) may answer the same request from process memory next time.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html
from django.utils.http import http_date, parse_etags, parse_http_date_safe
from django.utils.translation import gettext as _

from apps.core import outage
from apps.organizations.replica import render_on_replica

if TYPE_CHECKING:
    from apps.organizations.models import Organization

logger = logging.getLogger(__name__)

# A reader who reloads within 2 s of a change must see it (it used to be up to 30 s: an outage
# declared, and the open page still said "All Systems Operational").
# - Browsers: max-age=0 makes every use a revalidation (If-None-Match -> 304, no body). No
#   stale-while-revalidate here: browsers apply it, and would show the old copy on a reload.
#   (`no-cache` would do the same for browsers, but it also forbids shared caches from using
#   s-maxage; max-age=0 leaves shared caches to s-maxage.)
# - Shared caches: s-maxage=1 bounds what a CDN adds to the 2 s; stale-if-error keeps the page up
#   from a CDN while we are down. must-revalidate is left out on purpose: it would cancel
#   stale-if-error.
# - CDN-Cache-Control (RFC 9213; Cloudflare, Fastly, Akamai) adds stale-while-revalidate for
#   CDNs only, so a burst of readers costs one revalidation per second, not one per reader;
#   age stays within s-maxage + stale-while-revalidate = 2 s.
CACHE_CONTROL = "public, max-age=0, s-maxage=1, stale-if-error=86400"
CDN_CACHE_CONTROL = "public, max-age=1, stale-while-revalidate=1, stale-if-error=86400"
# A stale copy is served only while we are failing; let caches keep it briefly, no longer.
# Shared caches (the front cache) ask again after a second, so once the database is back the
# "may be out of date" note is gone from them within a second too.
STALE_CACHE_CONTROL = "public, max-age=10, s-maxage=1"
# A private page's responses (apps/organizations/private_pages.py).
PRIVATE_CACHE_CONTROL = "private, no-store"
# The key changes with every content change, so a fresh entry never goes wrong; the timeout
# only frees memory for versions nobody asks for any more.
FRESH_TIMEOUT = 24 * 60 * 60
KEY_PREFIX = "public-page"
# Part of the fresh key only. Bump it when a template change must reach cached pages at once
# rather than at each page's next content change: 2 = pages carry the polling attributes
# (without them, a quiet page rendered before the deploy would never refresh itself). Last
# good copies keep their keys, so a deploy during a database outage still has them.
# 3: uptime bars as bare cells (uptime.js); 4: the outage page's script by hash (CSP);
# 5: pages speak the reader's language (lang attribute, switcher).
RENDER_REVISION = 5

# Rendered into every HTML page (templates/status/base_public.html); replaced by the note
# below when a last-good copy is served during a database failure.
STALE_MARKER = "<!--candor:stale-note-->"


def stale_note() -> str:
    """The note, in the reader's language (the copy it goes into is that language's)."""
    return format_html(
        '<div class="stale-note" role="status"><strong>{}</strong> {}</div>',
        _("This page may be out of date."),
        _(
            "We could not load the latest status just now; this is the last version we saved. "
            "It will refresh automatically once we can reach our database again."
        ),
    )


DATABASE_ERRORS = (OperationalError, InterfaceError)


@dataclass(frozen=True)
class Rendering:
    body: bytes
    content_type: str
    etag: str
    rendered_at: float
    # The body gzipped, when it is worth it (None in copies cached before this field existed).
    gzipped: bytes | None = None
    # The organization's content version it was rendered at (None in older copies).
    version: int | None = None

    @property
    def gzip_etag(self) -> str:
        return self.etag[:-1] + '-gzip"'


@dataclass(frozen=True)
class Variant:
    """What one kind of client is sent: the plain body, or the gzipped one to clients that take
    it. Each is cached under its own key (see `variant_key`), so a read fetches one body."""

    body: bytes
    content_type: str
    etag: str  # the plain body's tag; the gzipped body is sent with gzip_etag
    rendered_at: float
    version: int | None
    gzipped: bool  # body is the gzipped one
    compressible: bool  # the rendering has a gzipped form (so the response varies on it)

    @property
    def gzip_etag(self) -> str:
        return self.etag[:-1] + '-gzip"'


def variant(rendering: Rendering, want_gzip: bool) -> Variant:
    compressed = want_gzip and rendering.gzipped is not None
    return Variant(
        body=rendering.gzipped if compressed and rendering.gzipped is not None else rendering.body,
        content_type=rendering.content_type,
        etag=rendering.etag,
        rendered_at=rendering.rendered_at,
        version=rendering.version,
        gzipped=compressed,
        compressible=rendering.gzipped is not None,
    )


def variant_key(fresh_key: str, want_gzip: bool) -> str:
    # A small body has no gzipped form: its "gzip" entry holds the plain one, so a client that
    # accepts gzip still needs one read.
    return fresh_key + (":gzip" if want_gzip else ":plain")


# How long the fast path may replay a last good copy served while the database is down.
STALE_SHARED_SECONDS = 1.0


def mark_shared(response: HttpResponseBase, *, seconds: float | None = None) -> None:
    """This response is the one every reader without a session gets for this request (the same
    host, path, query, encoding and validator) at this content version: the fast path may store
    it, for at most `seconds` if given (a last good copy). Never for personal or failed
    responses."""
    response.shared_public = True  # type: ignore[attr-defined]  # read by apps.public.fastpath
    response.shared_seconds = seconds  # type: ignore[attr-defined]


GZIP_MIN_SIZE = 1024


def make_rendering(body: str | bytes, content_type: str, version: int | None = None) -> Rendering:
    data = body.encode() if isinstance(body, str) else body
    digest = hashlib.sha256(data).hexdigest()[:32]
    gzipped = None
    if len(data) >= GZIP_MIN_SIZE:
        gzipped = gzip.compress(data, compresslevel=6, mtime=0)
    return Rendering(
        body=data,
        content_type=content_type,
        etag=f'"{digest}"',
        rendered_at=time.time(),
        gzipped=gzipped,
        version=version,
    )


def accepts_gzip(request: HttpRequest) -> bool:
    """gzip (or "*") listed in Accept-Encoding without q=0 (RFC 9110 §12.5.3)."""
    return accepts_gzip_header(request.headers.get("Accept-Encoding", ""))


def accepts_gzip_header(accept_encoding: str) -> bool:
    weights: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        coding, *parameters = (part.strip() for part in item.split(";"))
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[coding] = weight
    return weights.get("gzip", weights.get("*", 0.0)) > 0


def _variant(request: HttpRequest, vary_on: str) -> str:
    # The same organization is reached on several hosts and prefixes (/s/<slug>/ or a tenant
    # host); links and absolute URLs in the body differ, so each keeps its own copy. Hosts are
    # bounded: TenantMiddleware only lets known ones through.
    prefix = getattr(request, "public_prefix", "/")
    # The reader's language (apps/core/i18n.py, chosen by TenantMiddleware): each language is
    # its own rendering, so a cached page never answers a reader in another's language.
    # English keeps the key it had before there were languages (last good copies survive).
    language = translation.get_language() or settings.LANGUAGE_CODE
    raw = f"{request.get_host()}|{prefix}|{vary_on}"
    if language != settings.LANGUAGE_CODE:
        raw = f"{request.get_host()}|{prefix}|{language}|{vary_on}"
    return hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()[:16]


def cache_keys(request: HttpRequest, name: str, vary_on: str = "") -> tuple[str, str]:
    org = request.organization
    variant = _variant(request, vary_on)
    fresh = f"{KEY_PREFIX}:r{RENDER_REVISION}:{org.id}:{org.content_version}:{variant}:{name}"
    last_good = f"{KEY_PREFIX}:last-good:{org.id}:{variant}:{name}"
    return fresh, last_good


def _cache_get(key: str) -> Rendering | Variant | None:
    # A cache outage must not take the page down either: treat it as a miss.
    try:
        return cache.get(key)
    except Exception:  # any backend error means "not cached"
        logger.warning("public page cache read failed for %s", key, exc_info=True)
        return None


def _cache_set(key: str, value: Rendering, timeout: int | None) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception:  # the page is still served, just not cached
        logger.warning("public page cache write failed for %s", key, exc_info=True)


def _cache_set_variants(fresh_key: str, rendering: Rendering) -> None:
    try:
        cache.set_many(
            {variant_key(fresh_key, gz): variant(rendering, gz) for gz in (False, True)},
            FRESH_TIMEOUT,
        )
    except Exception:  # the page is still served, just not cached
        logger.warning("public page cache write failed for %s", fresh_key, exc_info=True)


def _not_modified(request: HttpRequest, rendering: Variant) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match:
        if if_none_match.strip() == "*":
            return True
        # Weak comparison (RFC 9110 13.1.2): a CDN may hand back our tag as W/"...".
        tags = {tag.removeprefix("W/") for tag in parse_etags(if_none_match)}
        return rendering.etag in tags or rendering.gzip_etag in tags
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return since is not None and int(rendering.rendered_at) <= since


# A burst of changes (a busy discussion: every visible comment bumps the content version) must
# not make every read a render. While the version keeps moving, a page is rendered at most about
# once per COALESCE_SECONDS: a read finds the last rendering, sees that BURST_VERSIONS or more
# changes came since and that it is younger than COALESCE_SECONDS, and serves it. One or two
# changes after a quiet spell render at once, so a single update is never held back; a burst's
# readers see it at most COALESCE_SECONDS late. And only one request renders a given page at a
# time (RENDER_LOCK_SECONDS bounds a crashed renderer): the others serve the last rendering
# rather than queue up behind it or render the same thing again.
COALESCE_SECONDS = 1.0
BURST_VERSIONS = 3
RENDER_LOCK_SECONDS = 10


def _can_wait(
    rendering: Rendering | None, version: int, now: float, *, rendering_now: bool
) -> bool:
    """Whether `rendering` (the last one of this page) may answer for content `version`."""
    if rendering is None or rendering.version is None or rendering.version > version:
        return False
    age = now - rendering.rendered_at
    if rendering_now:  # someone is rendering this very page: serve what we have meanwhile
        return age < RENDER_LOCK_SECONDS
    return version - rendering.version >= BURST_VERSIONS and age < COALESCE_SECONDS


def _try_lock(key: str) -> bool:
    try:
        return bool(cache.add(key, 1, RENDER_LOCK_SECONDS))
    except Exception:  # no cache: render, as without the lock
        logger.warning("public page render lock failed for %s", key, exc_info=True)
        return True


def _unlock(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:  # the lock expires by itself
        logger.warning("public page render unlock failed for %s", key, exc_info=True)


def public_response(
    request: HttpRequest,
    name: str,
    render: Callable[[], tuple[str | bytes, str]],
    *,
    vary_on: str = "",
    cors: bool = False,
) -> HttpResponse:
    """Answer a public GET/HEAD from the cache, rendering with `render()` on a miss.

    `name` identifies the resource (with any parameter that changes the body, such as a page
    number); `vary_on` adds anything else the body depends on (the date, for pages whose
    "last 90 days" move at midnight). `render` returns (body, content type) and must do all of
    its database work itself, so that a failure there falls back to the last good copy.
    """
    fresh_key, last_good_key = cache_keys(request, name, vary_on)
    version = request.organization.content_version
    want_gzip = accepts_gzip(request)
    stale = False
    cached = _cache_get(variant_key(fresh_key, want_gzip))
    rendering = cached if isinstance(cached, Variant) else None
    if rendering is None:
        # With DATABASE_REPLICA_URL, rendered from the replica once it shows `version`
        # (apps/organizations/replica.py); otherwise, as always, from the primary.
        full = None
        known_down = outage.database_known_down()
        if not known_down:
            on_replica = render_on_replica(render, request.organization, version)
            full = _render_or_wait(name, on_replica, version, last_good_key, fresh_key)
        if full is None:
            last_good = _cache_get(last_good_key)
            if not isinstance(last_good, Rendering):
                if not known_down:
                    logger.exception("database failed and no saved copy of %s", name)
                return _unavailable(cors=cors)
            if not known_down:
                logger.warning("database failed; serving the last good copy of %s", name)
            stale = True
            full = _as_stale(last_good_key, last_good)
        rendering = variant(full, want_gzip)

    compressed = rendering.gzipped
    if _not_modified(request, rendering):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(rendering.body, content_type=rendering.content_type)
        if compressed:
            response["Content-Encoding"] = "gzip"
    response["ETag"] = rendering.gzip_etag if compressed else rendering.etag
    if rendering.compressible:
        response["Vary"] = "Accept-Encoding"
    response["Last-Modified"] = http_date(rendering.rendered_at)
    if request.organization.is_private:
        # Every allowed reader sees the same rendering (cached above per organization and
        # version), but the HTTP response is personal: no browser or shared cache keeps it,
        # and the fast path never stores it (TenantMiddleware sets the same headers on every
        # response of a private page; this keeps the rule here too).
        response["Cache-Control"] = PRIVATE_CACHE_CONTROL
        patch_vary_headers(response, ("Cookie", "Authorization"))
    else:
        response["Cache-Control"] = STALE_CACHE_CONTROL if stale else CACHE_CONTROL
    if not stale and not request.organization.is_private:
        response["CDN-Cache-Control"] = CDN_CACHE_CONTROL
    if stale:
        response["X-Status-Page-Stale"] = "true"
    if cors:
        response["Access-Control-Allow-Origin"] = "*"
    # What live_response tags a poll with: the version this body shows, which during a burst
    # may be older than the organization's (so the poller asks again and gets the rest).
    response.content_version = None if stale else rendering.version  # type: ignore[attr-defined]
    if not stale and rendering.version == version and not request.organization.is_private:
        # A burst's coalesced copy (an older version) is not stored by the fast path: it is
        # keyed by the current version, which this body does not show yet.
        mark_shared(response)
    elif stale and not request.organization.is_private:
        # While the database is down every reader gets this same copy: the fast path may
        # replay it, for a second only, so that the fresh page is back within about a second
        # of the database (apps/core/outage.py retries it as often).
        mark_shared(response, seconds=STALE_SHARED_SECONDS)
    return response


def _render_or_wait(
    name: str,
    render: Callable[[], tuple[str | bytes, str]],
    version: int,
    last_good_key: str,
    fresh_key: str,
) -> Rendering | None:
    """A rendering for `version`: a new one, or during a burst (see COALESCE_SECONDS) the last
    one. None when the database failed (the caller falls back to the last good copy)."""
    cached = _cache_get(last_good_key)
    last = cached if isinstance(cached, Rendering) else None
    now = time.time()
    if _can_wait(last, version, now, rendering_now=False):
        return last
    lock_key = fresh_key + ":rendering"
    locked = _try_lock(lock_key)
    if not locked and _can_wait(last, version, now, rendering_now=True):
        return last
    try:
        body, content_type = render()
    except DATABASE_ERRORS:
        outage.note_database_failure()
        return None
    finally:
        if locked:
            _unlock(lock_key)
    rendering = make_rendering(body, content_type, version)
    _cache_set_variants(fresh_key, rendering)
    _cache_set(last_good_key, rendering, None)
    return rendering


# The last good copies with their "may be out of date" note, made once per process per copy:
# making one compresses the whole page again, which every read of a page during a database
# outage would otherwise pay. Keyed by the copy's cache key (organization, language, resource)
# and its ETag, so a newer last good copy gets its own.
_stale_copies: OrderedDict[tuple[str, str], Rendering] = OrderedDict()
STALE_COPIES_KEPT = 64


def _as_stale(last_good_key: str, rendering: Rendering) -> Rendering:
    if not rendering.content_type.startswith("text/html"):
        return rendering
    key = (last_good_key, rendering.etag)
    kept = _stale_copies.get(key)
    if kept is not None:
        return kept
    body = rendering.body.replace(STALE_MARKER.encode(), stale_note().encode(), 1)
    stale = make_rendering(body, rendering.content_type)
    made = Rendering(
        stale.body, stale.content_type, stale.etag, rendering.rendered_at, stale.gzipped, None
    )
    _stale_copies[key] = made
    while len(_stale_copies) > STALE_COPIES_KEPT:
        _stale_copies.popitem(last=False)
    return made


def _unavailable(*, cors: bool) -> HttpResponse:
    response = HttpResponse(
        _("This status page is temporarily unavailable. Please try again in a minute.") + "\n",
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = "30"
    response["Cache-Control"] = "no-store"
    if cors:
        response["Access-Control-Allow-Origin"] = "*"
    return response


# --- polling ---------------------------------------------------------------------------------

# Poll answers: never stored by browsers (the script asks with cache: "no-store" anyway); a CDN
# may answer a second's worth of readers from one copy. No stale-if-error: a poll that fails
# should fail, so the page's "Updated 3 minutes ago" ages honestly instead of pretending.
LIVE_CACHE_CONTROL = "public, max-age=0, s-maxage=1"


def live_etag(organization: Organization) -> str:
    """The validator of a page's poll: the organization's content version, nothing else.

    Weak (W/): the same version may be sent gzipped or not, and it names equivalent content,
    not identical bytes. The page carries the version (data-live-version, rendered under the
    same version as its cache key), so the script can ask "changed since v<N>?" from the start.
    """
    return f'W/"v{organization.content_version}"'


def live_response(request: HttpRequest, page: Callable[[], HttpResponse]) -> HttpResponse:
    """Answer a poll of a public page: 304 if the reader has the current content version, else
    the page itself (`page()`, the page's own view, answering from its cached rendering).

    The 304 costs no cache read and no rendering: the version comes with the organization that
    TenantMiddleware already loaded for this request (its one query). The page carries no
    per-request state, so the changed page is the same cached rendering every reader shares.
    """
    tag = live_etag(request.organization)
    if_none_match = request.headers.get("If-None-Match", "")
    if tag.removeprefix("W/") in {t.removeprefix("W/") for t in parse_etags(if_none_match)}:
        response: HttpResponse = HttpResponseNotModified()
        response["ETag"] = tag
        response["Cache-Control"] = LIVE_CACHE_CONTROL
        response["Vary"] = "Accept-Encoding"
        if request.organization.is_private:
            response["Cache-Control"] = PRIVATE_CACHE_CONTROL
            patch_vary_headers(response, ("Cookie", "Authorization"))
        else:
            mark_shared(response)
        return response
    # The page's own ETag is a hash of its body, which the poll never sends: this is a 200 (or
    # the page's 404/503).
    response = page()
    if response.status_code != 200:
        return response
    if response.has_header("X-Status-Page-Stale"):
        # A stale copy must not carry the current version, or the reader
        # would get 304s (and keep the "may be out of date" note) after the database is back.
        # Without a tag, the script keeps asking for the page until a fresh one comes.
        del response["ETag"]
        return response
    served = getattr(response, "content_version", None)
    if served is not None and served != request.organization.content_version:
        # A burst's coalesced copy (see COALESCE_SECONDS): tag what it shows, so the next poll
        # brings the changes it does not have yet.
        tag = f'W/"v{served}"'
    response["ETag"] = tag
    response["Cache-Control"] = LIVE_CACHE_CONTROL
    if response.has_header("CDN-Cache-Control"):
        del response["CDN-Cache-Control"]
    response["Vary"] = "Accept-Encoding"
    if request.organization.is_private:
        response["Cache-Control"] = PRIVATE_CACHE_CONTROL
        patch_vary_headers(response, ("Cookie", "Authorization"))
    return response
