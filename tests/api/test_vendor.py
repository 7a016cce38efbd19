"""The vendored Redoc bundle is the pinned one (static/vendor/README.md) and /api/redoc/ serves
it from our own static files, never from a CDN."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from apps.api.docs import REDOC_BUNDLE

VENDOR = Path(__file__).resolve().parents[2] / "static" / "vendor"
REDOC_VERSION = "2.5.4"
# redoc 2.5.4's bundles/redoc.standalone.js without its sourceMappingURL line and with the
# footer logo's CDN URL replaced by an empty inline image (README says why).
REDOC_SHA256 = "d51ec1a802813b0a8bdbf6ebee00d25dabed674c9e1a57a1f9395be302aea53c"


def test_the_redoc_bundle_is_the_pinned_file():
    data = (VENDOR / "redoc" / "redoc.standalone.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == REDOC_SHA256
    # Django's manifest storage would fail collectstatic on a map file we do not ship.
    assert not re.search(rb"(?m)^//# sourceMappingURL=", data)
    # Nothing in it asks a third party for anything at run time.
    assert b"cdn.redoc.ly" not in data


def test_the_readme_records_the_same_version_and_hash():
    readme = (VENDOR / "README.md").read_text()
    assert f"| {REDOC_VERSION} |" in readme
    assert REDOC_SHA256 in readme
    assert (VENDOR / "redoc" / "LICENSE").is_file()


def test_the_view_points_at_the_vendored_file():
    assert (VENDOR.parent / REDOC_BUNDLE).is_file()


@pytest.mark.django_db
def test_redoc_loads_nothing_from_elsewhere(client):
    response = client.get("/api/redoc/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<script src="/static/vendor/redoc/redoc.standalone.js"></script>' in html
    assert "cdn" not in html.lower()
    assert "fonts.googleapis" not in html
    # The <redoc> element starts Redoc: no inline script.
    assert '<redoc spec-url="/api/schema/"></redoc>' in html
    assert "<script>" not in html
