"""Public pages and the status API are served gzipped to clients that accept it."""

from __future__ import annotations

import gzip

import pytest
from django.db import OperationalError

from apps.public import api_v2, caching

from .test_public_page import bump, page  # noqa: F401 (fixture)

URLS = ["/s/acme/", "/s/acme/history/", "/s/acme/api/v2/summary.json", "/s/acme/history.atom"]


@pytest.mark.parametrize("url", URLS)
def test_gzip_is_the_same_body_with_its_own_etag(client, page, url):  # noqa: F811
    plain = client.get(url)
    packed = client.get(url, HTTP_ACCEPT_ENCODING="br, gzip;q=0.8")

    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content
    assert len(packed.content) < len(plain.content)
    # The body also depends on the reader's language (switcher cookie, Accept-Language).
    assert plain["Vary"] == packed["Vary"] == "Accept-Encoding, Accept-Language, Cookie"
    assert packed["ETag"] != plain["ETag"]
    assert packed["Content-Type"] == plain["Content-Type"]


def test_either_etag_revalidates(client, page):  # noqa: F811
    packed = client.get("/s/acme/", HTTP_ACCEPT_ENCODING="gzip")
    plain = client.get("/s/acme/")

    again = client.get("/s/acme/", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=packed["ETag"])
    assert again.status_code == 304
    assert again["ETag"] == packed["ETag"]
    assert client.get("/s/acme/", HTTP_IF_NONE_MATCH=plain["ETag"]).status_code == 304


@pytest.mark.parametrize("header", ["gzip;q=0", "identity", "deflate", ""])
def test_clients_that_refuse_gzip_get_the_plain_body(client, page, header):  # noqa: F811
    response = client.get("/s/acme/", HTTP_ACCEPT_ENCODING=header)

    assert "Content-Encoding" not in response
    assert b"<html" in response.content


def test_small_bodies_are_not_compressed():
    small = caching.make_rendering(b"{}", "application/json")
    large = caching.make_rendering(b"x" * 5000, "application/json")

    assert small.gzipped is None
    assert gzip.decompress(large.gzipped) == large.body


def test_a_copy_cached_before_compression_existed_reads_as_uncompressed():
    # As unpickled from the cache of an older release: no `gzipped` in the instance.
    old = object.__new__(caching.Rendering)
    old.__dict__.update(
        body=b"<html>old</html>", content_type="text/html", etag='"abc"', rendered_at=0.0
    )

    assert old.gzipped is None
    assert old.gzip_etag == '"abc-gzip"'


def test_the_stale_copy_is_compressed_too(client, org, page, monkeypatch):  # noqa: F811
    client.get("/s/acme/")
    bump(org)

    def fail(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(api_v2, "load_components", fail)
    stale = client.get("/s/acme/", HTTP_ACCEPT_ENCODING="gzip")

    assert stale["Content-Encoding"] == "gzip"
    assert b"This page may be out of date." in gzip.decompress(stale.content)
