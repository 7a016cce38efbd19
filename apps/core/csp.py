"""The Content-Security-Policy's pieces that are not plain settings, and Permissions-Policy.

The policy itself is `CONTENT_SECURITY_POLICY` in config/settings.py (django-csp's middleware
writes it on every response). It is one policy for every page, public or dashboard, and it holds
no nonce: public pages are rendered once and served from a cache to every reader
(apps/public/caching.py), so a per-request nonce in a cached body would never match the header.
Scripts are files under static/js/; the single inline script is the outage page's, which must
stay one self-contained file (apps/public/down.py): the policy allows exactly its text by hash.

This module reads files only (no models, no settings), so config/settings.py can import it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponseBase

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"

# Static scripts that are put inline (never loaded by URL), each allowed by the hash of its text.
INLINE_SCRIPTS = ("js/down.js",)

# Browser features no Candor page uses, switched off for the page and anything it embeds.
# Only names Chromium knows: an unknown one costs a console error on every page. Left out on
# purpose: publickey-credentials-get/-create (security keys and passkeys in two-factor sign-in),
# clipboard-write (the "Copy" buttons), fullscreen.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)


@cache
def inline_script(name: str) -> str:
    """The text of static/<name>, as put between <script> and </script>."""
    text = (STATIC_DIR / name).read_text(encoding="utf-8")
    if "</script" in text.lower():
        # The HTML parser would end the element there, and the hash would no longer match.
        raise ValueError(f"static/{name} cannot be inlined: it contains '</script'")
    return text


def script_hash(text: str) -> str:
    """The CSP source expression allowing exactly this inline script text."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def inline_script_hashes() -> list[str]:
    return [script_hash(inline_script(name)) for name in INLINE_SCRIPTS]


class PermissionsPolicyMiddleware:
    """Adds Permissions-Policy to every response that does not set its own (Django has no
    setting for it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if "Permissions-Policy" not in response:
            response["Permissions-Policy"] = PERMISSIONS_POLICY
        return response
