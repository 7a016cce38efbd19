"""The public fast path (apps/public/fastpath.py): shared public reads answered from process
memory with one small cache read, byte for byte what the normal path sent."""

from __future__ import annotations

import gzip

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from apps.organizations.models import Organization
from apps.organizations.published import publish_version, published_version
from apps.organizations.services import bump_content_version
from apps.public import fastpath
from tests.factories import ComponentFactory, IncidentFactory, UserFactory

HOST = "acme.status.localhost"
URLS = [
    ("/s/acme/", {}),
    ("/s/acme/", {"HTTP_ACCEPT_ENCODING": "gzip, br"}),
    ("/s/acme/history/", {"HTTP_ACCEPT_ENCODING": "gzip"}),
    ("/s/acme/api/v2/summary.json", {}),
    ("/s/acme/api/v2/summary.json", {"HTTP_ACCEPT_ENCODING": "gzip"}),
    ("/s/acme/badge.svg", {}),
    ("/s/acme/embed.json", {}),
    ("/s/acme/maintenance.ics", {}),
    ("/", {"HTTP_HOST": HOST, "HTTP_ACCEPT_ENCODING": "gzip"}),
    ("/api/v2/summary.json", {"HTTP_HOST": HOST}),
]


@pytest.fixture
def cache_reads(monkeypatch):
    """Every cache read but the published version's, and the version reads, apart."""
    reads: list[str] = []
    versions: list[int] = []
    real_get = cache.get
    real_version = fastpath.published_version

    def counting_get(key, *args, **kwargs):
        if not key.startswith("org-version:"):  # LocMemCache's published_version reads so
            reads.append(key)
        return real_get(key, *args, **kwargs)

    def counting_version(organization_id):
        versions.append(organization_id)
        return real_version(organization_id)

    monkeypatch.setattr(cache, "get", counting_get)
    monkeypatch.setattr(fastpath, "published_version", counting_version)
    return reads, versions


def same(first, second) -> None:
    assert second.status_code == first.status_code
    assert second.content == first.content
    assert list(second.items()) == list(first.items())


