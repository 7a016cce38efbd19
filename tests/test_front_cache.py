"""deploy/nginx/candor.conf in front of the app: what it caches, what it never caches, and the
last copy when the app is gone.

A real nginx (the Debian package .ci/run installs) with the shipped config, in front of a live
server of this test process. Runs with CANDOR_TEST_SERVICES=1 (CI); with the flag set and no
nginx it fails rather than skips, so CI cannot silently stop checking the front cache.
"""

from __future__ import annotations

import os
import time

import pytest
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler
from pytest_django.live_server_helper import LiveServer

from benchmarks.frontcache import Answer, Nginx, fetch, nginx_binary
from tests.factories import ComponentFactory, OrganizationFactory

pytestmark = pytest.mark.skipif(
    not os.environ.get("CANDOR_TEST_SERVICES"),
    reason="set CANDOR_TEST_SERVICES=1 to run nginx in front of the app",
)

PAGE = "/s/acme/"
SUMMARY = "/s/acme/api/v2/summary.json"


@pytest.fixture
def front(transactional_db):
    """(nginx, the live server behind it); an organization with a component."""
    assert nginx_binary(), (
        "CANDOR_TEST_SERVICES=1 but nginx is not installed (apt-get install nginx)"
    )
    organization = OrganizationFactory(name="Acme Cloud", slug="acme")
    ComponentFactory(organization=organization, name="API")
    server = Upstream("127.0.0.1:0")
    nginx = Nginx(f"127.0.0.1:{server.thread.port}", workers="1").start()
    try:
        yield nginx, server
    finally:
        nginx.stop()  # first: it closes its keep-alive connections to the server
        server.stop()
        server.release()


class OneRequestPerConnection(QuietWSGIRequestHandler):
    # HTTP/1.0: the connection closes after each response, so stopping the server leaves no
    # kept-alive connection through which nginx could still reach the app.
    protocol_version = "HTTP/1.0"


class ClosingServerThread(LiveServerThread):
    def _create_server(self, connections_override=None):  # type: ignore[no-untyped-def]
        return self.server_class(
            (self.host, self.port),
            OneRequestPerConnection,
            allow_reuse_address=False,
            connections_override=connections_override,
        )


class Upstream(LiveServer):
    """The app on a port of its own, stoppable in a test.

    stop() only stops serving; the in-memory SQLite connection (local runs) stays shared until
    release(), when no request thread can use it any more.
    """

    stopped = False

    def __init__(self, addr: str) -> None:
        super().__init__(addr, start=False)
        self.thread.__class__ = ClosingServerThread
        self.start()

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.thread.terminate()

    def release(self) -> None:
        for connection in self.thread.connections_override.values():
            connection.dec_thread_sharing()


def cached_twice(port: int, path: str, headers: dict[str, str] | None = None) -> list[Answer]:
    """A first request, then repeats until one lands within the copy's second of freshness
    (s-maxage=1; a slow first request on a busy machine may use it up)."""
    answers = [fetch(port, path, headers)]
    for _ in range(5):
        started = time.monotonic()
        answers.append(fetch(port, path, headers))
        if answers[-1].cache == "HIT" or time.monotonic() - started < 0.5:
            break
    return answers


def test_a_status_page_is_served_from_the_cache_on_the_second_request(front):
    nginx, _server = front

    first, *rest = cached_twice(nginx.port, PAGE)

    assert first.status == 200
    assert first.cache == "MISS"
    assert rest[-1].cache == "HIT"
    assert rest[-1].body == first.body
    assert b"Acme Cloud" in first.body


def test_the_status_api_is_cached_and_keeps_its_etag(front):
    nginx, _server = front

    first, *rest = cached_twice(nginx.port, SUMMARY)
    etag = first.headers["etag"]
    conditional = fetch(nginx.port, SUMMARY, {"If-None-Match": etag})

    assert rest[-1].cache == "HIT"
    assert conditional.status == 304


