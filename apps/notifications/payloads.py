"""Webhook JSON bodies, compatible with Statuspage's (shared/reference/status-api-v2.md §3).

The body is `{meta, page, incident}` or `{meta, page, component_update, component}`, with no
top-level `type` (clients tell the two apart by the keys). The part after `meta` comes from the
event kind's renderer (apps.notifications.registry); our additions are additive, as §7.10
asks: `meta.event_type` and `meta.event_id`; the signature travels in headers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from .models import NotificationEvent

DOCUMENTATION_URL = "https://candor.dev/docs/webhooks/"


def timestamp(value: datetime | None, tz=None) -> str | None:
    """`2024-09-17T08:08:17.044Z` in UTC, or with the page's offset: always milliseconds."""
    if value is None:
        return None
    local = timezone.localtime(value, tz or UTC)
    text = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"
    offset = local.strftime("%z")
    if offset in ("+0000", ""):
        return text + "Z"
    return f"{text}{offset[:3]}:{offset[3:]}"


def with_meta(
    body: dict[str, Any], event: NotificationEvent, *, unsubscribe_url: str
) -> dict[str, Any]:
    return {
        "meta": {
            "unsubscribe": unsubscribe_url,
            "documentation": DOCUMENTATION_URL,
            "generated_at": timestamp(timezone.now()),
            "event_type": event.kind,
            "event_id": event.public_id,
        },
        **body,
    }