@pytest.mark.parametrize(("url", "extra"), URLS)
def test_a_hit_sends_what_the_normal_path_sent_without_a_query(
    client, incident_page, url, extra, django_assert_num_queries, cache_reads
):
    normal = client.get(url, **extra)
    assert normal.status_code == 200
    assert len(fastpath.memory) == 1
    reads, versions = cache_reads
    reads.clear()
    versions.clear()
    with django_assert_num_queries(0):
        fast = client.get(url, **extra)
    same(normal, fast)
    # The one cache read is the published version.
    assert versions == [incident_page.organization_id]
    assert reads == []
    # The headers the middleware below add are in the copy too.
    assert fast["X-Content-Type-Options"] == "nosniff"
    assert fast["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert fast["ETag"] and fast["Cache-Control"].startswith("public")


def test_a_gzip_hit_is_the_gzipped_page(client, incident_page):
    plain = client.get("/s/acme/")
    client.get("/s/acme/", HTTP_ACCEPT_ENCODING="gzip")
    packed = client.get("/s/acme/", HTTP_ACCEPT_ENCODING="gzip")
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content
    assert len(fastpath.memory) == 2


def test_a_304_is_replayed_with_the_normal_paths_headers(
    client, incident_page, django_assert_num_queries
):
    etag = client.get("/s/acme/api/v2/summary.json")["ETag"]
    normal = client.get("/s/acme/api/v2/summary.json", HTTP_IF_NONE_MATCH=etag)
    assert normal.status_code == 304
    with django_assert_num_queries(0):
        fast = client.get("/s/acme/api/v2/summary.json", HTTP_IF_NONE_MATCH=etag)
    same(normal, fast)


def test_the_live_poll_304_comes_from_the_fast_path(
    client, org, incident_page, django_assert_num_queries
):
    tag = f'W/"v{org.content_version}"'
    normal = client.get("/s/acme/live/", HTTP_IF_NONE_MATCH=tag)
    assert normal.status_code == 304
    with django_assert_num_queries(0):
        fast = client.get("/s/acme/live/", HTTP_IF_NONE_MATCH=tag)
    same(normal, fast)
    assert fast["ETag"] == tag
    assert fast["Cache-Control"] == "public, max-age=0, s-maxage=1"
    # An older tag gets the page, from memory too once seen.
    changed = client.get("/s/acme/live/", HTTP_IF_NONE_MATCH='W/"v-1"')
    assert changed.status_code == 200 and changed["ETag"] == tag
    with django_assert_num_queries(0):
        same(changed, client.get("/s/acme/live/", HTTP_IF_NONE_MATCH='W/"v-1"'))


def test_a_change_is_served_on_the_next_request(
    client, org, incident_page, django_capture_on_commit_callbacks, django_assert_num_queries
):
    client.get("/s/acme/api/v2/summary.json")
    with django_assert_num_queries(0):
        before = client.get("/s/acme/api/v2/summary.json")
    assert b"Database trouble" not in before.content
    with django_capture_on_commit_callbacks(execute=True):
        IncidentFactory(organization=org, name="Database trouble")
        bump_content_version(org)  # what every service does: published after commit
    assert published_version(org.pk) == org.content_version + 1
    after = client.get("/s/acme/api/v2/summary.json")
    assert b"Database trouble" in after.content
    assert after["ETag"] != before["ETag"]


def test_the_poll_sees_a_change_at_once(
    client, org, incident_page, django_capture_on_commit_callbacks
):
    tag = f'W/"v{org.content_version}"'
    client.get("/s/acme/live/", HTTP_IF_NONE_MATCH=tag)
    assert client.get("/s/acme/live/", HTTP_IF_NONE_MATCH=tag).status_code == 304
    with django_capture_on_commit_callbacks(execute=True):
        bump_content_version(org)
    changed = client.get("/s/acme/live/", HTTP_IF_NONE_MATCH=tag)
    assert changed.status_code == 200
    assert changed["ETag"] == f'W/"v{org.content_version + 1}"'


def test_a_signed_in_reader_never_gets_the_shared_copy(client, incident_page):
    url = f"/s/acme/incidents/{incident_page.public_id}/"
    client.get(url)
    anonymous = client.get(url)
    assert "csrfmiddlewaretoken" not in anonymous.content.decode()
    client.force_login(UserFactory())
    mine = client.get(url)
    assert mine["Cache-Control"] == "private, no-store"
    assert "csrfmiddlewaretoken" in mine.content.decode()
    # Nor is the personal page kept for anyone else.
    stored = len(fastpath.memory)
    client.get(url)
    assert len(fastpath.memory) == stored
    client.logout()
    assert "csrfmiddlewaretoken" not in client.get(url).content.decode()


def test_a_post_is_never_answered_from_memory(client, incident_page):
    client.get("/s/acme/")
    assert client.get("/s/acme/").status_code == 200
    assert client.post("/s/acme/").status_code == 405
    assert fastpath.request_key({"REQUEST_METHOD": "POST", "PATH_INFO": "/s/acme/"}) is None


def test_a_last_good_copy_is_kept_for_a_second_and_a_failed_answer_not_at_all(
    client, org, incident_page, monkeypatch
):
    """While the database is down every reader gets the same last good copy: the fast path
    replays it, but only for a second, so the fresh page is back soon after the database."""
    import time

    from django.db import OperationalError

    from apps.core import outage
    from apps.public import api_v2

    client.get("/s/acme/api/v2/summary.json")
    fastpath.memory.clear()
    Organization.objects.filter(pk=org.pk).update(content_version=org.content_version + 1)
    publish_version(org.pk, org.content_version + 1)

    def fail(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(api_v2, "load_components", fail)
    stale = client.get("/s/acme/api/v2/summary.json")
    assert stale["X-Status-Page-Stale"] == "true"
    assert len(fastpath.memory) == 1
    (entry,) = fastpath.memory.items.values()
    assert entry.body == stale.content
    assert entry.expires - time.monotonic() <= 1.0

    # No saved copy at all (another resource): a 503, never kept.
    outage.database.reset()
    gone = client.get("/s/acme/api/v2/incidents.json")
    assert gone.status_code == 503
    assert len(fastpath.memory) == 1


def test_another_host_never_gets_an_organizations_entry(client, org, other_org, incident_page):
    ComponentFactory(organization=other_org, name="Globex mail")
    Organization.objects.filter(pk=other_org.pk).update(content_version=org.content_version)
    publish_version(other_org.pk, org.content_version)
    for _ in range(2):
        acme = client.get("/api/v2/summary.json", HTTP_HOST=HOST)
        globex = client.get("/api/v2/summary.json", HTTP_HOST="globex.status.localhost")
        assert b"Acme Cloud" in acme.content and b"Globex" not in acme.content
        assert b"Globex" in globex.content and b"Acme Cloud" not in globex.content
    assert len(fastpath.memory) == 2


def test_a_cache_outage_falls_through_to_the_normal_path(client, incident_page, monkeypatch):
    normal = client.get("/s/acme/api/v2/summary.json")

    def down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(fastpath, "published_version", down)
    served = client.get("/s/acme/api/v2/summary.json")
    assert served.status_code == 200
    assert served.content == normal.content
    # One failure turns the fast path off for a moment: no timeout per request.
    assert not fastpath.enabled()


def test_an_entry_is_current_only_while_its_version_is_published(client, org, incident_page):
    client.get("/s/acme/api/v2/summary.json")
    cache.delete(f"org-version:{org.pk}")  # evicted, or Redis restarted empty
    assert client.get("/s/acme/api/v2/summary.json").status_code == 200
    # The normal path put it back.
    assert published_version(org.pk) == org.content_version


def test_the_memory_is_bounded_by_bytes():
    memory = fastpath.Memory(max_bytes=20_000)
    for number in range(50):
        entry = fastpath.Stored(1, 1, 200, "200 OK", [("ETag", '"x"')], b"x" * 1000, 1e12)
        memory.put(("key", number), entry)
        assert memory.used <= memory.max_bytes
    assert len(memory) < 50
    assert memory.get(("key", 0), 0.0) is None  # the oldest went first
    assert memory.get(("key", 49), 0.0) is not None
    huge = fastpath.Stored(1, 1, 200, "200 OK", [], b"x" * 5000, 1e12)
    memory.put("huge", huge)  # more than an eighth: not kept
    assert memory.get("huge", 0.0) is None


def test_entries_expire(client, incident_page, monkeypatch):
    client.get("/s/acme/api/v2/summary.json")
    (key,) = fastpath.memory.items
    stored = fastpath.memory.items[key]
    assert fastpath.memory.get(key, stored.expires - 0.1) is stored
    assert fastpath.memory.get(key, stored.expires) is None


def test_the_wsgi_wrapper_answers_before_django(client, incident_page):
    normal = client.get("/api/v2/summary.json", HTTP_HOST=HOST, HTTP_ACCEPT_ENCODING="gzip")
    called = []

    def django_app(environ, start_response):
        called.append(environ)
        return [b"from django"]

    application = fastpath.FastPathApplication(django_app)
    sent = []
    environ = (
        RequestFactory()
        .get("/api/v2/summary.json", HTTP_HOST=HOST, HTTP_ACCEPT_ENCODING="gzip")
        .environ
    )
    body = application(dict(environ), lambda status, headers: sent.append((status, headers)))
    assert called == []
    assert b"".join(body) == normal.content
    assert sent == [("200 OK", list(normal.items()))]
    # A request it cannot answer goes to Django, marked so the middleware does not ask again.
    other = RequestFactory().get("/api/v2/status.json", HTTP_HOST=HOST).environ
    assert application(dict(other), lambda *a: None) == [b"from django"]
    assert called[0][fastpath.CHECKED] is True


def test_the_discussion_poll_304_comes_from_the_fast_path(
    client, org, incident_page, django_assert_num_queries
):
    from tests.forum.factories import ThreadFactory

    resolved = IncidentFactory(organization=org, status="resolved")
    thread = ThreadFactory(incident=resolved)
    url = f"/s/acme/incidents/{resolved.public_id}/discussion/live/"
    tag = f'W/"t{thread.version}"'
    normal = client.get(url, HTTP_IF_NONE_MATCH=tag)
    assert normal.status_code == 304
    with django_assert_num_queries(0):
        fast = client.get(url, HTTP_IF_NONE_MATCH=tag)
    same(normal, fast)
