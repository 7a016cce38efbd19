"""This process's view of whether the database is down, for the public read path.

When PostgreSQL stops, every public read still finds its organization (remembered routes) and
its page (the last good copy in the cache), but it would first try the database twice (the
organization, then the rendering) and fail: a connection attempt, an exception and a log line
per request, which held a web process to a few hundred reads a second exactly when readers
pile in. After one failure, public reads in this process skip the database for
`PUBLIC_DATABASE_RETRY_SECONDS` (1 s by default) and go straight to what the cache holds; the
first read after that tries again, so a database that came back is used within a second.

Only the public read path asks (apps/organizations/middleware.py `resolve`,
apps/public/caching.py `public_response`): the dashboard, the API, hooks and workers always try
the database and answer their own way (503 with Retry-After).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

logger = logging.getLogger(__name__)

_down_until = 0.0


def retry_seconds() -> float:
    return float(getattr(settings, "PUBLIC_DATABASE_RETRY_SECONDS", 1.0))


def database_known_down() -> bool:
    """True for a short while after a database failure seen by this process."""
    return time.monotonic() < _down_until


def note_database_failure() -> None:
    """A public read found the database failing: skip it for a moment."""
    global _down_until
    if not database_known_down():
        logger.warning(
            "database unavailable: public reads in this process use cached copies for %.1f s",
            retry_seconds(),
        )
    _down_until = time.monotonic() + retry_seconds()


def reset() -> None:
    """Forget any failure (tests; a database known to be back)."""
    global _down_until
    _down_until = 0.0
