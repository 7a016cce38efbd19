"""Feeds of a status page: incident history as Atom and RSS, maintenance as iCalendar.

`history.atom`/`history.rss` are Statuspage's names (reference §1.2), `feed.atom`/`feed.rss`
the DESIGN.md aliases; both serve the same document. Each item is an incident or maintenance
with all of its updates, newest first. `maintenance.ics` is written by hand per RFC 5545.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import feedgenerator, translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_safe

from apps.core.text import staff_text_html
from apps.core.validators import strip_control_characters
from apps.forum.counts import NONE, DiscussionCounts, discussion_counts
from apps.incidents.models import Incident, IncidentStatus, Kind, Postmortem
from apps.organizations.models import Organization

from . import api_v2
from .caching import public_response
from .dates import local_format

FEED_LIMIT = 50


def _absolute(request: HttpRequest, name: str, *args: str) -> str:
    return request.build_absolute_uri(reverse(f"public:{name}", args=args))


def _local(value: datetime, organization: Organization) -> str:
    return local_format(value.astimezone(organization.tzinfo), "short", zone=True)


def item_description(
    incident: Incident,
    organization: Organization,
    postmortem: Postmortem | None = None,
    discussion: DiscussionCounts = NONE,
    discussion_url: str = "",
) -> str:
    """HTML like Statuspage's feed items: each update's time, status and text, newest first;
    a published postmortem's summary first, with a link to read it whole. Staff text follows
    the status page's rule (apps/core/text.py): escaped, its paragraphs and links kept. Last,
    the discussion's comment and affected counts, linked to it, when there are any."""
    parts = []
    if postmortem is not None:
        heading = escape(pgettext("heading", "Postmortem"))
        read = escape(
            _(
                "Read what happened and what is changing so it does not happen again on the "
                "incident's page."
            )
        )
        parts.append(
            f"<p><strong>{heading}</strong></p>{staff_text_html(postmortem.summary)}<p>{read}</p>"
        )
    if incident.kind == Kind.MAINTENANCE and incident.scheduled_for:
        start = _local(incident.scheduled_for, organization)
        if incident.scheduled_until:
            # Translators: a feed item of a scheduled maintenance, in capitals as Statuspage's.
            notice = _("THIS IS A SCHEDULED EVENT %(start)s to %(end)s") % {
                "start": start,
                "end": _local(incident.scheduled_until, organization),
            }
        else:
            notice = _("THIS IS A SCHEDULED EVENT %(start)s") % {"start": start}
        parts.append(f"<p><strong>{escape(notice)}</strong></p>")
    for update in incident.public_updates:
        parts.append(
            f"<p><small>{escape(_local(update.display_at, organization))}</small><br>"
            f"<strong>{escape(update.get_status_display())}</strong></p>"
            f"{staff_text_html(update.body)}"
        )
    if incident.public_components:
        names = ", ".join(component.display_name for component in incident.public_components)
        affected = _("This incident affected: %(names)s.") % {"names": names}
        parts.append(f"<p>{escape(affected)}</p>")
    if discussion and discussion_url:
        label = escape(_("Discussion:"))
        parts.append(
            f'<p>{label} <a href="{escape(discussion_url)}">{escape(discussion.text)}</a></p>'
        )
    return "".join(parts)


def _history_feed(request: HttpRequest, feed_class: type[feedgenerator.SyndicationFeed]) -> str:
    organization = request.organization
    tree = api_v2.load_components(organization)
    queryset = api_v2.incidents_queryset(organization)[:FEED_LIMIT]
    incidents = api_v2.load_incidents(organization, queryset, tree)
    feed_url_name = "history-atom" if feed_class is feedgenerator.Atom1Feed else "history-rss"
    # XML cannot carry control characters (feedgenerator raises UnserializableContentError):
    # input refuses them (apps/core/validators.py), and every text is stripped here too, so a
    # row stored before that rule never breaks the feed. The channel description is text that
    # some RSS readers render as HTML: the name in it is escaped.
    feed = feed_class(
        title=strip_control_characters(_("%(name)s status") % {"name": organization.name}),
        link=_absolute(request, "page"),
        description=escape(
            strip_control_characters(
                _("Incidents and scheduled maintenance of %(name)s") % {"name": organization.name}
            )
        ),
        language=translation.get_language() or "en",
        feed_url=_absolute(request, feed_url_name),
        feed_guid=_absolute(request, feed_url_name),
    )
    # One more query, only when a listed incident has a published postmortem.
    with_postmortem = [i.pk for i in incidents if i.status == IncidentStatus.POSTMORTEM]
    postmortems: dict[int, Postmortem] = {}
    if with_postmortem:
        published = (
            Postmortem.objects.for_org(organization)
            .filter(incident_id__in=with_postmortem, published_at__isnull=False)
            .only("incident_id", "summary")
        )
        postmortems = {postmortem.incident_id: postmortem for postmortem in published}
    discussions = discussion_counts(organization, (incident.pk for incident in incidents))
    for incident in incidents:
        url = _absolute(request, "incident", incident.public_id)
        feed.add_item(
            title=strip_control_characters(incident.name),
            link=url,
            description=strip_control_characters(
                item_description(
                    incident,
                    organization,
                    postmortems.get(incident.pk),
                    discussions.get(incident.pk, NONE),
                    f"{url}#discussion",
                )
            ),
            unique_id=url,
            unique_id_is_permalink=True,
            pubdate=incident.started_at,
            updateddate=incident.updated_at,
        )
    # An empty feed still needs <updated> (Atom requires it): fall back to the organization's.
    if not incidents:
        feed.latest_post_date = lambda: organization.updated_at  # type: ignore[method-assign]
    return feed.writeString("utf-8")


