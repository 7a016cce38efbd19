"""Dates and times on public pages, in the reader's language.

English keeps the formats the pages always had ("Dec 7, 2026, 14:30 UTC"); every other
language has its own order and words (Japanese reads "2026年12月7日 14:30", German "7. Dez 2026,
14:30"). Month and day names come from Django's catalogs for the active language, so
only the order lives here. Django's own named formats are not used for English because they
would change what English readers have always seen ("Dec. 7, 2026, 2:30 p.m.").
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from django.utils import dateformat, translation
from django.utils.html import format_html
from django.utils.safestring import SafeString

# Django date-format strings (https://docs.djangoproject.com/en/5.2/ref/templates/builtins/#date)
# by purpose and language. Backslash-escaped letters are literal.
FORMATS: dict[str, dict[str, str]] = {
    # A moment with its day, year and time: titles, timelines, postmortems.
    "datetime": {
        "en": "M j, Y, H:i",
        "de": "j. M Y, H:i",
        "fr": "j M Y, H:i",
        "es": "j M Y, H:i",
        "ja": "Y年n月j日 H:i",
    },
    # A moment this year: promises ("Next update by Dec 7, 14:30").
    "short": {
        "en": "M j, H:i",
        "de": "j. M, H:i",
        "fr": "j M, H:i",
        "es": "j M, H:i",
        "ja": "n月j日 H:i",
    },
    # A day without its year ("since Dec 7").
    "month_day": {"en": "M j", "de": "j. M", "fr": "j M", "es": "j M", "ja": "n月j日"},
    # A day with its year, short month ("Dec 7, 2026"): the uptime bars' days.
    "date": {"en": "M j, Y", "de": "j. M Y", "fr": "j M Y", "es": "j M Y", "ja": "Y年n月j日"},
    # A day with its year, day first ("7 Dec 2026"): postmortem action items.
    "day_month_year": {
        "en": "j M Y",
        "de": "j. M Y",
        "fr": "j M Y",
        "es": "j M Y",
        "ja": "Y年n月j日",
    },
    # A day written out ("December 7, 2026"): the day headings of past incidents.
    "long_date": {
        "en": "F j, Y",
        "de": "j. F Y",
        "fr": "j F Y",
        "es": r"j \d\e F \d\e Y",
        "ja": "Y年n月j日",
    },
    # A month ("December 2026"): history.
    "month": {"en": "F Y", "de": "F Y", "fr": "F Y", "es": r"F \d\e Y", "ja": "Y年n月"},
}


def _language() -> str:
    code = (translation.get_language() or "en").split("-")[0]
    return code if code in FORMATS["datetime"] else "en"


def format_for(kind: str) -> str:
    """The format string of `kind` (a key of FORMATS) in the active language."""
    return FORMATS[kind][_language()]


def local_format(value: date | datetime | None, kind: str, *, zone: bool = False) -> str:
    """`value` in the active language's `kind` format; with `zone`, the time zone's
    abbreviation after it ("CET"). A datetime is shown in the zone it carries."""
    if value is None:
        return ""
    text = dateformat.format(value, format_for(kind))
    if zone and isinstance(value, datetime):
        text += " " + (value.tzname() or "")
    return text


def time_html(value: datetime | None, tz: ZoneInfo) -> SafeString:
    """`<time>` with the UTC instant in `datetime` and `title`, and text in the page's zone;
    static/js/localtime.js rewrites the text to the reader's zone and language. Built here, not
    with an include, because a page can hold hundreds of them."""
    if value is None:
        return SafeString("")
    utc = value.astimezone(UTC)
    return format_html(
        '<time datetime="{}" title="{} UTC" data-local="datetime">{}</time>',
        utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        local_format(utc, "datetime"),
        local_format(value.astimezone(tz), "datetime", zone=True),
    )
