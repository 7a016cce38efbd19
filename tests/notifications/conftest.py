"""Notification tests run tasks in-process (eager) even when REDIS_URL points at a broker:
only tests marked `services` talk to a real worker."""

from __future__ import annotations

import pytest

from config.celery import app as celery_app


@pytest.fixture(autouse=True)
def _eager_celery(request):
    if request.node.get_closest_marker("services"):
        yield
        return
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def loopback_hooks(settings):
    """Let webhook URLs reach the local receiver on 127.0.0.1 (test-only switch)."""
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    return settings
