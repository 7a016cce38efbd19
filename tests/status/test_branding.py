"""Branding uploads: only real raster images of sane size are stored; admins and owners only."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from apps.organizations.models import AuditEntry

SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script></svg>"
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media_root) -> list:
    return [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "#2563eb").save(buffer, format=fmt)
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def branding_data(**overrides) -> dict:
    data = {
        "accent_color": "#0f766e",
        "website_url": "https://acme.test",
        "support_url": "https://acme.test/help",
        "footer_text": "Acme Cloud, Inc.",
    }
    data.update(overrides)
    return data


def branding_url(org) -> str:
    return reverse("status:branding", args=[org.slug])


def test_admin_saves_branding_with_a_png_logo(client, admin, org, media_root):
    client.force_login(admin)

    response = client.post(branding_url(org), branding_data(logo=upload("logo.png", image_bytes())))

    assert response.status_code == 302
    org.refresh_from_db()
    assert org.logo.name.endswith(".png")
    assert "logo.png" not in org.logo.name  # a fresh random name, not the uploader's
    assert (org.accent_color, org.footer_text) == ("#0f766e", "Acme Cloud, Inc.")
    assert len(stored_files(media_root)) == 1
    assert AuditEntry.objects.filter(action="branding.update").count() == 1


def test_ico_favicon_is_accepted(client, owner, org, media_root):
    client.force_login(owner)

    response = client.post(
        branding_url(org),
        branding_data(favicon=upload("favicon.ico", image_bytes("ICO", (32, 32)), "image/x-icon")),
    )

    assert response.status_code == 302
    org.refresh_from_db()
    assert org.favicon.name.endswith(".ico")


@pytest.mark.parametrize(
    ("field", "file", "message"),
    [
        ("logo", upload("logo.svg", SVG, "image/svg+xml"), b"SVG images are not accepted"),
        ("logo", upload("logo.png", SVG, "image/png"), b"SVG images are not accepted"),
        ("favicon", upload("favicon.svg", SVG, "image/svg+xml"), b"SVG images are not accepted"),
        ("logo", upload("logo.png", b"just some text, honest\n" * 10), b"not an image"),
        ("logo", upload("logo.png", image_bytes()[:60]), b"not an image"),
        ("logo", upload("logo.png", image_bytes("BMP")), b"must be PNG, JPEG, GIF, WebP"),
        ("logo", upload("huge.png", b"\x89PNG" + b"0" * (1024 * 1024 + 1)), b"too large"),
        ("favicon", upload("favicon.png", image_bytes("PNG", (600, 600))), b"600 by 600"),
        ("favicon", upload("favicon.png", b"\x89PNG" + b"0" * (256 * 1024 + 1)), b"too large"),
        ("logo", upload("logo.png", image_bytes("PNG", (8000, 10))), b"8000 by 10"),
    ],
    ids=[
        "svg",
        "svg-renamed-png",
        "svg-favicon",
        "text-renamed-png",
        "truncated-png",
        "bmp",
        "logo-over-1mb",
        "favicon-too-big-in-pixels",
        "favicon-over-256kb",
        "logo-absurd-dimensions",
    ],
)
def test_bad_upload_is_rejected_and_nothing_is_stored(
    client, admin, org, media_root, field, file, message
):
    client.force_login(admin)

    response = client.post(branding_url(org), branding_data(**{field: file}))

    assert response.status_code == 200
    assert message in response.content
    assert b'class="errorlist' in response.content
    assert stored_files(media_root) == []
    org.refresh_from_db()
    assert (org.logo.name, org.favicon.name, org.accent_color) == ("", "", "#2563eb")


def test_javascript_url_is_rejected(client, admin, org):
    client.force_login(admin)

    response = client.post(branding_url(org), branding_data(website_url="javascript:alert(1)"))

    assert response.status_code == 200
    org.refresh_from_db()
    assert org.website_url == ""


def test_replacing_a_logo_deletes_the_old_file(
    client, admin, org, media_root, django_capture_on_commit_callbacks
):
    client.force_login(admin)
    client.post(branding_url(org), branding_data(logo=upload("a.png", image_bytes())))

    with django_capture_on_commit_callbacks(execute=True):
        client.post(branding_url(org), branding_data(logo=upload("b.gif", image_bytes("GIF"))))

    org.refresh_from_db()
    assert [p.name for p in stored_files(media_root)] == [org.logo.name.rsplit("/", 1)[-1]]


def test_remove_logo(client, admin, org, media_root, django_capture_on_commit_callbacks):
    client.force_login(admin)
    client.post(branding_url(org), branding_data(logo=upload("a.png", image_bytes())))

    with django_capture_on_commit_callbacks(execute=True):
        client.post(branding_url(org), branding_data(remove_logo="on"))

    org.refresh_from_db()
    assert org.logo.name == ""
    assert stored_files(media_root) == []


def test_editor_and_viewer_get_403(client, editor, viewer, org):
    for user in (editor, viewer):
        client.force_login(user)
        assert client.get(branding_url(org)).status_code == 403
        assert client.post(branding_url(org), branding_data()).status_code == 403


def test_outsider_gets_404(client, outsider, org):
    client.force_login(outsider)

    assert client.get(branding_url(org)).status_code == 404
    assert client.post(branding_url(org), branding_data()).status_code == 404
