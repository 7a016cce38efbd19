"""Slack incoming-webhook messages: status, summary and a link, in Slack's mrkdwn."""

from __future__ import annotations

from typing import Any

from apps.core.text import staff_text_slack
from apps.status.models import ComponentStatus

from ..models import NotificationEvent
from ..payloads import incident_url

COMPONENT_LABELS = dict(ComponentStatus.choices)


# A Slack message's text may be up to 40,000 characters, but a long body belongs on the page.
SUMMARY_LIMIT = 1500


def escape(text: str) -> str:
    # Slack's three control characters; anything else is shown as typed.
    return staff_text_slack(text)


def message(event: NotificationEvent) -> dict[str, Any]:
    organization = event.organization
    if event.incident_id:
        incident = event.incident
        update = event.update if event.update_id else None
        status = (update or incident).get_status_display()
        link = f"<{incident_url(incident)}|{escape(incident.name)}>"
        # Events without an update (a published postmortem) carry their text in data.
        summary = staff_text_slack(
            update.body if update else event.data.get("summary", ""), limit=SUMMARY_LIMIT
        )
        text = f"*{escape(organization.name)}*: {link}\n*{escape(status)}*"
        if summary:
            text += f" — {summary}"
        if event.kind == NotificationEvent.Kind.POSTMORTEM_PUBLISHED:
            text += f"\n<{incident_url(incident)}|Read the postmortem>"
    elif event.component_id:
        component = event.component
        new = COMPONENT_LABELS.get(event.data.get("new_status", ""), component.status)
        text = (
            f"*{escape(organization.name)}*: {escape(component.display_name)} is now "
            f"*{escape(new.lower())}*\n<{organization.public_url}|Status page>"
        )
    else:
        text = f"*{escape(organization.name)}*: <{organization.public_url}|status page updated>"
    return {"text": text, "unfurl_links": False, "unfurl_media": False}
