"""What the public read path knows without the database (apps/organizations/published.py): the
published content version, and the routes that survive a process restart during an outage."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import OperationalError

from apps.organizations import middleware
from apps.organizations.models import Domain, Organization
from apps.organizations.published import publish_version, published_version, recall_route
from apps.organizations.services import bump_content_version, delete_organization
from apps.public import fastpath
from tests.factories import ComponentFactory, member

HOST = "acme.status.localhost"


def restart() -> None:
    """A new worker process: nothing in its memory."""
    middleware.last_known.items.clear()
    fastpath.memory.clear()


@pytest.fixture
def database_down(monkeypatch):
    def fail(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(Organization.objects, "filter", fail)
    monkeypatch.setattr(middleware, "organization_for_host", fail)


@pytest.fixture
def page(org):
    ComponentFactory(organization=org, name="API")
    return org


# --- the published version ---------------------------------------------------------------------


def test_the_published_version_only_rises():
    publish_version(7, 5)
    publish_version(7, 3)  # a bump that committed first but published last
    assert published_version(7) == 5
    publish_version(7, 6)
    assert published_version(7) == 6


def test_a_bump_publishes_the_version_after_commit(org, django_capture_on_commit_callbacks):
    before = org.content_version
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        bump_content_version(org)
        bump_content_version(org)
    assert published_version(org.pk) is None  # nothing before the commit
    for callback in callbacks:
        callback()
    org.refresh_from_db()
    assert org.content_version == before + 2
    assert published_version(org.pk) == before + 2


def test_deleting_an_organization_forgets_what_was_published(
    client, org, owner, page, django_capture_on_commit_callbacks
):
    client.get("/s/acme/")
    client.get("/", HTTP_HOST=HOST)
    publish_version(org.pk, org.content_version)
    assert recall_route("slug:acme") is not None
    assert recall_route(f"host:{HOST}") is not None
    org_id = org.pk
    with django_capture_on_commit_callbacks(execute=True):
        delete_organization(org, actor=member(owner, org), confirmation="acme")
    assert recall_route("slug:acme") is None
    assert recall_route(f"host:{HOST}") is None
    assert published_version(org_id) is None


# --- routes during a database outage -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "extra"),
    [
        ("/s/acme/", {}),
        ("/s/acme/api/v2/summary.json", {}),
        ("/", {"HTTP_HOST": HOST}),
        ("/api/v2/summary.json", {"HTTP_HOST": HOST}),
    ],
)
def test_a_process_started_during_an_outage_serves_the_saved_copies(
    client, page, database_down_later, url, extra
):
    good = client.get(url, **extra)
    assert good.status_code == 200
    restart()
    database_down_later()
    during = client.get(url, **extra)
    assert during.status_code == 200
    # The organization came from the cache at the version it was served at, so the saved
    # rendering of that version is served as it was.
    assert during.content == good.content


@pytest.fixture
def database_down_later(monkeypatch):
    def go_down() -> None:
        def fail(*args, **kwargs):
            raise OperationalError("could not connect to server")

        monkeypatch.setattr(Organization.objects, "filter", fail)
        monkeypatch.setattr(middleware, "organization_for_host", fail)

    return go_down


def test_the_route_is_written_once_per_change_not_per_request(client, page, monkeypatch):
    writes = []
    real_set = cache.set
    monkeypatch.setattr(
        cache, "set", lambda key, *a, **k: writes.append(key) or real_set(key, *a, **k)
    )
    monkeypatch.setattr("django.conf.settings.PUBLIC_FASTPATH", False)
    for _ in range(3):
        client.get("/s/acme/api/v2/summary.json")
    assert [key for key in writes if key.startswith("org-route:")] == ["org-route:slug:acme"]


@pytest.mark.parametrize(
    ("url", "extra"),
    [
        ("/s/nobody/", {}),
        ("/s/acme/api/v2/summary.json", {}),
        ("/", {"HTTP_HOST": "unknown.status.localhost"}),
        ("/", {"HTTP_HOST": "status.example.org"}),
    ],
)
def test_an_unknown_address_during_an_outage_is_a_503_not_a_500(
    client, page, database_down, url, extra
):
    # Nothing known in this process nor in the cache (acme was never served here).
    response = client.get(url, **extra)
    assert response.status_code == 503
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Retry-After"] == "30"
    assert "temporarily unavailable" in response.content.decode()


def test_a_removed_domain_is_forgotten(
    client, org, owner, page, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from apps.organizations.services import remove_domain

    domain = Domain.objects.create(
        organization=org, hostname="status.acme.test", verified_at=timezone.now()
    )
    assert client.get("/", HTTP_HOST="status.acme.test").status_code == 200
    assert recall_route("host:status.acme.test") is not None
    with django_capture_on_commit_callbacks(execute=True):
        remove_domain(domain, actor=member(owner, org))
    assert recall_route("host:status.acme.test") is None
