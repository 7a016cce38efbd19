"""Webhook JSON bodies, compatible with Statuspage's (shared/reference/status-api-v2.md §3).

The body is `{meta, page, incident}` or `{meta, page, component_update, component}`, with no
top-level `type` (clients tell the two apart by the keys). Our additions are additive, as §7.10
asks: `meta.event_type` and `meta.event_id`; the signature travels in headers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from apps.incidents.models import Incident, IncidentStatus, IncidentUpdate, Postmortem
from apps.organizations.models import Organization
from apps.status.models import Component, ComponentStatus, worst_status

from .models import NotificationEvent

DOCUMENTATION_URL = "https://candor.dev/docs/webhooks/"

# status.indicator and status.description from the worst component status (reference §1.5).
PAGE_STATUS: dict[str, tuple[str, str]] = {
    ComponentStatus.OPERATIONAL: ("none", "All Systems Operational"),
    ComponentStatus.UNDER_MAINTENANCE: ("maintenance", "Service Under Maintenance"),
    ComponentStatus.DEGRADED_PERFORMANCE: ("minor", "Partially Degraded Service"),
    ComponentStatus.PARTIAL_OUTAGE: ("major", "Partial System Outage"),
    ComponentStatus.MAJOR_OUTAGE: ("critical", "Major System Outage"),
}


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


def page_object(organization: Organization) -> dict[str, Any]:
    statuses = Component.objects.for_org(organization).values_list("status", flat=True)
    indicator, description = PAGE_STATUS[worst_status(list(statuses))]
    return {
        "id": organization.public_id,
        "status_indicator": indicator,
        "status_description": description,
    }


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


def _component_object(component: Component, tz) -> dict[str, Any]:
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
        "components": [_component_object(c, tz) for c in components],
    }


def incident_url(incident: Incident) -> str:
    return f"{incident.organization.public_url}incidents/{incident.public_id}/"


def event_body(event: NotificationEvent, *, page: dict[str, Any]) -> dict[str, Any]:
    """The subscriber-independent part of the webhook body for one event (no `meta`)."""
    body: dict[str, Any] = {"page": page}
    if event.kind == NotificationEvent.Kind.COMPONENT_STATUS_CHANGED and event.component_id:
        component = event.component
        tz = event.organization.tzinfo
        body["component_update"] = {
            "id": event.public_id,
            "component_id": component.public_id,
            "created_at": timestamp(event.created_at, tz),
            "old_status": event.data.get("old_status"),
            "new_status": event.data.get("new_status", component.status),
            "component_type": "Component",
        }
        body["component"] = _component_object(component, tz)
    elif event.incident_id:
        body["incident"] = incident_object(event.incident)
    return body


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