@require_safe
def atom(request: HttpRequest) -> HttpResponse:
    return public_response(
        request,
        "history.atom",
        lambda: (
            _history_feed(request, feedgenerator.Atom1Feed),
            "application/atom+xml; charset=utf-8",
        ),
        cors=True,
    )


@require_safe
def rss(request: HttpRequest) -> HttpResponse:
    return public_response(
        request,
        "history.rss",
        lambda: (
            _history_feed(request, feedgenerator.Rss201rev2Feed),
            "application/rss+xml; charset=utf-8",
        ),
        cors=True,
    )


# --- iCalendar (RFC 5545) --------------------------------------------------------------------


def ics_escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 3.3.11): backslash, semicolon, comma, newline. Control
    characters are not allowed in a TEXT value: they are dropped (input refuses them; a row
    stored before that rule must not break the calendar)."""
    return (
        strip_control_characters(text)
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


def ics_fold(line: str) -> str:
    """Fold a content line into chunks of at most 75 octets (RFC 5545 3.1), continuation lines
    starting with one space, never splitting a UTF-8 character."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    chunks: list[str] = []
    current = ""
    size = 0
    limit = 75
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            chunks.append(current)
            current, size = "", 0
            limit = 74  # the leading space counts toward the next line's 75 octets
        current += char
        size += width
    chunks.append(current)
    return "\r\n ".join(chunks)


def ics_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_lines(
    request: HttpRequest, organization: Organization, maintenances: Iterable[Incident]
) -> list[str]:
    host = request.get_host().split(":")[0] or "candor"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Candor//Status page maintenance//EN",
        "CALSCALE:GREGORIAN",
        "X-WR-CALNAME:" + ics_escape(_("%(name)s maintenance") % {"name": organization.name}),
        "X-PUBLISHED-TTL:PT1H",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
    ]
    for item in maintenances:
        if item.scheduled_for is None:
            continue
        latest = item.public_updates[0].body if item.public_updates else ""
        affected = ", ".join(component.display_name for component in item.public_components)
        if affected:
            # Translators: in a maintenance's calendar event, after its latest update.
            latest += "\n\n" + _("Affected: %(names)s") % {"names": affected}
        description = latest
        url = _absolute(request, "incident", item.public_id)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{item.public_id}@{host}",
            # No METHOD in this calendar, so DTSTAMP is when the event was last revised
            # (RFC 5545 3.8.7.2); it also keeps the document identical between renderings.
            f"DTSTAMP:{ics_time(item.updated_at)}",
            f"LAST-MODIFIED:{ics_time(item.updated_at)}",
            f"DTSTART:{ics_time(item.scheduled_for)}",
        ]
        if item.scheduled_until:
            lines.append(f"DTEND:{ics_time(item.scheduled_until)}")
        lines += [
            f"SUMMARY:{ics_escape(item.name)}",
            f"DESCRIPTION:{ics_escape(description)}",
            f"URL:{url}",
            "STATUS:CONFIRMED",
            f"X-CANDOR-STATUS:{item.status}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return lines


def _calendar(request: HttpRequest) -> str:
    organization = request.organization
    tree = api_v2.load_components(organization)
    queryset = (
        Incident.objects.for_org(organization)
        .filter(kind=Kind.MAINTENANCE, scheduled_for__isnull=False)
        .order_by("-scheduled_for", "-id")[:FEED_LIMIT]
    )
    maintenances = api_v2.load_incidents(organization, queryset, tree)
    return "".join(
        ics_fold(line) + "\r\n" for line in calendar_lines(request, organization, maintenances)
    )


@require_safe
def maintenance_ics(request: HttpRequest) -> HttpResponse:
    response = public_response(
        request,
        "maintenance.ics",
        lambda: (_calendar(request), "text/calendar; charset=utf-8"),
        cors=True,
    )
    response["Content-Disposition"] = 'inline; filename="maintenance.ics"'
    return response
