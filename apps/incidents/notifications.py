"""How incident and maintenance events read in mail, webhooks and Slack (registered at ready()).

The notifications pipeline delivers what `apps.incidents.services` emits and knows nothing of
incidents: it asks these renderers. Mail follows shared/reference/delivery-notes.md §2.1 (one
thread per incident, the state first in the subject); webhook bodies are Statuspage's
(shared/reference/status-api-v2.md §3.4).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext, pgettext_lazy

from apps.core.text import staff_text_slack
from apps.notifications import registry
from apps.notifications.models import NotificationEvent
from apps.notifications.payloads import timestamp
from apps.notifications.registry import Mail, Renderer, format_time, one_line
from apps.status.notifications import COMPONENT_CHANGES, component_object, page_object
from apps.status.notifications import EventKind as StatusEventKind

from .models import Incident, IncidentStatus, IncidentUpdate, MaintenanceStatus, Postmortem


class EventKind(models.TextChoices):
    """The kinds of event this app emits (stored as plain strings on NotificationEvent), with
    the labels staff read; registered with their renderer below. Never renamed: a kind is in
    stored events, webhook bodies (`meta.event_type`) and the API's `kind` filter."""

    INCIDENT_OPENED = "incident.opened", "Incident opened"
    INCIDENT_UPDATED = "incident.updated", "Incident updated"
    INCIDENT_RESOLVED = "incident.resolved", "Incident resolved"
    POSTMORTEM_PUBLISHED = "incident.postmortem_published", "Postmortem published"
    # Every action item of a published postmortem done ("we did what we promised"), once.
    PROMISE_KEPT = "incident.promise_kept", "Promise kept: every action item done"
    MAINTENANCE_SCHEDULED = "maintenance.scheduled", "Maintenance scheduled"
    MAINTENANCE_REMINDER = "maintenance.reminder", "Maintenance reminder"
    MAINTENANCE_STARTED = "maintenance.started", "Maintenance started"
    MAINTENANCE_UPDATED = "maintenance.updated", "Maintenance updated"
    MAINTENANCE_COMPLETED = "maintenance.completed", "Maintenance completed"
    MAINTENANCE_CANCELLED = "maintenance.cancelled", "Maintenance cancelled"


SUBJECT_TYPE = "incidents.incident"
STATUS_LABELS = dict(IncidentStatus.choices) | dict(MaintenanceStatus.choices)
# The subject's state word for events whose word is not an update's status.
# Subscribers read them in their language (mail subjects, rendered under the subscriber's).
SUBJECT_WORDS = {
    EventKind.INCIDENT_RESOLVED: pgettext_lazy("mail subject: incident state", "Resolved"),
    EventKind.POSTMORTEM_PUBLISHED: pgettext_lazy("mail subject: incident state", "Postmortem"),
    EventKind.PROMISE_KEPT: pgettext_lazy(
        "mail subject: incident state", "We did what we promised"
    ),
    EventKind.MAINTENANCE_SCHEDULED: pgettext_lazy("mail subject: maintenance state", "Scheduled"),
    EventKind.MAINTENANCE_REMINDER: pgettext_lazy(
        "mail subject: maintenance state", "Starting soon"
    ),
    EventKind.MAINTENANCE_STARTED: pgettext_lazy("mail subject: maintenance state", "In progress"),
    EventKind.MAINTENANCE_COMPLETED: pgettext_lazy("mail subject: maintenance state", "Completed"),
    EventKind.MAINTENANCE_CANCELLED: pgettext_lazy("mail subject: maintenance state", "Cancelled"),
}
# A Slack message's text may be up to 40,000 characters, but a long body belongs on the page.
SLACK_SUMMARY_LIMIT = 1500


def snapshot(incident: Incident, update: IncidentUpdate | None = None, **facts: Any) -> dict:
    """What an incident event says, as JSON: the incident (named for the event list), the
    update it announces, and the kind's own facts (a reminder's text, a postmortem's summary)."""
    return {
        "incident": {"id": incident.public_id, "name": incident.name, "kind": incident.kind},
        "update": update.public_id if update is not None else None,
        **facts,
    }


