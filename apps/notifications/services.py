"""The notifications app's state changes, by concern (CONVENTIONS §2):

- `pipeline`: `emit` (the one call other apps make), fan-out and batching, sweepers, staff
  retries and delivery counts;
- `ledger`: claim a batch's deliveries, mark them sent, record failures, subscriber health;
- `subscribers`: subscribing, confirming, leaving, staff removal, imports, settings.

This module gathers the names views, the API and other apps call, so they keep writing
`services.subscribe_email(...)`. Nothing in the pipeline imports it.
"""

from __future__ import annotations

from .ledger import disable_subscriber
from .pipeline import (
    delivery_counts,
    delivery_counts_by_event,
    emit,
    fan_out,
    requeue_unprocessed_events,
    retry_due_deliveries,
    retry_failed_deliveries,
    waiting_events,
)
from .subscribers import (
    DISABLED_MESSAGE,
    IMPORT_AUDIT_ACTION,
    RACE_MESSAGE,
    REMOVED_REASON,
    SLACK_HOOK_PREFIX,
    UNTRUSTED_MESSAGE,
    check_update_cadence,
    confirm_subscriber,
    display_address,
    display_url,
    email_component_changes,
    import_confirmed_email,
    import_email_subscribers,
    record_subscriber_export,
    remove_subscriber,
    set_components,
    set_discussion_events,
    set_email_component_changes,
    set_language,
    set_update_reminders,
    subscribe_email,
    subscribe_hook,
    subscriber_language,
    unsubscribe,
    update_cadence_minutes,
    validate_hook_url,
)

__all__ = [
    "DISABLED_MESSAGE",
    "IMPORT_AUDIT_ACTION",
    "RACE_MESSAGE",
    "REMOVED_REASON",
    "SLACK_HOOK_PREFIX",
    "UNTRUSTED_MESSAGE",
    "check_update_cadence",
    "confirm_subscriber",
    "delivery_counts",
    "delivery_counts_by_event",
    "disable_subscriber",
    "display_address",
    "display_url",
    "email_component_changes",
    "emit",
    "fan_out",
    "import_confirmed_email",
    "import_email_subscribers",
    "record_subscriber_export",
    "remove_subscriber",
    "requeue_unprocessed_events",
    "retry_due_deliveries",
    "retry_failed_deliveries",
    "set_components",
    "set_discussion_events",
    "set_email_component_changes",
    "set_language",
    "set_update_reminders",
    "subscribe_email",
    "subscribe_hook",
    "subscriber_language",
    "unsubscribe",
    "update_cadence_minutes",
    "validate_hook_url",
    "waiting_events",
]