def test_gzip_and_plain_are_kept_apart(front):
    nginx, _server = front
    browser = {"Accept-Encoding": "gzip, deflate, br, zstd"}

    plain = fetch(nginx.port, PAGE)
    gzipped = fetch(nginx.port, PAGE, browser)
    other_spelling = fetch(nginx.port, PAGE, {"Accept-Encoding": "gzip"})
    refused = fetch(nginx.port, PAGE, {"Accept-Encoding": "gzip;q=0, deflate"})

    assert plain.cache == "MISS"
    assert "content-encoding" not in plain.headers
    assert gzipped.cache == "MISS"  # not the plain copy
    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzipped.body[:2] == b"\x1f\x8b"
    # Any spelling that accepts gzip shares the gzipped copy; q=0 shares the plain one.
    assert other_spelling.headers["content-encoding"] == "gzip"
    assert other_spelling.cache in {"HIT", "STALE", "UPDATING", "REVALIDATED", "EXPIRED"}
    assert "content-encoding" not in refused.headers
    assert refused.body == plain.body


def test_languages_are_kept_apart(front):
    """A warm German copy never answers an English or Japanese reader (apps/core/i18n.py)."""
    nginx, _server = front
    german = {"Accept-Language": "de-DE,de;q=0.9"}

    warm = cached_twice(nginx.port, PAGE, german)
    english = fetch(nginx.port, PAGE, {"Accept-Language": "en-US,en;q=0.9"})
    switched = fetch(nginx.port, PAGE, {**german, "Cookie": "candor_language=ja"})
    german_again = fetch(nginx.port, PAGE, german)

    assert warm[-1].cache == "HIT"
    assert warm[-1].headers["content-language"] == "de"
    assert english.cache == "MISS"
    assert english.headers["content-language"] == "en"
    assert switched.cache == "MISS"
    assert switched.headers["content-language"] == "ja"
    assert german_again.headers["content-language"] == "de"


def test_a_request_with_a_session_cookie_is_never_served_from_or_stored_in_the_cache(front):
    nginx, _server = front
    session = {"Cookie": "sessionid=abc123"}

    with_session = [fetch(nginx.port, PAGE, session) for _ in range(3)]
    anonymous = fetch(nginx.port, PAGE)

    assert [answer.cache for answer in with_session] == ["BYPASS"] * 3
    assert all(answer.status == 200 for answer in with_session)
    # Nothing the session requests fetched was stored for others.
    assert anonymous.cache == "MISS"


def test_the_dashboard_the_management_api_and_forms_never_touch_the_cache(front):
    nginx, _server = front

    for path in [
        "/dashboard/acme/",
        "/api/v1/components/",
        "/accounts/login/",
        "/s/acme/subscribe/",
    ]:
        answers = [fetch(nginx.port, path) for _ in range(2)]
        assert [answer.cache for answer in answers] == ["", ""], path


def test_the_last_copy_is_served_when_the_app_is_gone(front):
    nginx, server = front
    page = fetch(nginx.port, PAGE)
    summary = fetch(nginx.port, SUMMARY)

    server.stop()
    time.sleep(2.1)  # past s-maxage=1 (nginx counts whole seconds): the copies are expired
    page_later = fetch(nginx.port, PAGE)
    summary_later = fetch(nginx.port, SUMMARY)

    assert page_later.status == 200
    assert page_later.cache == "STALE"
    assert page_later.body == page.body
    assert summary_later.status == 200
    assert summary_later.body == summary.body
    # A page nobody fetched before has no copy: nginx says so rather than hang.
    assert fetch(nginx.port, "/s/acme/history/").status == 502
    # The front's own health check (docker-compose) says it is up.
    assert fetch(nginx.port, "/.front/healthz").status == 200


def test_a_private_page_is_never_stored_even_for_a_token_in_the_url(front):
    from apps.organizations.models import Organization
    from apps.organizations.principals import System
    from apps.organizations.services import create_page_access_token, set_page_visibility

    nginx, _server = front
    organization = Organization.objects.get(slug="acme")
    set_page_visibility(
        organization, actor=System("test"), visibility="private", allowed_domains=""
    )
    _token, secret = create_page_access_token(organization, actor=System("test"), name="feed")
    with_token = f"{SUMMARY}?token={secret}"

    answers = [fetch(nginx.port, with_token) for _ in range(3)]
    refused = [fetch(nginx.port, SUMMARY) for _ in range(2)]

    assert [answer.status for answer in answers] == [200] * 3
    assert all(answer.cache in {"MISS", ""} for answer in answers)  # never a stored copy
    assert answers[0].headers["cache-control"] == "private, no-store"
    assert [answer.status for answer in refused] == [404, 404]
    assert all(b"API" not in answer.body for answer in refused)
