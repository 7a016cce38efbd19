"""The optional read replica: apps.core.db's router and use_replica, and the organization's
caught-up check (apps/organizations/replica.py).

The integration tests add a "replica" alias for the test's duration: a SQLite file holding only
the organizations table, with rows that differ from the primary's, so each read shows which
database answered it (a mirror of the test database could not tell them apart).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test.utils import CaptureQueriesContext

from apps.core.db import REPLICA, PrimaryReplicaRouter, on_replica, use_replica
from apps.organizations.models import Organization
from apps.organizations.replica import content_caught_up, public_reads, render_on_replica
from tests.test_settings import SETUP, run

router = PrimaryReplicaRouter()


@pytest.fixture
def no_replica(monkeypatch) -> None:
    """As without DATABASE_REPLICA_URL, also when the developer's shell sets it."""
    monkeypatch.delitem(connections.settings, REPLICA, raising=False)


@pytest.fixture
def replica(transactional_db, settings, monkeypatch, tmp_path: Path) -> Iterator[str]:
    """A "replica" alias (SQLite file with the organizations table) and the router. Rows are
    committed (transactional_db): use_replica reads the primary inside an open transaction, and
    `db` would wrap the whole test in one. It replaces a replica configured in the environment
    (DATABASE_REPLICA_URL) for the test's duration."""
    replica_db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "r.sqlite3")}
    configured = connections.configure_settings(
        {DEFAULT_DB_ALIAS: connections.settings[DEFAULT_DB_ALIAS], REPLICA: replica_db}
    )
    monkeypatch.setitem(connections.settings, REPLICA, configured[REPLICA])
    with contextlib.suppress(AttributeError):  # none made yet
        del connections[REPLICA]  # a wrapper made earlier from the environment's settings
    # Opened here: Django's test case refuses to open aliases it was not told of, and this one
    # did not exist when the test case was set up.
    connections[REPLICA].connect()
    with connections[REPLICA].schema_editor() as editor:
        editor.create_model(Organization)
    settings.DATABASE_ROUTERS = ["apps.core.db.PrimaryReplicaRouter"]
    yield REPLICA
    connections[REPLICA].close()
    del connections[REPLICA]


def copy_to_replica(org: Organization, **changes: object) -> None:
    """The organization's row on the replica, as replication would have left it, plus changes."""
    values = {f.attname: getattr(org, f.attname) for f in Organization._meta.concrete_fields}
    values.update(changes)
    Organization.objects.using(REPLICA).bulk_create([Organization(**values)])


# --- the router's decisions ---------------------------------------------------------------


def test_reads_and_writes_go_to_the_primary_outside_a_replica_block():
    assert router.db_for_read(Organization) == DEFAULT_DB_ALIAS
    assert router.db_for_write(Organization) == DEFAULT_DB_ALIAS


def test_the_replica_is_never_migrated():
    assert router.allow_migrate(REPLICA, "organizations") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "organizations") is True


def test_without_a_replica_use_replica_changes_nothing(no_replica):
    with use_replica(lambda alias: True) as on:
        assert on is False
        assert router.db_for_read(Organization) == DEFAULT_DB_ALIAS


def test_a_caught_up_replica_takes_the_blocks_reads_and_never_its_writes(replica):
    with use_replica(lambda alias: True) as on:
        assert on is True
        assert router.db_for_read(Organization) == REPLICA
        assert router.db_for_write(Organization) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Organization) == DEFAULT_DB_ALIAS


def test_after_a_write_the_rest_of_the_block_reads_the_primary(replica):
    with use_replica(lambda alias: True):
        router.db_for_write(Organization)
        assert router.db_for_read(Organization) == DEFAULT_DB_ALIAS


def test_a_lagging_replica_is_not_used(replica):
    with use_replica(lambda alias: False) as on:
        assert on is False
        assert router.db_for_read(Organization) == DEFAULT_DB_ALIAS


def test_a_replica_that_fails_its_check_is_not_used(replica, caplog):
    def down(alias: str) -> bool:
        raise ConnectionError("replica unreachable")

    with use_replica(down) as on:
        assert on is False
        assert router.db_for_read(Organization) == DEFAULT_DB_ALIAS
    assert "read replica check failed" in caplog.text


def test_a_block_opened_inside_a_transaction_reads_the_primary(replica):
    with transaction.atomic(), use_replica(lambda alias: True) as on:
        assert on is False
        assert router.db_for_read(Organization) == DEFAULT_DB_ALIAS


# --- reads land where expected ------------------------------------------------------------


