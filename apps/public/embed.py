"""The banner an organization puts on its own site: `embed.js` and the `embed.json` it reads.

One tag on the organization's site, `<script src="<status page>/embed.js" async></script>`,
shows a dismissible banner while an incident is unresolved or a maintenance is in progress,
linking to the incident page's discussion. The script (static/js/embed.js) is the same for
every organization: it finds the page it belongs to from its own `src`, so it works on
`/s/<slug>/`, on `<slug>.<STATUS_PAGE_DOMAIN>` and on a custom domain alike, and fetches
`embed.json` from there (CORS, no credentials, no cookies). Both are public reads answered
through `public_response`: cached per content version, revalidated by ETag.

`embed.json` is also what the outage page (down.py) refreshes itself from: a small, stable
document with what a reader needs during an outage (the status API's summary.json has no
"next update by" and carries every component).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy
from django.views.decorators.http import require_safe

from apps.core.text import staff_text_plain
from apps.incidents.models import ACTIVE_MAINTENANCE, Incident, Kind, MaintenanceStatus
from apps.organizations.models import Organization

from . import api_v2
from .caching import public_response

JS_CONTENT_TYPE = "text/javascript; charset=utf-8"
# The document's shape; bump when a field changes meaning (downloaded outage pages read it).
FORMAT_VERSION = 1
# The latest update's text in the banner data: enough for the outage page's summary.
UPDATE_TEXT_LIMIT = 600
# Where the served script gets its words: static/js/embed.js has the English ones between
# these marks, replaced by the reader's language's when it is served.
STRINGS_MARKS = re.compile(r"/\*candor:strings\*/.*?/\*candor:end\*/", re.DOTALL)
# The banner's words (the outage page has the others too).
BANNER_WORDS = (
    "lang",
    "serviceStatus",
    "updated",
    "nextBy",
    "nextDue",
    "details",
    "dismissName",
    "dismiss",
)

# A maintenance's state as the banner and the outage page say it.
MAINTENANCE_LABEL: dict[str, Any] = {
    MaintenanceStatus.SCHEDULED: pgettext_lazy("maintenance", "Maintenance scheduled"),
    MaintenanceStatus.IN_PROGRESS: pgettext_lazy("maintenance", "Maintenance in progress"),
    MaintenanceStatus.VERIFYING: pgettext_lazy("maintenance", "Maintenance verifying"),
    MaintenanceStatus.COMPLETED: pgettext_lazy("maintenance", "Maintenance completed"),
}


def item_label(kind: str, status: str, status_label: str) -> str:
    """What the banner and the outage page say of an item's state: "Maintenance in progress",
    or the incident's status ("Identified")."""
    if kind == Kind.MAINTENANCE and status in MAINTENANCE_LABEL:
        return str(MAINTENANCE_LABEL[status])
    return str(status_label)


def strings() -> dict[str, Any]:
    """The words of the banner (static/js/embed.js) and the outage page (static/js/down.js) in
    the active language. `{name}` marks are filled in by the scripts; "in 5 minutes" and
    "5 minutes ago" come from the browser's Intl.RelativeTimeFormat."""
    return {
        "lang": translation.get_language() or "en",
        "serviceStatus": _("Service status"),
        # Translators: in the banner; {time} is e.g. "14:30", {ago} e.g. "5 minutes ago".
        "updated": _("Updated %(time)s (%(ago)s)") % {"time": "{time}", "ago": "{ago}"},
        # Translators: in the banner; {time} is e.g. "14:30", {in} e.g. "in 20 minutes".
        "nextBy": _("Next update by %(time)s (%(in)s)") % {"time": "{time}", "in": "{in}"},
        # Translators: in the banner; {time} is e.g. "14:30", {ago} e.g. "5 minutes ago".
        "nextDue": _("Next update was due %(time)s (%(ago)s)") % {"time": "{time}", "ago": "{ago}"},
        "details": _("Details and discussion"),
        # Translators: the banner's close button, read by screen readers; {name}: the incident.
        "dismissName": _("Dismiss: %(name)s") % {"name": "{name}"},
        "dismiss": _("Dismiss"),
        "notResponding": _("This service is not responding right now"),
        "nothingPosted": _(
            "Nothing has been posted about it yet. If it lasts, our status page will say what "
            "we know."
        ),
        "working": _("We know something is wrong and we are working on it"),
        "lastUpdated": _("Last updated"),
        "nextUpdateBy": _("Next update by"),
        "readEvery": _("Read every update and the discussion"),
        # Translators: on the outage page; {time} is e.g. "Dec 7, 14:30".
        "checked": _(
            "Checked with the status page at %(time)s; this page checks again every minute."
        )
        % {"time": "{time}"},
        # Translators: a time and how long ago or ahead it is, e.g. "14:30 (in 20 minutes)".
        "timeRelative": pgettext("time and relative time", "%(time)s (%(relative)s)")
        % {"time": "{time}", "relative": "{relative}"},
    }


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def active_items(organization: Organization) -> list[Incident]:
    """Unresolved incidents, then maintenances in progress or verifying (not the scheduled
    ones: nothing is happening yet), each with `public_updates` newest first."""
    tree = api_v2.load_components(organization)
    items = api_v2.load_incidents(organization, api_v2.open_items_queryset(organization), tree)
    incidents = [item for item in items if item.kind == Kind.INCIDENT]
    maintenances = api_v2.by_schedule(
        item
        for item in items
        if item.kind == Kind.MAINTENANCE and item.status in ACTIVE_MAINTENANCE
    )
    return incidents + maintenances


