"""`{{ update.body|staff_text }}`: staff-written public text as HTML (apps/core/text.py)."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from apps.core.text import staff_text_html, staff_text_plain

register = template.Library()


@register.filter(name="staff_text")
def staff_text(value: str | None) -> SafeString:
    return staff_text_html(value)


@register.filter(name="staff_text_plain")
def staff_text_plain_filter(value: str | None) -> str:
    return staff_text_plain(value)