def test_public_reads_come_from_a_replica_at_the_expected_version(replica, org):
    Organization.objects.filter(pk=org.pk).update(content_version=7)
    copy_to_replica(org, content_version=7, name="Acme (replica copy)")

    with public_reads(org, 7) as on, CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as q:
        name = Organization.objects.get(pk=org.pk).name

    assert on is True
    assert name == "Acme (replica copy)"
    assert len(q.captured_queries) == 0


def test_a_replica_behind_the_expected_version_is_passed_over_for_the_primary(replica, org):
    Organization.objects.filter(pk=org.pk).update(content_version=8, name="Acme Cloud v8")
    copy_to_replica(org, content_version=7, name="Acme (old copy)")

    with public_reads(org, 8) as on:
        name = Organization.objects.get(pk=org.pk).name

    assert on is False
    assert name == "Acme Cloud v8"


def test_a_replica_ahead_of_the_expected_version_is_used(replica, org):
    copy_to_replica(org, content_version=org.content_version + 1, name="Acme (newer)")

    assert content_caught_up(org.pk, org.content_version)(REPLICA) is True


def test_an_object_read_from_the_replica_is_saved_to_the_primary(replica, org):
    copy_to_replica(org, name="Acme (replica copy)")

    with public_reads(org, org.content_version):
        copy = Organization.objects.get(pk=org.pk)
        read_from = copy._state.db
        copy.name = "Renamed"
        copy.save(update_fields=["name"])
        after_write = Organization.objects.get(pk=org.pk).name

    assert read_from == REPLICA
    assert Organization.objects.using(DEFAULT_DB_ALIAS).get(pk=org.pk).name == "Renamed"
    assert Organization.objects.using(REPLICA).get(pk=org.pk).name == "Acme (replica copy)"
    assert after_write == "Renamed"  # read-after-write: the primary


def test_render_on_replica_wraps_a_render_callable(replica, org):
    copy_to_replica(org, name="Acme (replica copy)")

    def render() -> tuple[str, str]:
        return Organization.objects.get(pk=org.pk).name, "text/plain"

    wrapped = render_on_replica(render, org, org.content_version)

    assert wrapped() == ("Acme (replica copy)", "text/plain")
    assert render() == ("Acme Cloud", "text/plain")  # outside it: the primary


def test_on_replica_without_a_check_accepts_any_lag(replica, org):
    copy_to_replica(org, content_version=1, name="Acme (old copy)")

    name = on_replica(lambda: Organization.objects.get(pk=org.pk).name)()

    assert name == "Acme (old copy)"


# --- settings -------------------------------------------------------------------------------

SHOW_DATABASES = SETUP + (
    "from django.conf import settings; import json\n"
    "print(json.dumps({'aliases': sorted(settings.DATABASES),"
    " 'routers': getattr(settings, 'DATABASE_ROUTERS', []),"
    " 'mirror': settings.DATABASES.get('replica', {}).get('TEST', {}).get('MIRROR')}))\n"
)


def test_without_database_replica_url_there_is_no_replica_and_no_router(tmp_path):
    result = run(SHOW_DATABASES, tmp_path)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"aliases": ["default"], "routers": [], "mirror": None}


def test_database_replica_url_adds_the_alias_and_the_router(tmp_path):
    result = run(SHOW_DATABASES, tmp_path, DATABASE_REPLICA_URL="postgres://ro@127.0.0.1/candor")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "aliases": ["default", "replica"],
        "routers": ["apps.core.db.PrimaryReplicaRouter"],
        "mirror": "default",
    }


def test_a_public_page_is_rendered_from_a_caught_up_replica(replica, org):
    """apps/public/caching.py renders through render_on_replica: the page shows the replica's
    copy when it holds the version, and the primary's when it lags."""
    from django.test import RequestFactory

    from apps.public.caching import public_response

    def page(version: int) -> bytes:
        Organization.objects.filter(pk=org.pk).update(content_version=version)
        request = RequestFactory().get("/", HTTP_HOST="testserver")
        request.organization = Organization.objects.get(pk=org.pk)  # type: ignore[attr-defined]
        request.public_prefix = f"/s/{org.slug}/"  # type: ignore[attr-defined]

        def render() -> tuple[str, str]:
            return Organization.objects.get(pk=org.pk).name, "text/plain"

        return public_response(request, f"replica-test-{version}", render).content

    copy_to_replica(org, content_version=7, name="Acme (replica copy)")
    assert page(7) == b"Acme (replica copy)"
    assert page(8) == org.name.encode()  # the replica is still at 7
