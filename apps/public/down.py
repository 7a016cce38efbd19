"""The outage page: what an organization's load balancer or CDN shows when its own site fails.

`down/` on the status page is one self-contained HTML document (inline CSS and script: the
script is static/js/down.js, put inline here and allowed by the CSP by its hash; absolute
links, no other request needed to show it): what is happening, the latest update, when the
next one is due, a link to each incident's discussion and a subscribe form. Point the error
page of a load balancer or CDN at it, or download the same document from the dashboard
(`download_response`) and upload it as a static error page: it shows the state it was saved
with and, whenever the status page is reachable, refreshes itself from `embed.json` (CORS).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from apps.core.csp import inline_script
from apps.organizations.models import Organization

from .caching import public_response
from .dates import local_format
from .embed import banner_data, page_url, strings

HTML = "text/html; charset=utf-8"
TEMPLATE = "status/public/down.html"


def _local(iso: str | None, tz: ZoneInfo) -> str:
    moment = parse_datetime(iso) if iso else None
    if moment is None:
        return ""
    return local_format(moment.astimezone(tz), "short", zone=True)


def render_down(organization: Organization, url: str, *, saved_at: datetime | None = None) -> str:
    """The outage page for the status page at `url` (absolute, ending in "/"). With
    `saved_at`, it says it is a copy saved then (the dashboard's download)."""
    data = banner_data(organization, url)
    tz = organization.tzinfo
    # Absolute times in the page's zone: the script rewrites them in the reader's zone, and
    # adds "in 12 min" (a cached page cannot say how long ago anything was).
    items: list[dict[str, Any]] = [
        {
            **item,
            "updated_text": _local(item["updated_at"], tz),
            "next_text": _local(item["next_update_due"], tz),
        }
        for item in data["items"]
    ]
    context = {
        "organization": organization,
        "page": data["page"],
        "items": items,
        # What the script compares embed.json with: it redraws only when something changed
        # (redrawing the same state would move links from under a reader's finger).
        "shown_items": data["items"],
        "embed_json_url": url + "embed.json",
        "saved_at": _local(saved_at.isoformat(), tz) if saved_at else "",
        "timezone_name": organization.timezone,
        # The script's words in the page's language (a JSON block: data, not script).
        "strings": strings(),
        # Rendered without a request (a download has none): the language is set here.
        "LANGUAGE_CODE": translation.get_language() or "en",
        # Inline, not a <script src>: a saved copy must work with nothing else reachable. The
        # policy allows this exact text by hash (apps/core/csp.py); it is our static file, with
        # no rendered data in it (the page's data is in attributes and a JSON block).
        "down_script": mark_safe(inline_script("js/down.js")),  # noqa: S308 (our own file)
    }
    return render_to_string(TEMPLATE, context)


@require_safe
def down(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    url = page_url(request)
    return public_response(request, "down", lambda: (render_down(organization, url), HTML))


def download_response(organization: Organization) -> HttpResponse:
    """The outage page as one file to save, with the state it has now and the canonical
    address of the status page (custom domain if verified) to refresh from."""
    body = render_down(organization, organization.public_url, saved_at=timezone.now())
    response = HttpResponse(body, content_type=HTML)
    response["Content-Disposition"] = f'attachment; filename="{organization.slug}-outage-page.html"'
    response["Cache-Control"] = "private, no-store"
    return response
