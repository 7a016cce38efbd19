"""Template helpers of the public pages in the reader's language: localized dates and the
words the pages' scripts show (static/js/localtime.js, live.js, uptime.js)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.public.dates import local_format, time_html

register = template.Library()


@register.filter(expects_localtime=True)
def localdate(value: date | datetime | None, kind: str = "datetime") -> str:
    """`{{ when|localdate:"short" }}`: the date in the active language (apps/public/dates.py)."""
    return local_format(value, kind)


@register.filter(expects_localtime=True)
def localdate_tz(value: datetime | None, kind: str = "datetime") -> str:
    """As `localdate`, followed by the time zone's abbreviation ("14:30 CET")."""
    return local_format(value, kind, zone=True)


def js_strings() -> dict[str, str]:
    """Words the public pages' scripts show, in the active language. `{name}` marks are filled
    in by the scripts; each message is the one the server uses for the same text, so a page
    reads the same before and after its script runs."""
    return {
        "justNow": _("just now"),
        # Translators: the status page's "last checked" line; {when} is e.g. "5 minutes ago".
        "updated": _("Updated %(when)s") % {"when": "{when}"},
        "pageUpdated": _("The status page was updated."),
        "nextUpdateBy": _("Next update by"),
        "updateOverdueSince": _("Update overdue since"),
        # Translators: after "Next update by 14:30"; {when} is e.g. "in 12 minutes".
        "inParentheses": pgettext("time left", "(%(when)s)") % {"when": "{when}"},
        # Translators: a day of an uptime bar; {date} is e.g. "Dec 7, 2026".
        "dayNoData": _("%(date)s: no data") % {"date": "{date}"},
        # Translators: a day of an uptime bar; {date} is e.g. "Dec 7, 2026", {percent} "99.95".
        "dayUptime": _("%(date)s: %(percent)s %% uptime")
        % {"date": "{date}", "percent": "{percent}"},
    }


@register.simple_tag
def public_js_strings() -> dict[str, str]:
    """`{% public_js_strings as strings %}{{ strings|json_script:"candor-strings" }}`."""
    return js_strings()


@register.simple_tag
def now_html(zone: str) -> SafeString:
    """`{% now_html page_tz as when %}`: now as a `<time>` (apps.public.dates.time_html)."""
    return time_html(timezone.now(), ZoneInfo(zone))
