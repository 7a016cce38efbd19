"""Shared fixtures: an organization with owner, admin, editor and viewer, and an outsider who
is a member (owner) of another organization — like healthchecks' Alice/Bob/Charlie."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from apps.organizations.roles import Role
from config.celery import app as celery_app

from .factories import ApiKeyFactory, MembershipFactory, OrganizationFactory, UserFactory


@pytest.fixture(autouse=True)
def _eager_celery(request):
    """Tasks run in-process, as in the quick start, even when REDIS_URL points at a broker (CI):
    only tests marked `services` talk to a real worker."""
    if request.node.get_closest_marker("services"):
        yield
        return
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashers spend ~0.2 s per user on purpose; tests create hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache():
    from apps.core import outage
    from apps.organizations.middleware import last_known
    from apps.organizations.published import watcher
    from apps.public import caching, fastpath

    # The public fast path's memory, the per-process routes, the versions pushed to this
    # process, the stale copies made and a database failure just seen are per-process state
    # too (test databases reuse primary keys; production never does).
    def forget() -> None:
        fastpath.memory.clear()
        last_known.items.clear()
        watcher.forget_all()
        outage.database.reset()
        fastpath.cache_cooldown.reset()
        caching._stale_copies.clear()

    forget()
    cache.clear()
    yield
    cache.clear()
    forget()


@pytest.fixture(autouse=True)
def _cache_warnings_forgotten():
    """The "cache unavailable" warnings are logged once a minute per process: each test starts
    as a fresh process would, so a test that expects one is not silenced by an earlier test."""
    from apps.api import throttling

    throttling._last_cache_warning.clear()
    yield
    throttling._last_cache_warning.clear()


@pytest.fixture(autouse=True)
def _demo_site_in_tmp(monkeypatch, tmp_path):
    """`manage.py demo` writes var/demo-site.html; a test run must not overwrite the one a
    developer's `make run` wrote (with its SITE_URL) in the working tree."""
    from apps.demo import embed

    monkeypatch.setattr(embed, "example_site_path", lambda: tmp_path / "demo-site.html")


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme Cloud", slug="acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Globex", slug="globex")


def _member(org, role, email):
    return MembershipFactory(organization=org, user=UserFactory(email=email), role=role).user


@pytest.fixture
def owner(org):
    return _member(org, Role.OWNER, "alice@acme.test")


@pytest.fixture
def admin(org):
    return _member(org, Role.ADMIN, "adam@acme.test")


@pytest.fixture
def editor(org):
    return _member(org, Role.EDITOR, "eddie@acme.test")


@pytest.fixture
def viewer(org):
    return _member(org, Role.VIEWER, "vera@acme.test")


@pytest.fixture
def outsider(other_org):
    return _member(other_org, Role.OWNER, "oscar@globex.test")


@pytest.fixture
def api_key(org):
    return ApiKeyFactory(organization=org)


@pytest.fixture
def read_only_key(org):
    return ApiKeyFactory(organization=org, name="Dashboard TV", scope="read")


@pytest.fixture
def admin_key(org):
    return ApiKeyFactory(organization=org, name="Provisioning", scope="admin")


@pytest.fixture
def other_admin_key(other_org):
    return ApiKeyFactory(organization=other_org, name="Globex provisioning", scope="admin")


@pytest.fixture
def other_api_key(other_org):
    return ApiKeyFactory(organization=other_org)


@pytest.fixture
def api(client):
    """A client that sends `Authorization: Bearer <key>` for api_key."""

    def for_key(key):
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key.secret}"
        return client

    return for_key