def incident_url(incident: Incident) -> str:
    return f"{incident.organization.public_url}incidents/{incident.public_id}/"


def discussion_url(incident: Incident) -> str:
    """Where the incident's discussion starts on its page (every incident mail links to it)."""
    return f"{incident_url(incident)}#discussion"


def postmortem_url(incident: Incident) -> str:
    """The postmortem's section on the incident page."""
    return f"{incident_url(incident)}#postmortem"


def promise_words(count: int) -> str:
    """ "all 3 changes we promised after this incident are done." (one: "the change ...").

    In the active language (the subscriber's, when a mail or Slack message is built)."""
    if count == 1:
        return _("the change we promised after this incident is done.")
    # Translators: follows "After this incident we promised changes so it does not happen
    # again." in mail (capitalised there) and a Slack line; always 2 or more (or 0).
    return ngettext(
        "all %(count)s change we promised after this incident is done.",
        "all %(count)s changes we promised after this incident are done.",
        count,
    ) % {"count": count}


def promised_items(incident: Incident) -> list[str]:
    """The titles of the published postmortem's action items, for a "we did what we
    promised" message; empty when it is no longer published."""
    postmortem = published_postmortem(incident)
    if postmortem is None:
        return []
    return [item.title for item in postmortem.action_items.all()]


def _incident_id(event: NotificationEvent) -> str:
    if event.subject_type == SUBJECT_TYPE:
        return event.subject_id
    return event.snapshot["within"]["id"]


def incident_of(event: NotificationEvent) -> tuple[Incident, IncidentUpdate | None]:
    """The event's incident and update, read once per event object."""
    cached = getattr(event, "_incident_objects", None)
    if cached is None:
        incident = Incident.objects.filter(
            organization_id=event.organization_id, public_id=_incident_id(event)
        ).first()
        if incident is None:
            raise registry.SubjectGone("The incident was deleted.")
        incident.organization = event.organization
        update_id = event.snapshot.get("update")
        update = (
            IncidentUpdate.objects.filter(incident=incident, public_id=update_id).first()
            if update_id
            else None
        )
        cached = event._incident_objects = (incident, update)  # type: ignore[attr-defined]
    return cached


# --- webhook body ---------------------------------------------------------------------------


def _update_object(update: IncidentUpdate, incident: Incident, tz) -> dict[str, Any]:
    return {
        "id": update.public_id,
        "incident_id": incident.public_id,
        "status": update.status,
        "body": update.body,
        "created_at": timestamp(update.created_at, tz),
        "updated_at": timestamp(update.updated_at, tz),
        "display_at": timestamp(update.display_at, tz),
        "affected_components": update.affected_components,
        "wants_twitter_update": False,
        "twitter_updated_at": None,
        "custom_tweet": None,
    }


def published_postmortem(incident: Incident) -> Postmortem | None:
    """The published postmortem, with its action items. Only an incident in status
    `postmortem` has one, so other incidents cost no query; a draft is never returned."""
    if incident.status != IncidentStatus.POSTMORTEM:
        return None
    return (
        Postmortem.objects.for_org(incident.organization)
        .filter(incident=incident, published_at__isnull=False)
        .prefetch_related("action_items")
        .first()
    )


