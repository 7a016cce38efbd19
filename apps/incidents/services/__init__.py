"""Every write to incidents, maintenances, their updates, templates and postmortems goes here.

Each staff action runs in one transaction and writes, together: the change, an AuditEntry, an
outbox NotificationEvent when subscribers may care (the delivery pipeline reads those rows), and
a content-version bump on commit so the cached public page is rendered again. Invalid requests
raise django.core.exceptions.ValidationError before anything is written.

The package is split by concern (incidents, maintenance, templates, postmortems). Every change
to a timeline ends through `_steps.record_step` (components, save, update, audit entry, event,
content version, in that order and once), and `post_maintenance_update` alone decides what a
posted maintenance status means (a message or a move). This module re-exports the public names,
so callers keep writing `services.open_incident(...)` and tests that monkeypatch
`apps.incidents.services.X` patch the name the views and the API read.
"""

from __future__ import annotations

from .. import texts
from ._common import (
    IMPACT_FOR_COMPONENT_STATUS,
    IMPACT_RANK,
    INCIDENT_IMPACTS,
    emit,
    impact_for_statuses,
)
from .cadence import (
    DUE_SOON,
    MAX_PROMISE_MINUTES,
    OVERDUE,
    check_promise,
    claim_reminder,
    default_next_update,
    incidents_to_remind,
    promise_from,
    reminder_due_text,
    responders,
)
from .incidents import (
    backfill_incident,
    delete_incident,
    edit_update,
    open_incident,
    post_update,
    reopen_incident,
    resolve_incident,
    update_incident_details,
)
from .maintenance import (
    MAINTENANCE_MOVES,
    MAX_REMINDER_HOURS,
    cancel_maintenance,
    complete_maintenance,
    extend_maintenance,
    mark_verifying,
    post_maintenance_update,
    schedule_maintenance,
    send_maintenance_reminder,
    start_maintenance,
    was_cancelled,
)
from .postmortems import (
    POSTMORTEM_TEXT_MAX,
    SUMMARY_EXCERPT_CHARS,
    UNSET,
    add_action_item,
    delete_action_item,
    delete_postmortem,
    excerpt,
    move_action_item,
    publish_postmortem,
    reorder_action_items,
    save_postmortem,
    set_postmortem_due_days,
    unpublish_postmortem,
    update_action_item,
)
from .templates import (
    create_template,
    delete_template,
    ensure_default_templates,
    update_template,
)

__all__ = [
    "DUE_SOON",
    "IMPACT_FOR_COMPONENT_STATUS",
    "IMPACT_RANK",
    "INCIDENT_IMPACTS",
    "MAINTENANCE_MOVES",
    "MAX_PROMISE_MINUTES",
    "MAX_REMINDER_HOURS",
    "OVERDUE",
    "POSTMORTEM_TEXT_MAX",
    "SUMMARY_EXCERPT_CHARS",
    "UNSET",
    "add_action_item",
    "backfill_incident",
    "cancel_maintenance",
    "check_promise",
    "claim_reminder",
    "complete_maintenance",
    "create_template",
    "default_next_update",
    "delete_action_item",
    "delete_incident",
    "delete_postmortem",
    "delete_template",
    "edit_update",
    "emit",
    "ensure_default_templates",
    "excerpt",
    "extend_maintenance",
    "impact_for_statuses",
    "incidents_to_remind",
    "mark_verifying",
    "move_action_item",
    "open_incident",
    "post_maintenance_update",
    "post_update",
    "promise_from",
    "publish_postmortem",
    "reminder_due_text",
    "reopen_incident",
    "reorder_action_items",
    "resolve_incident",
    "responders",
    "save_postmortem",
    "schedule_maintenance",
    "send_maintenance_reminder",
    "set_postmortem_due_days",
    "start_maintenance",
    "texts",
    "unpublish_postmortem",
    "update_action_item",
    "update_incident_details",
    "update_template",
    "was_cancelled",
]
