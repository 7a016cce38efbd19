"""Public pages are fresh within seconds: browsers revalidate every load, and an open page polls
a versioned endpoint (static/js/live.js) that answers 304 until the content changes."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import OperationalError

from apps.incidents import services as incident_services
from apps.organizations.models import Organization
from apps.organizations.published import publish_version
from apps.public import api_v2, caching, views_public
from tests.factories import ComponentFactory, IncidentFactory, IncidentUpdateFactory, member

HOST = "acme.status.localhost"


@pytest.fixture
def quiet_page(org):
    return ComponentFactory(organization=org, name="API")


@pytest.fixture
def open_incident(org, quiet_page):
    incident = IncidentFactory(organization=org, name="Slow API responses")
    IncidentUpdateFactory(incident=incident, status="investigating", body="Looking into it.")
    return incident


def live_attributes(body: str) -> dict[str, str]:
    main = re.search(r"<main [^>]*>", body)
    assert main is not None
    return dict(re.findall(r'(data-live[\w-]*)="([^"]*)"', main.group(0)))


def version_tag(client, url: str = "/s/acme/", **extra) -> str:
    response = client.get(url, **extra)
    assert response.status_code == 200
    return 'W/"v{}"'.format(live_attributes(response.content.decode())["data-live-version"])


def declare_outage(org, actor, django_capture_on_commit_callbacks, name="Database outage"):
    with django_capture_on_commit_callbacks(execute=True):
        incident_services.open_incident(
            org, actor=member(actor), name=name, status="investigating",
            body="We are looking into it.",
            deliver_notifications=False,
        )  # fmt: skip


# --- headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["", "history/", "api/v2/summary.json", "api/v2/status.json", "history.atom"]
)
def test_browsers_revalidate_every_time_while_cdns_keep_a_second(client, quiet_page, path):
    response = client.get(f"/s/acme/{path}")
    assert response.status_code == 200
    directives = [part.strip() for part in response["Cache-Control"].split(",")]
    assert "max-age=0" in directives
    # A browser would show its old copy on a reload while revalidating in the background.
    assert not any(part.startswith("stale-while-revalidate") for part in directives)
    assert "s-maxage=1" in directives
    assert "stale-if-error=86400" in directives
    cdn = [part.strip() for part in response["CDN-Cache-Control"].split(",")]
    assert {"max-age=1", "stale-while-revalidate=1", "stale-if-error=86400"} <= set(cdn)


def test_incident_page_revalidates_every_time(client, open_incident):
    response = client.get(f"/s/acme/incidents/{open_incident.public_id}/")
    assert "max-age=0" in response["Cache-Control"]


def test_a_reload_right_after_an_outage_is_declared_shows_it(
    client, org, editor, quiet_page, django_capture_on_commit_callbacks
):
    before = client.get("/s/acme/")
    assert "Database outage" not in before.content.decode()
    declare_outage(org, editor, django_capture_on_commit_callbacks)
    # What a browser sends when revalidating its copy.
    after = client.get("/s/acme/", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert "Database outage" in after.content.decode()


# --- the poll --------------------------------------------------------------------------------


def test_poll_with_the_current_version_is_a_304_without_rendering_or_cache_reads(
    client, quiet_page, monkeypatch, django_assert_num_queries
):
    tag = version_tag(client)
    rendered, cache_reads = [], []
    monkeypatch.setattr(
        views_public, "render_to_string", lambda *a, **k: rendered.append(a) or "changed"
    )
    real_get = cache.get
    monkeypatch.setattr(cache, "get", lambda *a, **k: cache_reads.append(a) or real_get(*a, **k))
    # The one query is TenantMiddleware loading the organization, which brings the version.
    with django_assert_num_queries(1):
        response = client.get("/s/acme/live/", HTTP_IF_NONE_MATCH=tag)
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == tag
    assert "max-age=0" in response["Cache-Control"]
    assert rendered == []
    assert cache_reads == []


def test_a_new_incident_makes_the_next_poll_return_it(
    client, org, editor, quiet_page, django_capture_on_commit_callbacks
):
    tag = version_tag(client)
    assert client.get("/s/acme/live/", HTTP_IF_NONE_MATCH=tag).status_code == 304

    declare_outage(org, editor, django_capture_on_commit_callbacks)

    changed = client.get("/s/acme/live/", HTTP_IF_NONE_MATCH=tag)
    assert changed.status_code == 200
    body = changed.content.decode()
    assert "Database outage" in body
    org.refresh_from_db()
    assert changed["ETag"] == f'W/"v{org.content_version}"'
    assert live_attributes(body)["data-live-version"] == str(org.content_version)
    assert changed["ETag"] != tag
    # The reader now has the new version: quiet again.
    again = client.get("/s/acme/live/", HTTP_IF_NONE_MATCH=changed["ETag"])
    assert again.status_code == 304


def test_the_changed_poll_is_the_cached_page_every_reader_shares(
    client, org, editor, quiet_page, django_capture_on_commit_callbacks, monkeypatch
):
    tag = version_tag(client)
    declare_outage(org, editor, django_capture_on_commit_callbacks)
    first = client.get("/s/acme/live/", HTTP_IF_NONE_MATCH=tag)
    assert first.status_code == 200
    rendered = []
    monkeypatch.setattr(
        views_public, "render_to_string", lambda *a, **k: rendered.append(a) or "re-rendered"
    )
    second = client.get("/s/acme/live/", HTTP_IF_NONE_MATCH=tag)
    page = client.get("/s/acme/")
    assert rendered == []
    assert second.content == first.content == page.content


def test_a_gzip_poll_keeps_the_version_tag(
    client, org, editor, quiet_page, django_capture_on_commit_callbacks
):
    tag = version_tag(client)
    declare_outage(org, editor, django_capture_on_commit_callbacks)
    changed = client.get("/s/acme/live/", HTTP_IF_NONE_MATCH=tag, HTTP_ACCEPT_ENCODING="gzip")
    assert changed["Content-Encoding"] == "gzip"
    assert changed["ETag"].startswith('W/"v')
    assert changed["Vary"] == "Accept-Encoding, Accept-Language, Cookie"


def test_the_incident_page_polls_while_open_and_stops_once_resolved(
    client, org, editor, open_incident, django_capture_on_commit_callbacks
):
    url = f"/s/acme/incidents/{open_incident.public_id}/"
    live = live_attributes(client.get(url).content.decode())
    assert live["data-live"] == f"{url}live/"
    tag = version_tag(client, url)
    assert client.get(f"{url}live/", HTTP_IF_NONE_MATCH=tag).status_code == 304

    with django_capture_on_commit_callbacks(execute=True):
        incident_services.resolve_incident(
            open_incident, actor=member(editor), body="Fixed.", deliver_notifications=False
        )

    resolved = client.get(f"{url}live/", HTTP_IF_NONE_MATCH=tag)
    assert resolved.status_code == 200
    body = resolved.content.decode()
    assert "Fixed." in body
    # No data-live: the script stops polling this page.
    assert live_attributes(body) == {}
    assert "data-live-updated" not in body


def test_poll_of_an_unknown_incident_is_404_once_the_version_differs(client, quiet_page):
    # The 304 asks nothing of the database, so it cannot tell; a page that was removed bumped
    # the version, and the next poll gets the 404 (and the script stops).
    response = client.get("/s/acme/incidents/nosuchthing1/live/", HTTP_IF_NONE_MATCH='W/"v0"')
    assert response.status_code == 404


def test_another_organizations_incident_is_a_404_on_this_pages_poll(
    client, org, other_org, open_incident
):
    # Cross-tenant: Acme's incident id polled on Globex's page is no incident of Globex.
    response = client.get(
        f"/s/globex/incidents/{open_incident.public_id}/live/", HTTP_IF_NONE_MATCH='W/"v0"'
    )
    assert response.status_code == 404
    assert "Slow API responses" not in response.content.decode()


def test_another_organizations_version_does_not_leak(client, org, other_org, open_incident):
    # Same version number on both pages; each poll is answered from its own organization.
    Organization.objects.filter(pk=other_org.pk).update(content_version=org.content_version)
    publish_version(other_org.pk, org.content_version)
    tag = version_tag(client)
    assert client.get("/s/globex/live/", HTTP_IF_NONE_MATCH=tag).status_code == 304
    body = client.get("/s/globex/live/").content.decode()
    assert "Globex" in body
    assert "Slow API responses" not in body


def test_poll_works_on_the_status_host(client, quiet_page):
    response = client.get("/", HTTP_HOST=HOST)
    assert live_attributes(response.content.decode())["data-live"] == "/live/"
    tag = version_tag(client, "/", HTTP_HOST=HOST)
    assert client.get("/live/", HTTP_HOST=HOST, HTTP_IF_NONE_MATCH=tag).status_code == 304
    changed = client.get("/live/", HTTP_HOST=HOST, HTTP_IF_NONE_MATCH='W/"v0"')
    assert 'href="/history/"' in changed.content.decode()


def test_a_poll_during_a_database_failure_gets_the_saved_copy_without_a_version(
    client, org, quiet_page, monkeypatch
):
    tag = version_tag(client)

    def fail(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(api_v2, "load_components", fail)
    # The content version moved (someone changed the page) but the page cannot be rendered.
    Organization.objects.filter(pk=org.pk).update(content_version=org.content_version + 1)
    publish_version(org.pk, org.content_version + 1)
    stale = client.get("/s/acme/live/", HTTP_IF_NONE_MATCH=tag)
    assert stale.status_code == 200
    assert "This page may be out of date." in stale.content.decode()
    assert stale["X-Status-Page-Stale"] == "true"
    # Without the version the script keeps asking for the page until a fresh one comes.
    assert not stale.has_header("ETag")


def test_poll_accepts_only_safe_methods(client, quiet_page):
    assert client.post("/s/acme/live/").status_code == 405


# --- what the page carries -------------------------------------------------------------------


def test_the_page_polls_and_says_when_it_was_updated(client, quiet_page):
    body = client.get("/s/acme/").content.decode()
    live = live_attributes(body)
    assert live["data-live"] == "/s/acme/live/"
    assert live["data-live-version"].isdigit()
    updated = re.search(r"<p class=\"sp-updated\" data-live-updated>(.*?)</p>", body, re.S)
    assert updated is not None
    # Without JavaScript: the absolute time of this copy, in UTC for the script and the title.
    assert re.search(r'Updated <time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"', updated[1])
    assert 'src="/static/js/live.js"' in body


def test_pages_that_do_not_change_on_their_own_do_not_poll(client, org, quiet_page):
    resolved = IncidentFactory(organization=org, status="resolved", name="Old trouble")
    for url in ("/s/acme/history/", f"/s/acme/incidents/{resolved.public_id}/"):
        body = client.get(url).content.decode()
        assert live_attributes(body) == {}, url
        assert "data-live-updated" not in body


def test_no_inline_scripts_on_the_public_page(client, open_incident):
    body = client.get("/s/acme/").content.decode()
    scripts = re.findall(r"<script([^>]*)>", body)
    assert scripts
    # Files, or data the scripts read (the page's words): nothing inline that runs.
    code = [attributes for attributes in scripts if 'type="application/json"' not in attributes]
    assert code
    assert all("src=" in attributes for attributes in code)


def test_a_deploy_that_changes_the_markup_does_not_serve_older_cached_pages(
    client, quiet_page, monkeypatch
):
    first = client.get("/s/acme/")
    monkeypatch.setattr(caching, "RENDER_REVISION", caching.RENDER_REVISION + 1)
    monkeypatch.setattr(views_public, "render_to_string", lambda *a, **k: "new markup")
    assert client.get("/s/acme/", HTTP_IF_NONE_MATCH=first["ETag"]).content == b"new markup"
