"""Uploaded logos and favicons are served by the application, safely, on every kind of host."""

from __future__ import annotations

import pytest


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "branding" / "logos").mkdir(parents=True)
    (tmp_path / "branding" / "logos" / "acme-logo.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    (tmp_path / "secret.txt").write_text("not for you")
    (tmp_path / "branding" / "logos" / "evil.svg").write_text("<svg onload=alert(1)>")
    return tmp_path


def test_a_logo_is_served_with_a_fixed_type_and_long_cache(client, media):
    response = client.get("/media/branding/logos/acme-logo.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in response["Cache-Control"]
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_a_logo_is_served_on_a_status_page_host_too(client, media, org):
    response = client.get("/media/branding/logos/acme-logo.png", HTTP_HOST="acme.status.localhost")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/media/branding/logos/evil.svg",  # never SVG, even if one got on disk
        "/media/branding/logos/missing.png",
        "/media/branding/other/acme-logo.png",
        "/media/branding/logos/..%2F..%2Fsecret.txt",
        "/media/secret.txt",
    ],
)
def test_nothing_else_under_media_is_served(client, media, path):
    assert client.get(path).status_code == 404