def incident_object(incident: Incident) -> dict[str, Any]:
    """The union of the v2 incident object and the webhook-only fields (reference §3.4).

    The `postmortem_*` keys carry a published postmortem as Statuspage's webhooks did: the
    whole text (sections and action items, plain text) and its times.
    """
    tz = incident.organization.tzinfo
    updates = list(incident.updates.order_by("-display_at", "-id"))
    components = list(incident.components.select_related("group", "organization"))
    postmortem = published_postmortem(incident)
    return {
        "id": incident.public_id,
        "page_id": incident.organization.public_id,
        "organization_id": incident.organization.public_id,
        "name": incident.name,
        "status": incident.status,
        "impact": incident.impact,
        "impact_override": incident.impact if incident.impact_override else None,
        "created_at": timestamp(incident.created_at, tz),
        "updated_at": timestamp(incident.updated_at, tz),
        "started_at": timestamp(incident.started_at, tz),
        "monitoring_at": timestamp(incident.monitoring_at, tz),
        "resolved_at": timestamp(incident.resolved_at, tz),
        "shortlink": incident_url(incident),
        "backfilled": False,
        "postmortem_body": postmortem.as_text() if postmortem else None,
        "postmortem_body_last_updated_at": timestamp(postmortem.updated_at, tz)
        if postmortem
        else None,
        "postmortem_ignored": False,
        "postmortem_notified_subscribers": postmortem.notified_subscribers if postmortem else False,
        "postmortem_notified_twitter": False,
        "postmortem_published_at": timestamp(postmortem.published_at, tz) if postmortem else None,
        "scheduled_for": timestamp(incident.scheduled_for, tz),
        "scheduled_until": timestamp(incident.scheduled_until, tz),
        "scheduled_remind_prior": bool(incident.reminder_hours),
        "scheduled_reminded_at": timestamp(incident.reminder_sent_at, tz),
        "scheduled_auto_transition": incident.auto_start or incident.auto_complete,
        "scheduled_auto_in_progress": incident.auto_start,
        "scheduled_auto_completed": incident.auto_complete,
        "reminder_intervals": None,
        "incident_updates": [_update_object(u, incident, tz) for u in updates],
        "components": [component_object(c, tz) for c in components],
    }


# --- mail -----------------------------------------------------------------------------------


def _status_word(event: NotificationEvent, incident: Incident, update: IncidentUpdate | None):
    """The state this mail announces: the update's status when it was posted (the incident
    may have moved on by the time the mail goes out), else the event's own word."""
    word = SUBJECT_WORDS.get(event.kind)
    if word:
        return word
    if update is not None:
        return STATUS_LABELS.get(update.status, "")
    return incident.get_status_display()


def _headline(event: NotificationEvent, incident: Incident, update, title: str) -> str:
    status = STATUS_LABELS.get(update.status if update else "", "")
    if not status:
        status = incident.get_status_display()
    # A mail's first line, in the subscriber's language (built under it). `status` is the
    # update's state ("Investigating", "Monitoring"...).
    headlines = {
        EventKind.INCIDENT_OPENED: _("New incident: %(status)s"),
        EventKind.INCIDENT_UPDATED: _("Update: %(status)s"),
        EventKind.INCIDENT_RESOLVED: pgettext("mail headline", "Resolved"),
        EventKind.POSTMORTEM_PUBLISHED: _("What happened, and what we are changing"),
        EventKind.PROMISE_KEPT: _("We did what we promised"),
        EventKind.MAINTENANCE_SCHEDULED: _("Maintenance scheduled"),
        EventKind.MAINTENANCE_REMINDER: _("Reminder: maintenance is about to start"),
        EventKind.MAINTENANCE_STARTED: _("Maintenance in progress"),
        EventKind.MAINTENANCE_UPDATED: _("Maintenance update: %(status)s"),
        EventKind.MAINTENANCE_COMPLETED: _("Maintenance completed"),
        EventKind.MAINTENANCE_CANCELLED: _("Maintenance cancelled"),
    }
    headline = headlines.get(event.kind)
    if headline is None:
        return title
    if event.kind in (
        EventKind.INCIDENT_OPENED,
        EventKind.INCIDENT_UPDATED,
        EventKind.MAINTENANCE_UPDATED,
    ):
        return headline % {"status": status}
    return headline


def _next_update_due(incident: Incident, update: IncidentUpdate | None) -> datetime | None:
    if update and update.next_update_due:
        return update.next_update_due
    if incident.is_open:
        return incident.next_update_due
    return None


def _component_names(incident: Incident, update: IncidentUpdate | None) -> list[str]:
    if update and update.affected_components:
        return [c.get("name", "") for c in update.affected_components if c.get("name")]
    return [c.display_name for c in incident.components.select_related("group")]


