"""Staff reminders that a promised incident update is due soon or overdue: mail and Slack.

Beat claims each reminder once per due time (services.claim_reminder) and then hands it to
`send_update_reminder` (tasks.py), which calls `send` here. Staff reminders are not subscriber
notifications: they go to the incident's responders (services.responders) by mail, and to the
organization's staff Slack channel when one is set (NotificationSettings.staff_slack_url),
through apps.core.http, the one outbound HTTP function (its SSRF rules apply).

A reminder is sent at most once: a failed send is logged, not retried (a retry after a partial
send would mail some responders twice, and the overdue reminder follows anyway).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.core import http
from apps.core.links import absolute_url
from apps.core.text import staff_text_slack
from apps.notifications.models import NotificationSettings

from . import services
from .models import Incident
from .notifications import incident_url

logger = logging.getLogger(__name__)


@dataclass
class Sent:
    emailed: int
    slack: bool


def _local(when: datetime, incident: Incident) -> str:
    local = when.astimezone(incident.organization.tzinfo)
    return f"{local:%H:%M} {local.tzname()}"


def subject(incident: Incident, kind: str) -> str:
    due = incident.next_update_due
    assert due is not None
    if kind == services.OVERDUE:
        # Translators: subject of a staff reminder mail; time is "14:30 CET".
        return _("Update overdue since %(time)s: %(name)s") % {
            "time": _local(due, incident),
            "name": incident.name,
        }
    return _("Update due by %(time)s: %(name)s") % {
        "time": _local(due, incident),
        "name": incident.name,
    }


def context(incident: Incident, kind: str, now: datetime, own: bool) -> dict:
    latest = incident.updates.order_by("-display_at", "-id").first()
    return {
        "incident": incident,
        "organization": incident.organization,
        "overdue": kind == services.OVERDUE,
        "due_line": services.reminder_due_text(incident, kind=kind, now=now),
        "latest": latest,
        "latest_at": _local(latest.display_at, incident) if latest else "",
        "dashboard_url": absolute_url(
            reverse("incidents:detail", args=[incident.organization.slug, incident.public_id])
        ),
        "public_url": incident_url(incident),
        "own": own,
    }


def slack_text(incident: Incident, facts: dict) -> str:
    icon = ":warning:" if facts["overdue"] else ":alarm_clock:"
    name = staff_text_slack(incident.name)
    # Translators: Slack markup; keep <url|words> as it is and translate only the words.
    links = _(
        "<%(dashboard_url)s|Post an update> · readers see the promise on "
        "<%(public_url)s|the incident page>."
    ) % {"dashboard_url": facts["dashboard_url"], "public_url": facts["public_url"]}
    return f"{icon} *{name}*: {staff_text_slack(facts['due_line'])}\n{links}"


def send(incident: Incident, *, kind: str, now: datetime) -> Sent:
    """Mail each responder and post to the staff Slack channel; returns what went out."""
    users, own = services.responders(incident)
    facts = context(incident, kind, now, own)
    title = subject(incident, kind)
    body = render_to_string("incidents/email/update_reminder.txt", facts)
    messages = [
        EmailMessage(subject=title, body=body, to=[user.email]) for user in users if user.email
    ]
    emailed = 0
    if messages:
        try:
            emailed = get_connection().send_messages(messages) or 0
        except OSError:
            logger.warning("update reminder mail for %s failed", incident.public_id, exc_info=True)
    slack = False
    hook = NotificationSettings.for_org(incident.organization).staff_slack_url
    if hook:
        payload = {"text": slack_text(incident, facts), "unfurl_links": False}
        try:
            response = http.post(
                hook,
                json.dumps(payload).encode(),
                {"Content-Type": "application/json"},
            )
            slack = response.ok
            if not response.ok:
                logger.warning(
                    "staff Slack reminder for %s answered %s", incident.public_id, response.status
                )
        except http.OutboundError as error:
            logger.warning("staff Slack reminder for %s failed: %s", incident.public_id, error)
    return Sent(emailed=emailed, slack=slack)
