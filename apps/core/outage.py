"""Per-process pauses after a failure, so a part that is down costs one failure, not one per
request: `Cooldown`.

Two users:
- `database`: when PostgreSQL stops, every public read still finds its organization
  (remembered routes) and its page (the last good copy in the cache), but it would first try
  the database twice (the organization, then the rendering) and fail: a connection attempt, an
  exception and a log line per request, which held a web process to a few hundred reads a
  second exactly when readers pile in. After one failure, public reads in this process skip the
  database for `PUBLIC_DATABASE_RETRY_SECONDS` (1 s by default) and go straight to what the
  cache holds; the first read after that tries again, so a database that came back is used
  within a second. Only the public read path asks (apps/organizations/middleware.py `resolve`,
  apps/public/caching.py `public_response`): the dashboard, the API, hooks and workers always
  try the database and answer their own way (503 with Retry-After).
- apps/public/fastpath.py's `cache_cooldown`: a cache (Redis) that fails or hangs turns the
  fast path off for a few seconds, so it costs one timeout, not one per request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings

logger = logging.getLogger(__name__)


class Cooldown:
    """Active for `seconds()` after `start()`; each `start()` while active extends it."""

    def __init__(self, seconds: Callable[[], float]) -> None:
        self.seconds = seconds
        self.clock = time.monotonic
        self._until = 0.0

    def active(self) -> bool:
        return self.clock() < self._until

    def start(self) -> bool:
        """Begin (or extend) the pause; True when it was not already active."""
        began = not self.active()
        self._until = self.clock() + self.seconds()
        return began

    def reset(self) -> None:
        self._until = 0.0


def _database_retry_seconds() -> float:
    return float(getattr(settings, "PUBLIC_DATABASE_RETRY_SECONDS", 1.0))


database = Cooldown(_database_retry_seconds)


def database_known_down() -> bool:
    """True for a short while after a database failure seen by this process's public reads."""
    return database.active()


def note_database_failure() -> None:
    """A public read found the database failing: skip it for a moment (logged once a pause)."""
    if database.start():
        logger.warning(
            "database unavailable: public reads in this process use cached copies for %.1f s",
            database.seconds(),
        )
