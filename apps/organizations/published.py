"""What the public read path may know about an organization without asking the database.

Two things are kept in the cache (Redis in production) beside the public renderings:

- **The published content version** (`org-version:<id>`): `bump_content_version` sets it after
  each commit, so the public fast path (apps/public/fastpath.py) learns whether its in-memory
  copy of a page is current with one small read. It only ever rises: a bump that commits
  first but publishes last must not put an older version back. When it is missing (evicted, a
  Redis restarted empty) the fast path misses and the normal path, which reads the version from
  the database, publishes it again (`heal`).
- **The routes** (`org-route:slug:<slug>`, `org-route:host:<host>`): the Organization a host or
  /s/<slug>/ prefix led to, so a process that starts during a PostgreSQL outage (a deploy, a
  worker recycled by `max_requests`) can still serve the last good copies Redis holds instead of
  answering 500. TenantMiddleware writes a route only when its own per-process memory did not
  already hold that organization at that version: one write per process per change, not one
  per request.

Every function here treats a cache failure as "unknown": the callers fall back to the database.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from django.core.cache import cache

from .models import Organization

logger = logging.getLogger(__name__)

VERSION_KEY = "org-version:{}"
ROUTE_KEY = "org-route:{}"
# A published version lives long; a bump always writes it again. The copy the read path puts
# back when it finds none expires sooner: it came from a read that may already be behind.
VERSION_TIMEOUT = 7 * 24 * 60 * 60
HEAL_TIMEOUT = 60
# Routes are needed only during an outage; an organization nobody reads for a month may go.
ROUTE_TIMEOUT = 30 * 24 * 60 * 60

# SET only when higher (or absent, or not a number), and then tell every web process (see
# VersionWatcher). KEYS[1] the key; ARGV: version, timeout, channel, organization id.
_RAISE_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]))
if current == nil or current < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  redis.call('PUBLISH', ARGV[3], ARGV[4] .. ' ' .. ARGV[1])
  return 1
end
return 0
"""
CHANNEL = "org-version-changes"
# What a deleted organization's message carries instead of a version.
FORGOTTEN = -1


def _redis_client(key: str) -> Any | None:
    """The raw redis-py client of Django's RedisCache (the primary's: published versions are
    read after writes), or None for other backends."""
    backend = getattr(cache, "_cache", None)
    get_client = getattr(backend, "get_client", None)
    if get_client is None or not hasattr(cache, "make_and_validate_key"):
        return None
    return get_client(key, write=True)


def _raise_to(name: str, version: int, timeout: int, organization_id: int) -> None:
    client = _redis_client(name)
    if client is not None:
        client.eval(
            _RAISE_SCRIPT,
            1,
            cache.make_and_validate_key(name),
            version,
            timeout,
            cache.make_and_validate_key(CHANNEL),
            organization_id,
        )
        # This process knows at once (its own message arrives a moment later).
        watcher.saw(organization_id, version)
        return
    # Other backends (LocMemCache in development and tests): one process, good enough.
    current = cache.get(name)
    if not isinstance(current, int) or current < version:
        cache.set(name, version, timeout)


def publish_version(organization_id: int, version: int, *, heal: bool = False) -> None:
    """Make `version` the published one unless a higher one already is."""
    try:
        _raise_to(
            VERSION_KEY.format(organization_id),
            version,
            HEAL_TIMEOUT if heal else VERSION_TIMEOUT,
            organization_id,
        )
    except Exception:  # the fast path then misses; the pages are still right
        logger.warning("could not publish content version of %s", organization_id, exc_info=True)


