"""One rule for text that staff, customers and monitoring type, at every input boundary.

- Text (every field): no C0 control characters other than tab, line feed and carriage return,
  no DEL, no lone UTF-16 surrogates. They are invisible, mean nothing in a status message, and
  XML (Atom, RSS), iCalendar and mail headers cannot carry them.
- Names (organization, component and group names, incident and maintenance titles, display
  names): the text rule, plus no Unicode direction overrides or isolates (U+202A-U+202E,
  U+2066-U+2069) and no zero-width characters (U+200B-U+200D, U+2060, U+FEFF), which make a
  name read differently from what it is.

`reject_*` raise Django's ValidationError (DRF turns it into a 400 for the field);
`strip_control_characters` is for outputs, so a row stored before the rule never breaks a feed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# C0 controls except tab (09), line feed (0A), carriage return (0D); DEL (7F).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LONE_SURROGATES = re.compile("[\ud800-\udfff]")
SPOOFING_CHARACTERS = re.compile("[\u200b-\u200d\u202a-\u202e\u2060\u2066-\u2069\ufeff]")

# Readers see these (the forum's and the subscription pages' forms share the rules), so they
# are translated; the dashboard and the API run in English.
TEXT_RULE = gettext_lazy("Tab and line breaks are allowed; other control characters are not.")
NAME_RULE = gettext_lazy(
    "Names cannot contain direction overrides or zero-width characters "
    "(U+200B-U+200D, U+202A-U+202E, U+2060, U+2066-U+2069, U+FEFF)."
)


def _code(character: str) -> str:
    return f"U+{ord(character):04X}"


def text_problem(value: Any) -> str | None:
    """Why the text breaks the text rule, or None."""
    if not isinstance(value, str):
        return None
    if found := CONTROL_CHARACTERS.search(value):
        # Translators: %(code)s is a character's code point, like U+000B; %(rule)s the sentence
        # "Tab and line breaks are allowed; other control characters are not."
        return _("Contains the control character %(code)s. %(rule)s") % {
            "code": _code(found.group()),
            "rule": TEXT_RULE,
        }
    if found := LONE_SURROGATES.search(value):
        # Translators: %(code)s is a code point, like U+D800.
        return _("Contains an unpaired surrogate (%(code)s): not valid Unicode text.") % {
            "code": _code(found.group())
        }
    return None


def name_problem(value: Any) -> str | None:
    """Why the name breaks the name rule, or None."""
    if problem := text_problem(value):
        return problem
    if isinstance(value, str) and (found := SPOOFING_CHARACTERS.search(value)):
        # Translators: %(code)s is a character's code point, like U+202E; %(rule)s the sentence
        # "Names cannot contain direction overrides or zero-width characters (...)."
        return _("Contains the invisible character %(code)s. %(rule)s") % {
            "code": _code(found.group()),
            "rule": NAME_RULE,
        }
    return None


def reject_control_characters(value: Any) -> None:
    if problem := text_problem(value):
        raise ValidationError(problem, code="control_character")


def reject_spoofing_characters(value: Any) -> None:
    if problem := name_problem(value):
        raise ValidationError(problem, code="spoofing_character")


def strip_control_characters(text: str | None) -> str:
    """The text without what the text rule refuses (outputs: feeds, calendars, mail headers)."""
    return LONE_SURROGATES.sub("", CONTROL_CHARACTERS.sub("", str(text or "")))


def strip_spoofing_characters(text: str | None) -> str:
    return SPOOFING_CHARACTERS.sub("", strip_control_characters(text))


def guard_text_fields(fields: Iterable[Any], *, names: Iterable[str] = ()) -> None:
    """Give every writable text field of a form or serializer the text rule, and the fields
    called `names` the name rule. Fields are the form's or serializer's own copies (both
    deep-copy their declared fields per instance), so appending does not leak across instances.
    """
    name_set = set(names)
    for name, field in fields:
        if getattr(field, "read_only", False) or getattr(field, "choices", None) is not None:
            continue
        if not _is_text_field(field):
            continue
        rule = reject_spoofing_characters if name in name_set else reject_control_characters
        if rule not in field.validators:
            field.validators.append(rule)


def _is_text_field(field: Any) -> bool:
    from django import forms
    from rest_framework import serializers

    return isinstance(field, forms.CharField | serializers.CharField)


# Fields that hold a name or title wherever they appear: the name rule applies to them.
NAME_FIELDS = frozenset({"name", "title", "display_name", "author_name"})


class TextRulesFormMixin:
    """For Django forms: every text field gets the text rule, the `name_fields` the name rule,
    before the form cleans (so fields a form adds in its `__init__` are covered too); a bad
    value is a form error on its field."""

    name_fields: frozenset[str] = NAME_FIELDS

    def full_clean(self) -> None:
        guard_text_fields(self.fields.items(), names=self.name_fields)  # type: ignore[attr-defined]
        super().full_clean()  # type: ignore[misc]
