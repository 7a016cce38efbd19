"""Public reads while PostgreSQL is down (apps/core/outage.py): after one failure a web process
stops asking the database for a second, serves its last good copies straight from the cache,
makes each copy's "may be out of date" version once, and asks again after the second."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper

from apps.core import outage
from apps.organizations.models import Organization
from apps.organizations.published import publish_version
from apps.public import caching, fastpath

PAGE = "/s/acme/"


@pytest.fixture
def database(monkeypatch):
    """Stop and start "PostgreSQL": while stopped every query fails as it does for real, and
    each attempt is counted."""

    real_execute = CursorWrapper.execute

    class Database:
        attempts = 0

        def stop(self) -> None:
            def refused(wrapper, *args, **kwargs):
                self.attempts += 1
                raise OperationalError('connection to server at "127.0.0.1", port 5432 failed')

            monkeypatch.setattr(CursorWrapper, "execute", refused)

        def start(self) -> None:
            monkeypatch.setattr(CursorWrapper, "execute", real_execute)

    database = Database()
    yield database
    database.start()  # before the test database is rolled back


def changed_while_down(client, org) -> None:
    """Staff changed the page just before the outage and this process has seen the new version
    (another resource was read), but nobody has read the page since: no rendering of the new
    version exists, so readers must get the last good copy (nothing fresh in the cache)."""
    Organization.objects.filter(pk=org.pk).update(content_version=org.content_version + 1)
    publish_version(org.pk, org.content_version + 1)
    assert client.get("/s/acme/api/v2/status.json").status_code == 200
    fastpath.memory.clear()


def test_after_one_failure_reads_skip_the_database_and_get_the_last_good_copy(
    client, org, incident_page, database
):
    assert client.get(PAGE).status_code == 200
    changed_while_down(client, org)
    database.stop()

    first = client.get(PAGE)
    tried = database.attempts
    assert tried >= 1
    assert outage.database_known_down()
    readers = []
    for _ in range(20):
        fastpath.memory.clear()  # every read through the normal path, as in a new process
        readers.append(client.get(PAGE))

    assert database.attempts == tried  # not one more query for twenty readers
    for response in [first, *readers]:
        assert response.status_code == 200
        assert response["X-Status-Page-Stale"] == "true"
        assert "This page may be out of date." in response.content.decode()
        assert "Slow API responses" in response.content.decode()
    assert len({response.content for response in readers}) == 1


def test_the_database_is_asked_again_after_the_retry_interval(
    client, org, incident_page, database, settings, monkeypatch
):
    settings.PUBLIC_DATABASE_RETRY_SECONDS = 30
    clock = [1000.0]
    monkeypatch.setattr(outage.database, "clock", lambda: clock[0])
    assert client.get(PAGE).status_code == 200
    changed_while_down(client, org)
    database.stop()
    client.get(PAGE)
    database.start()

    clock[0] += 29
    fastpath.memory.clear()
    still_skipped = client.get(PAGE)
    # The database is back, but within the 30 s nobody asked it: still the last good copy.
    assert still_skipped["X-Status-Page-Stale"] == "true"

    clock[0] += 2
    fastpath.memory.clear()
    fresh = client.get(PAGE)
    assert fresh.status_code == 200
    assert not fresh.has_header("X-Status-Page-Stale")
    assert "This page may be out of date." not in fresh.content.decode()
    assert not outage.database_known_down()


def test_each_stale_copy_is_made_once_per_process(
    client, org, incident_page, database, monkeypatch
):
    assert client.get(PAGE).status_code == 200
    assert client.get(PAGE, HTTP_ACCEPT_ENCODING="gzip").status_code == 200
    changed_while_down(client, org)
    database.stop()
    made = []
    real_make = caching.make_rendering

    def counting_make(*args, **kwargs):
        made.append(1)
        return real_make(*args, **kwargs)

    monkeypatch.setattr(caching, "make_rendering", counting_make)
    for encoding in ("", "gzip", "", "gzip"):
        fastpath.memory.clear()
        response = client.get(PAGE, HTTP_ACCEPT_ENCODING=encoding)
        assert response["X-Status-Page-Stale"] == "true"
    assert len(made) == 1


def test_an_unknown_page_still_asks_the_database_and_answers_503(
    client, org, incident_page, database
):
    assert client.get(PAGE).status_code == 200
    database.stop()
    client.get("/s/acme/history/")  # trips it
    tried = database.attempts
    assert outage.database_known_down()

    unknown = client.get("/s/globex-never-seen/")

    assert unknown.status_code == 503
    assert unknown["Retry-After"] == "30"
    assert database.attempts > tried


def test_the_api_still_asks_the_database_while_public_reads_skip_it(
    client, org, incident_page, database, api_key
):
    assert client.get(PAGE).status_code == 200
    database.stop()
    client.get("/s/acme/history/")
    assert outage.database_known_down()
    tried = database.attempts

    response = client.get("/api/v1/components/", HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")

    assert response.status_code == 503
    assert response.json() == {"detail": "Temporarily unavailable; please retry."}
    assert database.attempts > tried
