"""Fixtures for notification tests (tasks run eagerly: see tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def loopback_hooks(settings):
    """Let webhook URLs reach the local receiver on 127.0.0.1 (test-only switch)."""
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    return settings
