"""Settings for the Celery worker that real-service tests and the benchmark start.

Everything comes from config.settings (DATABASE_URL, REDIS_URL, EMAIL_URL in the environment);
only the test-only switch that lets webhooks reach the local receiver on 127.0.0.1 is added,
plus pipeline tunables the tests shrink through the environment.
"""

from __future__ import annotations

import os

from config.settings import *  # noqa: F403 (a settings overlay)

WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
NOTIFICATIONS_FANOUT_CHUNK = int(os.environ.get("NOTIFICATIONS_FANOUT_CHUNK", "1000"))
NOTIFICATIONS_WEBHOOK_BATCH = int(os.environ.get("NOTIFICATIONS_WEBHOOK_BATCH", "50"))
if "NOTIFICATIONS_SWEEP_GRACE_SECONDS" in os.environ:
    NOTIFICATIONS_SWEEP_GRACE_SECONDS = int(os.environ["NOTIFICATIONS_SWEEP_GRACE_SECONDS"])
