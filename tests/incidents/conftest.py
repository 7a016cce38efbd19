from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Every test here creates users with a password; the production hasher costs ~1 s each and
    # these tests log in with force_login, so hashing strength is irrelevant.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock(monkeypatch):
    """Time control: services and forms read django.utils.timezone.now()."""

    class Clock:
        now = timezone.now().replace(microsecond=0)

        def move(self, **delta: float) -> datetime:
            self.now += timedelta(**delta)
            return self.now

    clock = Clock()
    monkeypatch.setattr(timezone, "now", lambda: clock.now)
    return clock
