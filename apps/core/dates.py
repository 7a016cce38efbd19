"""Dates and times as people write them: the format the pages display, in form inputs too.

One way to write a time across the dashboard: inputs show and take the format the pages
display ("Dec 6, 2026 20:31", followed there by the zone), not the browser's own date picker
format (mm/dd/yyyy in a US browser, dd.mm.yyyy elsewhere) beside it. ISO 8601 is accepted as
well, as scripts, bookmarks and the old datetime-local inputs send it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

DISPLAY_DATETIME = "M j, Y H:i"  # django.utils.dateformat, as the templates' |date filters
DISPLAY_DATE = "M j, Y"
# What people type: the displayed format (month name first or day first, comma optional,
# 24-hour or am/pm), and ISO 8601 as datetime-local and scripts send it.
_DATE_FORMATS = ["%b %d %Y", "%B %d %Y", "%d %b %Y", "%d %B %Y"]
_TIME_FORMATS = ["%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I %p", "%I%p"]
AM_PM = {"am", "pm", "a.m.", "p.m."}


def _normalised(value: str) -> str:
    return " ".join(value.replace(",", " ").replace(" at ", " ").split())


def parse_display_date(value: str) -> date | None:
    """Dec 6, 2026 / 6 Dec 2026 / December 6 2026 / 2026-12-06, or None."""
    text = _normalised(value)
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def parse_display_datetime(value: str) -> datetime | None:
    """Dec 6, 2026 20:31 (and the variants above, and ISO 8601), naive or aware, or None."""
    text = _normalised(value)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for date_pattern in _DATE_FORMATS:
        for time_pattern in _TIME_FORMATS:
            try:
                return datetime.strptime(text, f"{date_pattern} {time_pattern}")
            except ValueError:
                continue
    return None


class DisplayDateTimeInput(forms.TextInput):
    """A text input holding a time as the pages show it: "Dec 6, 2026 20:31"."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        defaults = {"autocomplete": "off", "spellcheck": "false", "class": "datetime-input"}
        super().__init__({**defaults, **(attrs or {})})

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, datetime):
            return date_format(value, DISPLAY_DATETIME)
        return super().format_value(value)


class DisplayDateInput(forms.TextInput):
    """A text input holding a date as the pages show it: "Dec 6, 2026"."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        defaults = {"autocomplete": "off", "spellcheck": "false", "class": "date-input"}
        super().__init__({**defaults, **(attrs or {})})

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, date):
            return date_format(value, DISPLAY_DATE)
        return super().format_value(value)


class DisplayDateField(forms.DateField):
    """A date written as the pages show it ("Dec 6, 2026"); ISO dates are accepted too."""

    widget = DisplayDateInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Translators: an example of a date as the dashboard writes it (English month names).
        self.widget.attrs.setdefault("placeholder", gettext_lazy("e.g. Dec 6, 2026"))

    def to_python(self, value: Any) -> date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, date):
            return value.date() if isinstance(value, datetime) else value
        parsed = parse_display_date(str(value))
        if parsed is None:
            raise ValidationError(
                _("Write the date like %(example)s.")
                % {"example": date_format(timezone.localdate(), DISPLAY_DATE)},
                code="invalid",
            )
        return parsed


# --- the window a time may fall in ---------------------------------------------------------------

# Times typed for incidents and maintenance (start, end, resolution, update and promise times)
# fall in the years 2000 to ten years from now. Far outside it is always a typing mistake, and a
# year near 9999 cannot even be shown in a time zone ahead of UTC (OverflowError). Whole years,
# in the zone the time was written in, keep the rule easy to say and the same all year.
EARLIEST_YEAR = 2000
YEARS_AHEAD = 10


def latest_year() -> int:
    return timezone.now().year + YEARS_AHEAD


def window_problem(value: Any) -> str | None:
    """Why the time is outside the window (the message says the rule), or None."""
    if not isinstance(value, datetime):
        return None
    if EARLIEST_YEAR <= value.year <= latest_year():
        return None
    return _("Times must fall in the years %(earliest)s to %(latest)s.") % {
        "earliest": EARLIEST_YEAR,
        "latest": latest_year(),
    }


def reject_outside_window(value: Any) -> None:
    if problem := window_problem(value):
        raise ValidationError(problem, code="outside_window")


# --- reading a stored time whatever it is ----------------------------------------------------

# The window above is checked at input. A time stored before it (year 9999) cannot be shown in a
# zone ahead of UTC, nor have a day added, without an OverflowError: every page, feed and status
# JSON that shows it would answer 500. Such times are read back clamped to this range, far
# enough from datetime's limits for any zone and a year of arithmetic; real times never are.
READABLE_MIN = datetime(2, 1, 1, tzinfo=UTC)
READABLE_MAX = datetime(9999, 1, 1, tzinfo=UTC)


def readable(value: datetime) -> datetime:
    """The aware time clamped to READABLE_MIN..READABLE_MAX (identity for real times)."""
    if timezone.is_naive(value):
        return value
    return min(max(value, READABLE_MIN), READABLE_MAX)


class ReadableDateTimeField(models.DateTimeField):
    """A DateTimeField for times people type (incident and maintenance times): values read
    from the database are clamped by `readable`, so a stored year-9999 time never breaks a page.
    It is a plain DateTimeField to migrations and the database."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return readable(value) if isinstance(value, datetime) else value

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DateTimeField", args, kwargs