def began_at(item: Incident) -> datetime | None:
    """When it began for readers: a maintenance's window start, an incident's start."""
    if item.kind == Kind.MAINTENANCE and item.scheduled_for:
        return item.scheduled_for
    return item.started_at


def item_json(item: Incident, page_url: str) -> dict[str, Any]:
    latest = item.public_updates[0] if item.public_updates else None
    incident_url = f"{page_url}incidents/{item.public_id}/"
    text = staff_text_plain(latest.body) if latest else ""
    if len(text) > UPDATE_TEXT_LIMIT:
        text = text[: UPDATE_TEXT_LIMIT - 1].rstrip() + "…"
    return {
        "id": item.public_id,
        "kind": item.kind,
        "name": item.name,
        "status": item.status,
        "status_label": item.get_status_display(),
        # The state as the banner and the outage page say it ("Maintenance in progress").
        "label": item_label(item.kind, item.status, item.get_status_display()),
        "impact": item.impact,
        "started_at": iso(began_at(item)),
        "updated_at": iso(latest.display_at if latest else item.started_at),
        "latest_update": text,
        # Only an incident promises a next update; None when staff gave no time.
        "next_update_due": iso(item.next_update_due) if item.kind == Kind.INCIDENT else None,
        "url": incident_url,
        "discussion_url": incident_url + "#discussion",
    }


def banner_data(organization: Organization, page_url: str) -> dict[str, Any]:
    """What the banner and the outage page show. `page_url` is the status page's absolute
    address, ending in "/" (the request's, or the canonical one for a download)."""
    return {
        "version": FORMAT_VERSION,
        "page": {
            "name": organization.name,
            "url": page_url,
            "subscribe_url": page_url + "subscribe/",
        },
        "banner": {
            "position": organization.banner_position,
            "background": organization.banner_background,
            "text": organization.banner_text_color,
        },
        "items": [item_json(item, page_url) for item in active_items(organization)],
    }


def page_url(request: HttpRequest) -> str:
    """The status page's absolute address as this request reached it (custom domain, tenant
    host or /s/<slug>/): links in the banner lead back where the script came from."""
    return request.build_absolute_uri(reverse("public:page"))


def compact(source: str) -> str:
    """The script without indentation, blank lines and `//` comment lines: the readable source
    stays in the repository, readers download under 5 KB. Only whole lines are touched, and
    embed.js keeps no string or template literal across lines, so nothing else changes."""
    lines = (line.strip() for line in source.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//")) + "\n"


@cache
def script_template() -> str:
    """static/js/embed.js, compacted, read once per process."""
    found = finders.find("js/embed.js")
    if not found:
        raise FileNotFoundError("static/js/embed.js is missing")
    source = compact(Path(str(found)).read_text(encoding="utf-8"))
    if not STRINGS_MARKS.search(source):
        raise ValueError("static/js/embed.js has no /*candor:strings*/ ... /*candor:end*/")
    return source


@cache
def _script_in(language: str) -> str:
    # The script is fetched cross-site, so the reader's Accept-Language (the only thing a
    # foreign page lets us know) picks the words, put into the script itself: no second request.
    words = {key: value for key, value in strings().items() if key in BANNER_WORDS}
    encoded = json.dumps(words, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return STRINGS_MARKS.sub(lambda _match: encoded, script_template(), count=1)


def script_source() -> str:
    """The banner's script with its words in the active language."""
    return _script_in(translation.get_language() or "en")


@require_safe
def script(request: HttpRequest) -> HttpResponse:
    # The same script for every organization, cached (and validated) like the other public
    # reads so a deploy that changes it reaches readers at once through its ETag.
    return public_response(
        request, "embed.js", lambda: (script_source(), JS_CONTENT_TYPE), cors=True
    )


@require_safe
def data(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    url = page_url(request)

    def render() -> tuple[str, str]:
        return api_v2.encode(banner_data(organization, url)), api_v2.JSON_CONTENT_TYPE

    return public_response(request, "embed.json", render, cors=True)
