"""Settings of every process a drill starts (web, worker, beat) and of the drill itself.

config.settings as in production (DATABASE_URL, REDIS_URL, EMAIL_URL from the environment) plus
the test-only switch that lets webhooks reach a local receiver on 127.0.0.1, and retry
schedules a drill may shorten through the environment (a drill cannot wait the real 30 s).
"""

from __future__ import annotations

import json
import os

from config.settings import *  # noqa: F403 (a settings overlay)

WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
if "DRILL_EMAIL_RETRY_SCHEDULE" in os.environ:
    NOTIFICATIONS_EMAIL_RETRY_SCHEDULE = json.loads(os.environ["DRILL_EMAIL_RETRY_SCHEDULE"])
if "DRILL_WEBHOOK_RETRY_SCHEDULE" in os.environ:
    NOTIFICATIONS_WEBHOOK_RETRY_SCHEDULE = json.loads(os.environ["DRILL_WEBHOOK_RETRY_SCHEDULE"])
