"""Cached public pages never cross languages: the rendering cache (apps/public/caching.py) and
the fast path's memory (apps/public/fastpath.py) keep one copy per language."""

from __future__ import annotations

import re

import pytest

from apps.public import fastpath
from tests.factories import ComponentFactory

READERS = [
    ({"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}, "de"),
    ({"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}, "en"),
    ({"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9", "HTTP_COOKIE": "candor_language=ja"}, "ja"),
    ({}, "en"),
    ({"HTTP_ACCEPT_LANGUAGE": "fr-CA"}, "fr"),
    ({"HTTP_ACCEPT_LANGUAGE": "es", "HTTP_ACCEPT_ENCODING": "gzip"}, "es"),
]
URLS = ["/s/acme/", "/s/acme/history/", "/s/acme/live/"]


@pytest.fixture
def page(org):
    ComponentFactory(organization=org, name="API")
    return org


def _html_lang(response) -> str | None:
    body = response.content
    if response.get("Content-Encoding") == "gzip":
        import gzip

        body = gzip.decompress(body)
    match = re.search(rb'<html[^>]* lang="([a-z-]+)"', body)
    return match[1].decode() if match else None


@pytest.mark.parametrize("url", URLS)
def test_alternating_languages_against_one_warm_cache(client, page, url):
    # Three rounds: the first renders, the next ones come from the cache and the fast path.
    for _round in range(3):
        for headers, language in READERS:
            client.cookies.clear()
            response = client.get(url, **headers)
            assert response.status_code == 200
            assert response["Content-Language"] == language, (url, headers)
            assert _html_lang(response) == language, (url, headers)
    assert len(fastpath.memory) >= len({tuple(sorted(h.items())) for h, _l in READERS})
