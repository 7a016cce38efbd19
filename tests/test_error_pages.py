"""403 and 404 pages: a header and a way back; status page readers get the branded 404 with
DEBUG on too; refusals and misses log one line, never a traceback."""

from __future__ import annotations

import logging
import sys

import pytest
from django.urls import reverse

from apps.core.logs import NoClientErrorTracebacks
from tests.factories import IncidentFactory


def domains_url(org) -> str:
    return reverse("organizations:domains", args=[org.slug])


def test_the_403_page_has_the_header_and_ways_back(client, org, editor):
    client.force_login(editor)
    response = client.get(domains_url(org))

    page = response.content.decode()
    assert response.status_code == 403
    assert '<header class="topbar">' in page
    assert f'href="/dashboard/{org.slug}/">Back to the organization</a>' in page
    assert 'href="/dashboard/">Your organizations</a>' in page
    assert "Your role in this organization does not allow this." in page


@pytest.mark.parametrize(
    "path",
    ["/s/acme/incidents/nonexistent/", "/s/acme/no-such-page/"],
    ids=["view raises Http404", "no route matches"],
)
def test_a_status_page_404_is_the_branded_page_with_debug_on(client, org, settings, path):
    settings.DEBUG = True
    IncidentFactory(organization=org)

    response = client.get(path)

    page = response.content.decode()
    assert response.status_code == 404
    assert "Acme Cloud status</a>" in page  # the header names the page
    assert 'href="/s/acme/">Back to <bdi>Acme Cloud</bdi> status</a>' in page
    assert "Using the URLconf" not in page  # not Django's technical 404
    assert "Resolver404" not in page


def test_a_status_page_404_on_its_own_host_links_back_to_its_root(client, org, settings):
    settings.DEBUG = True

    response = client.get("/incidents/nonexistent/", HTTP_HOST="acme.status.localhost")

    assert response.status_code == 404
    assert 'href="/">Back to <bdi>Acme Cloud</bdi> status</a>' in response.content.decode()


def test_a_404_without_a_message_does_not_show_the_exception_class(client, org):
    response = client.get("/s/acme/no-such-page/")

    page = response.content.decode()
    assert response.status_code == 404
    assert "This page does not exist" in page
    assert "Resolver404" not in page


def test_a_403_logs_one_line_without_a_traceback(client, org, editor, caplog):
    client.force_login(editor)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get(domains_url(org))

    records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in records] == [
        f"Forbidden (Permission denied): {domains_url(org)}"
    ]
    assert records[0].exc_info is None
    assert "Traceback" not in caplog.text


def test_a_404_logs_one_line_without_a_traceback(client, org, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get("/s/acme/incidents/nonexistent/")

    records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in records] == ["Not Found: /s/acme/incidents/nonexistent/"]
    assert "Traceback" not in caplog.text


def test_a_server_error_keeps_its_traceback():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Internal Server Error: /", (), exc_info
    )
    record.status_code = 500

    assert NoClientErrorTracebacks().filter(record)
    assert record.exc_info is exc_info
