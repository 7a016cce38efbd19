from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Every test here creates users with a password; the production hasher costs ~1 s each and
    # these tests log in with force_login, so hashing strength is irrelevant.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