class VersionWatcher:
    """Each web process's copy of the published versions, kept current by Redis pub/sub.

    Reading the version from Redis on every fast-path hit cost a network round trip per read
    (about half of a hit's CPU). Instead every publish also PUBLISHes the new version, and one
    thread per process listens: while it is subscribed, a version it knows is answered from
    memory, and one it does not know is read once (`learn`). Versions only rise, so whatever
    arrives in whatever order, the highest wins.

    While the subscription is down (Redis restarting, a network cut) nothing is answered from
    memory: every read asks Redis, as before. When it comes back the memory starts empty
    (messages sent meanwhile are lost), and a value read before that (an older `generation`) is
    never stored. A silent half-open connection is found by a PING every PING_SECONDS.
    """

    PING_SECONDS = 5.0
    RETRY_SECONDS = 1.0

    def __init__(self) -> None:
        self.versions: dict[int, int] = {}
        self.generation = 0
        self.healthy = False
        self.lock = threading.Lock()
        self.pid: int | None = None

    def ensure_running(self) -> None:
        """Start the listener in this process (after a fork the parent's thread is gone)."""
        if self.pid == os.getpid():
            return
        with self.lock:
            if self.pid == os.getpid():
                return
            self.pid = os.getpid()
            self.healthy = False
            self.versions = {}
            self.generation += 1
        threading.Thread(target=self._run, name="candor-version-watcher", daemon=True).start()

    def known(self, organization_id: int) -> tuple[int, int | None]:
        """(generation, version or None) — None when unknown or while not subscribed."""
        with self.lock:
            if not self.healthy:
                return self.generation, None
            return self.generation, self.versions.get(organization_id)

    def learn(self, organization_id: int, version: int, generation: int) -> None:
        """Keep a version read from Redis, if it was read under the current subscription."""
        with self.lock:
            if self.healthy and generation == self.generation:
                self._raise(organization_id, version)

    def saw(self, organization_id: int, version: int) -> None:
        """A version published (by this process or, through the channel, another)."""
        with self.lock:
            if version == FORGOTTEN:
                self.versions.pop(organization_id, None)
            else:
                self._raise(organization_id, version)

    def _raise(self, organization_id: int, version: int) -> None:
        if self.versions.get(organization_id, -1) < version:
            self.versions[organization_id] = version

    def forget_all(self) -> None:
        """Start again from reads (tests: their databases reuse organization ids)."""
        with self.lock:
            self.versions = {}
            self.generation += 1

    def _down(self) -> None:
        with self.lock:
            self.healthy = False
            self.versions = {}
            self.generation += 1

    def _run(self) -> None:
        while True:
            try:
                self._listen()
            except Exception:  # any failure: fall back to reads, then retry
                logger.warning("version watcher lost its subscription; retrying", exc_info=True)
            self._down()
            time.sleep(self.RETRY_SECONDS)

    def _listen(self) -> None:
        client = _redis_client(CHANNEL)
        if client is None:
            return
        pubsub = client.pubsub(ignore_subscribe_messages=False)
        try:
            pubsub.subscribe(cache.make_and_validate_key(CHANNEL))
            last_ping = time.monotonic()
            while True:
                message = pubsub.get_message(timeout=1.0)
                if message is not None and message["type"] == "subscribe":
                    with self.lock:
                        self.versions = {}
                        self.generation += 1
                        self.healthy = True
                elif message is not None and message["type"] == "message":
                    organization_id, _, version = message["data"].decode().partition(" ")
                    self.saw(int(organization_id), int(version))
                if time.monotonic() - last_ping >= self.PING_SECONDS:
                    pubsub.ping()
                    last_ping = time.monotonic()
        finally:
            pubsub.close()


watcher = VersionWatcher()


_reader: Any = None


def published_version(organization_id: int) -> int | None:
    """The published content version; None when unknown. Raises when the cache fails.

    Read once per fast-path hit, so with Redis it skips Django's cache layer, which builds a new
    client object on every call (about 200 µs of CPU against 80 µs for the bare GET); the
    client is kept (redis-py clients are thread-safe over their connection pool). The value is
    the bare integer Django's RedisCache stores for ints, so both read the same key."""
    global _reader
    name = VERSION_KEY.format(organization_id)
    if _reader is None:
        _reader = _redis_client(name) or False
    if _reader is False:
        value = cache.get(name)
        return value if isinstance(value, int) else None
    watcher.ensure_running()
    generation, known = watcher.known(organization_id)
    if known is not None:
        return known
    raw = _reader.get(cache.make_and_validate_key(name))
    try:
        value = int(raw) if raw is not None else None
    except ValueError:
        return None
    if value is not None:
        watcher.learn(organization_id, value, generation)
    return value


def forget(organization_id: int, route_keys: list[str]) -> None:
    """Drop what was published about a deleted organization (or a removed domain's route)."""
    try:
        cache.delete_many([ROUTE_KEY.format(key) for key in route_keys])
        if organization_id:
            cache.delete(VERSION_KEY.format(organization_id))
            client = _redis_client(CHANNEL)
            if client is not None:
                channel = cache.make_and_validate_key(CHANNEL)
                client.publish(channel, f"{organization_id} {FORGOTTEN}")
            watcher.saw(organization_id, FORGOTTEN)
    except Exception:
        logger.warning("could not forget published routes %s", route_keys, exc_info=True)


def remember_route(key: str, organization: Organization) -> None:
    try:
        cache.set(ROUTE_KEY.format(key), organization, ROUTE_TIMEOUT)
    except Exception:  # only the outage fallback is weaker
        logger.warning("could not keep the route %s", key, exc_info=True)


def recall_route(key: str) -> Organization | None:
    try:
        value = cache.get(ROUTE_KEY.format(key))
    except Exception:
        logger.warning("could not read the route %s", key, exc_info=True)
        return None
    return value if isinstance(value, Organization) else None
