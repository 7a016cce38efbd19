"""Slack incoming-webhook messages: the event kind's text (its renderer), in Slack's mrkdwn."""

from __future__ import annotations

from typing import Any

from apps.core.text import staff_text_slack

from .. import registry
from ..models import NotificationEvent


def escape(text: str) -> str:
    # Slack's three control characters; anything else is shown as typed.
    return staff_text_slack(text)


def message(event: NotificationEvent) -> dict[str, Any]:
    text = registry.renderer_for(event).slack_text(event)
    return {"text": text, "unfurl_links": False, "unfurl_media": False}