class IncidentRenderer(Renderer):
    """Incident and maintenance events: mail in the incident's thread, the v2 incident body."""

    def mail(self, event: NotificationEvent) -> Mail:
        incident, update = incident_of(event)
        organization = event.organization
        tz = organization.tzinfo
        title = one_line(incident.name)
        word = _status_word(event, incident, update)
        prefix = f"[{organization.name}]"
        # The state leads the subject so an inbox can tell "Resolved" from a new incident; one
        # thread per incident is kept by Message-ID/In-Reply-To/References, not by the subject.
        if word:
            # Translators: a mail subject: "[Organization] State: Incident name".
            subject = _("%(prefix)s %(state)s: %(title)s") % {
                "prefix": prefix,
                "state": word,
                "title": title,
            }
        else:
            subject = f"{prefix} {title}"
        subject = one_line(subject)
        context = {
            "organization": organization,
            "event": event,
            "incident": incident,
            "update": update,
            "summary": event.snapshot.get("summary", ""),
            "headline": _headline(event, incident, update, title),
            "subject": subject,
            "title": title,
            "page_url": organization.public_url,
            "incident_url": incident_url(incident),
            "discussion_url": discussion_url(incident),
            "posted_at": format_time(update.display_at if update else event.created_at, tz),
            "next_update": format_time(_next_update_due(incident, update), tz),
            "scheduled_for": format_time(incident.scheduled_for, tz),
            "scheduled_until": format_time(incident.scheduled_until, tz),
            "components": _component_names(incident, update),
            "promised": promised_items(incident) if event.kind == EventKind.PROMISE_KEPT else [],
            "promise_words": promise_words(event.snapshot.get("action_items", 0)),
            "postmortem_url": postmortem_url(incident),
        }
        return Mail(
            subject=subject,
            text_template="incidents/email/event.txt",
            html_template="incidents/email/event.html",
            context=context,
            thread=f"incident/{incident.public_id}",
        )

    def webhook_body(self, event: NotificationEvent) -> dict[str, Any]:
        incident, _ = incident_of(event)
        return {"page": page_object(event.organization), "incident": incident_object(incident)}

    def slack_text(self, event: NotificationEvent) -> str:
        incident, update = incident_of(event)
        escape = staff_text_slack  # Slack's three control characters; the rest as typed
        status = (update or incident).get_status_display()
        link = f"<{incident_url(incident)}|{escape(incident.name)}>"
        if event.kind == EventKind.PROMISE_KEPT:
            words = promise_words(event.snapshot.get("action_items", 0))
            kept = _("We did what we promised")
            read = _("Read the postmortem")
            return (
                f"*{escape(event.organization.name)}*: {link}\n*{escape(kept)}* — "
                f"{words}\n<{postmortem_url(incident)}|{escape(read)}>"
            )
        # Events without an update (a published postmortem) carry their text in the snapshot.
        summary = staff_text_slack(
            update.body if update else event.snapshot.get("summary", ""),
            limit=SLACK_SUMMARY_LIMIT,
        )
        text = f"*{escape(event.organization.name)}*: {link}\n*{escape(status)}*"
        if summary:
            text += f" — {summary}"
        if event.kind == EventKind.POSTMORTEM_PUBLISHED:
            read = _("Read the postmortem")
            text += f"\n<{incident_url(incident)}|{escape(read)}>"
        return text


class ComponentChangeInIncident(IncidentRenderer):
    """A component change made by an incident update: mail and Slack read as the incident's
    message (in its thread); the webhook body and the audience stay the component change's."""

    def webhook_body(self, event: NotificationEvent) -> dict[str, Any]:
        return COMPONENT_CHANGES.webhook_body(event)

    def audience(self, event, subscribers):
        return COMPONENT_CHANGES.audience(event, subscribers)


INCIDENT_KINDS = tuple(EventKind)


def register_renderers() -> None:
    renderer = IncidentRenderer()
    for kind in INCIDENT_KINDS:
        registry.register(kind, renderer, label=kind.label)
    registry.register(
        StatusEventKind.COMPONENT_STATUS_CHANGED, ComponentChangeInIncident(), within=SUBJECT_TYPE
    )
