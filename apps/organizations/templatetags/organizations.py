"""Template access to the one permission table (`{% if request.membership|can:"audit.view" %}`)
and audit entries made readable (`entry.data|audit_details`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from apps.organizations.models import Membership, Organization

register = template.Library()


@register.filter
def can(membership: Membership | None, permission: str) -> bool:
    return membership is not None and membership.can(permission)


def _readable(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_readable(item) for item in value)
    if isinstance(value, dict):
        return " ".join(f"{key} {_readable(item)}" for key, item in value.items())
    return str(value)


@register.filter
def audit_details(data: Any) -> dict[str, Any]:
    """An audit entry's data, readable: the reason, each field that changed ("before → after")
    for entries that record `before` and `after` (the forum's moderation), and the rest as
    "key: value"."""
    if not isinstance(data, dict):
        return {"reason": "", "changes": [], "other": []}
    before, after = data.get("before"), data.get("after")
    recorded = isinstance(before, dict) and isinstance(after, dict)
    changes = []
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            old, new = before.get(key), after.get(key)
            if old != new:
                changes.append((key.replace("_", " "), _readable(old), _readable(new)))
    skip = {"reason", "before", "after"} if recorded else {"reason"}
    other = [(key, _readable(value)) for key, value in data.items() if key not in skip]
    return {"reason": str(data.get("reason") or ""), "changes": changes, "other": other}


@register.simple_tag
def organization_links(organizations: Iterable[Organization], url_name: str) -> SafeString:
    """Links to organizations' `url_name` pages, comma-separated, for a sentence that names
    them (`{% organization_links orgs "organizations:members" as links %}`, then the links
    inside one translated message)."""
    return format_html_join(
        ", ",
        '<a href="{}"><bdi>{}</bdi></a>',
        ((reverse(url_name, args=[org.slug]), org.name) for org in organizations),
    )
