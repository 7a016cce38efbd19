"""`badge.svg`: the page's overall status, or one component's (`?component=<public id>`), as a
small badge for READMEs and dashboards, cached like the page (public_response, ETag/304).

Flat, two-part, in the style READMEs already show: the name on the left, the status word on the
right in a colour that keeps white text at WCAG AA contrast. The word is always there, so colour
is never the only signal; the SVG is an image with a title and an aria-label saying both.
"""

from __future__ import annotations

import unicodedata

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_safe

from apps.status.models import Component, ComponentStatus

from . import api_v2
from .caching import public_response

SVG_CONTENT_TYPE = "image/svg+xml; charset=utf-8"
NAME_LIMIT = 40
LABEL_COLOUR = "#4b5563"
# White text on each reaches at least 4.5:1 (tests/public/test_badge.py checks).
COLOURS = {
    "operational": "#1a7f37",
    "maintenance": "#0969da",
    "minor": "#9a6700",
    "major": "#bc4c00",
    "critical": "#cf222e",
}
# The words are in the reader's language (the badge is cached per language like the page);
# its width is measured from the words, so it fits whatever they are.
OVERALL = {
    "none": (pgettext_lazy("badge", "operational"), "operational"),
    "maintenance": (pgettext_lazy("badge", "maintenance"), "maintenance"),
    "minor": (pgettext_lazy("badge", "minor issues"), "minor"),
    "major": (pgettext_lazy("badge", "partial outage"), "major"),
    "critical": (pgettext_lazy("badge", "major outage"), "critical"),
}
COMPONENT = {
    ComponentStatus.OPERATIONAL: (pgettext_lazy("badge", "operational"), "operational"),
    ComponentStatus.UNDER_MAINTENANCE: (pgettext_lazy("badge", "maintenance"), "maintenance"),
    ComponentStatus.DEGRADED_PERFORMANCE: (pgettext_lazy("badge", "degraded"), "minor"),
    ComponentStatus.PARTIAL_OUTAGE: (pgettext_lazy("badge", "partial outage"), "major"),
    ComponentStatus.MAJOR_OUTAGE: (pgettext_lazy("badge", "major outage"), "critical"),
}
# Approximate advance widths of 11 px Verdana (the badge font), in pixels; others count 7.
NARROW = set("fijlrtI.,:;'|!()[] ")
WIDE = set("mwMWOQGDHNU@%&")
FONT = "Verdana,DejaVu Sans,Geneva,sans-serif"


def text_width(text: str) -> int:
    width = 0.0
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            # A CJK character (Japanese words) is as wide as the font is high, or near it.
            width += 11.0
        elif char in NARROW:
            width += 3.9
        elif char in WIDE:
            width += 9.5
        elif char.isupper() or char.isdigit():
            width += 7.5
        else:
            width += 6.6
    return round(width)


def shorten(name: str) -> str:
    return name if len(name) <= NAME_LIMIT else name[: NAME_LIMIT - 1].rstrip() + "…"


def badge_svg(label: str, message: str, tone: str) -> str:
    label, full_label = shorten(label), label
    left = text_width(label) + 12
    right = text_width(message) + 12
    total = left + right
    title = escape(f"{full_label}: {message}")
    colour = COLOURS[tone]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" '
        f'viewBox="0 0 {total} 20" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        f'<rect width="{left}" height="20" rx="3" fill="{LABEL_COLOUR}"/>'
        f'<rect x="{left}" width="{right}" height="20" rx="3" fill="{colour}"/>'
        f'<rect x="{left - 3}" width="6" height="20" fill="{colour}"/>'
        f'<rect x="{left - 3}" width="3" height="20" fill="{LABEL_COLOUR}"/>'
        f'<g fill="#fff" font-family="{FONT}" font-size="11" aria-hidden="true">'
        f'<text x="6" y="14">{escape(label)}</text>'
        f'<text x="{left + 6}" y="14">{escape(message)}</text>'
        "</g></svg>"
    )


def overall_badge(organization) -> str:
    tree = api_v2.load_components(organization)
    status = api_v2.page_status(tree, api_v2.open_items_queryset(organization))
    message, tone = OVERALL[status["indicator"]]
    return badge_svg(organization.name, str(message), tone)


def component_badge(organization, public_id: str) -> str:
    component = (
        Component.objects.for_org(organization)
        .select_related("group")
        .filter(public_id=public_id)
        .first()
    )
    if component is None:
        raise Http404(
            _(
                "There is no component “%(id)s” on this status page. Copy a component's badge "
                "from the dashboard's “Banner, badge and outage page”."
            )
            % {"id": public_id[:40]}
        )
    message, tone = COMPONENT.get(component.status, COMPONENT[ComponentStatus.OPERATIONAL])
    return badge_svg(component.display_name, str(message), tone)


@require_safe
def badge(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    public_id = request.GET.get("component", "").strip()
    if "component" in request.GET and not public_id:
        raise Http404(
            _("The component parameter is empty: give a component's id, or leave it out.")
        )
    if public_id:
        # Looked up inside render so a database failure serves the last good badge; an unknown
        # id raises before anything is cached, so the cache holds only real components.
        name = f"badge:{public_id}"

        def render() -> tuple[str, str]:
            return component_badge(organization, public_id), SVG_CONTENT_TYPE

    else:
        name = "badge"

        def render() -> tuple[str, str]:
            return overall_badge(organization), SVG_CONTENT_TYPE

    return public_response(request, name, render, cors=True)
