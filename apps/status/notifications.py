"""How component status changes read in mail, webhooks and Slack (registered at ready()).

The notifications pipeline delivers what `apps.status.services` emits and knows nothing of
components: it asks this renderer. A change an incident update made reads, in mail and Slack,
as that incident's message: apps.incidents registers that renderer (`within` an incident).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from apps.core.text import staff_text_slack
from apps.notifications import registry
from apps.notifications.models import NotificationEvent, Subscriber
from apps.notifications.payloads import timestamp
from apps.notifications.registry import Mail, Renderer, one_line
from apps.notifications.subscribers import email_component_changes, following_components
from apps.organizations.models import Organization

from .models import Component, ComponentStatus, worst_status


class EventKind(models.TextChoices):
    """The kinds of event this app emits (stored as plain strings on NotificationEvent), with
    the labels staff read; registered with their renderer below."""

    COMPONENT_STATUS_CHANGED = "component.status_changed", "Component status changed"


SUBJECT_TYPE = "status.component"
COMPONENT_LABELS = dict(ComponentStatus.choices)
# A component's new status inside a subscriber's sentence ("API: major outage", "API is now
# major outage"): lower case in English, as each language writes it mid-sentence elsewhere.
STATUS_IN_SENTENCE = {
    ComponentStatus.OPERATIONAL: pgettext_lazy("component status, in a sentence", "operational"),
    ComponentStatus.DEGRADED_PERFORMANCE: pgettext_lazy(
        "component status, in a sentence", "degraded performance"
    ),
    ComponentStatus.PARTIAL_OUTAGE: pgettext_lazy(
        "component status, in a sentence", "partial outage"
    ),
    ComponentStatus.MAJOR_OUTAGE: pgettext_lazy("component status, in a sentence", "major outage"),
    ComponentStatus.UNDER_MAINTENANCE: pgettext_lazy(
        "component status, in a sentence", "under maintenance"
    ),
}
# status.indicator and status.description from the worst component status (reference §1.5).
PAGE_STATUS: dict[str, tuple[str, str]] = {
    ComponentStatus.OPERATIONAL: ("none", "All Systems Operational"),
    ComponentStatus.UNDER_MAINTENANCE: ("maintenance", "Service Under Maintenance"),
    ComponentStatus.DEGRADED_PERFORMANCE: ("minor", "Partially Degraded Service"),
    ComponentStatus.PARTIAL_OUTAGE: ("major", "Partial System Outage"),
    ComponentStatus.MAJOR_OUTAGE: ("critical", "Major System Outage"),
}


def snapshot(
    component: Component, old_status: str, new_status: str, *, within: Any = None
) -> dict[str, Any]:
    """What a component change says, as JSON (with words for the dashboard's event list).

    `within`: the incident (or maintenance) whose update made the change, if any; its app
    registers how such a change reads (`registry.register(..., within=<its model label>)`).
    """
    facts: dict[str, Any] = {
        "component": {"id": component.public_id, "name": component.display_name},
        "old_status": old_status,
        "new_status": new_status,
        # str(): the labels are lazy translations (model choices); a snapshot is stored JSON,
        # in the language of whoever made the change (the dashboard's, English).
        "change": [str(COMPONENT_LABELS.get(old_status, "?")), str(COMPONENT_LABELS[new_status])],
    }
    if within is not None:
        facts["within"] = {"type": within._meta.label_lower, "id": within.public_id}
        facts["incident"] = {
            "id": within.public_id,
            "name": within.name,
            "kind": getattr(within, "kind", ""),
        }
    return facts


def page_object(organization: Organization) -> dict[str, Any]:
    statuses = Component.objects.for_org(organization).values_list("status", flat=True)
    indicator, description = PAGE_STATUS[worst_status(list(statuses))]
    return {
        "id": organization.public_id,
        "status_indicator": indicator,
        "status_description": description,
    }


def component_object(component: Component, tz) -> dict[str, Any]:
    return {
        "id": component.public_id,
        "page_id": component.organization.public_id,
        "group_id": component.group.public_id if component.group_id else None,
        "name": component.display_name,
        "description": component.description or None,
        "status": component.status,
        "position": component.position,
        "showcase": component.showcase,
        "only_show_if_degraded": component.only_show_if_degraded,
        "start_date": component.start_date.isoformat() if component.start_date else None,
        "created_at": timestamp(component.created_at, tz),
        "updated_at": timestamp(component.updated_at, tz),
        "group": False,
    }


def component_of(event: NotificationEvent) -> Component:
    """The event's component, read once per event object."""
    cached = getattr(event, "_component", None)
    if cached is None:
        cached = (
            Component.objects.select_related("group", "organization")
            .filter(
                organization_id=event.organization_id, public_id=event.snapshot["component"]["id"]
            )
            .first()
        )
        if cached is None:
            raise registry.SubjectGone("The component was deleted.")
        event._component = cached  # type: ignore[attr-defined]
    return cached


def _new_words(event: NotificationEvent, status: str = "") -> str:
    """The new status as a subscriber reads it mid-sentence, in the active language."""
    new_status = event.snapshot.get("new_status") or status
    found = STATUS_IN_SENTENCE.get(new_status)
    if found is not None:
        return str(found)
    return new_status.replace("_", " ") or _("changed")


class ComponentChangeRenderer(Renderer):
    """A component's status changed (by staff, an API key or an alert, without an incident)."""

    def mail(self, event: NotificationEvent) -> Mail:
        component = component_of(event)
        organization = event.organization
        # Translators: a mail's subject and title: "Component name: major outage".
        title = one_line(
            _("%(component)s: %(status)s")
            % {"component": component.display_name, "status": _new_words(event)}
        )
        subject = one_line(f"[{organization.name}] {title}")
        context = {
            "organization": organization,
            "event": event,
            "headline": title,
            "subject": subject,
            "title": title,
            "page_url": organization.public_url,
            "components": [component.display_name],
        }
        return Mail(
            subject=subject,
            text_template="status/email/component_change.txt",
            html_template="status/email/component_change.html",
            context=context,
        )

    def webhook_body(self, event: NotificationEvent) -> dict[str, Any]:
        component = component_of(event)
        tz = event.organization.tzinfo
        return {
            "page": page_object(event.organization),
            "component_update": {
                "id": event.public_id,
                "component_id": component.public_id,
                "created_at": timestamp(event.created_at, tz),
                "old_status": event.snapshot.get("old_status"),
                "new_status": event.snapshot.get("new_status", component.status),
                "component_type": "Component",
            },
            "component": component_object(component, tz),
        }

    def slack_text(self, event: NotificationEvent) -> str:
        component = component_of(event)
        organization = event.organization
        # Translators: a Slack line: "API is now *major outage*" (the asterisks make it bold).
        sentence = _("%(component)s is now *%(status)s*") % {
            "component": staff_text_slack(component.display_name),
            "status": staff_text_slack(_new_words(event, component.status)),
        }
        page = staff_text_slack(_("Status page"))
        return (
            f"*{staff_text_slack(organization.name)}*: {sentence}\n"
            f"<{organization.public_url}|{page}>"
        )

    def audience(self, event, subscribers):
        """Webhooks and Slack always; email only when the organization turned
        `email_component_changes` on (off by default, as Statuspage does)."""
        subscribers = following_components(subscribers, event.component_ids)
        if not email_component_changes(event.organization_id):
            subscribers = subscribers.exclude(channel=Subscriber.Channel.EMAIL)
        return subscribers


COMPONENT_CHANGES = ComponentChangeRenderer()


def register_renderers() -> None:
    registry.register(
        EventKind.COMPONENT_STATUS_CHANGED,
        COMPONENT_CHANGES,
        label=EventKind.COMPONENT_STATUS_CHANGED.label,
    )
