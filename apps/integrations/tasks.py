"""Beat-driven work of inbound alerts: post the changes held for a coalescing window once the
window has ended (apps/integrations/alerts/services.py, "Coalescing")."""

from __future__ import annotations

from celery import shared_task

from .alerts import services as alerts


@shared_task(
    name="integrations.post_due_alert_updates",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def post_due_alert_updates() -> int:
    # A sweep over PostgreSQL rather than one countdown task per window: windows (minutes) are
    # longer than the broker's visibility timeout, which countdowns must stay inside, and a
    # due time kept in the group's row survives Redis coming back empty. Idempotent: each group
    # is locked and its due time checked again (post_held_changes).
    return alerts.post_due_updates()
