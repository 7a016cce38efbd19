"""Periodic work for status pages."""

from __future__ import annotations

from celery import shared_task

from apps.organizations.models import Organization

from . import services


@shared_task(
    name="status.close_uptime_days",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=600,
    soft_time_limit=540,
)
def close_uptime_days() -> int:
    """Close yesterday's UptimeDay rows of every organization whose local day has ended.

    Runs every 15 minutes (CELERY_BEAT_SCHEDULE), so each timezone is closed shortly after its
    own midnight. Idempotent: an organization with nothing left to close costs two cheap
    queries, and a rerun (or two overlapping runs) adds no second twice because each component
    is accounted under its row lock up to the same midnight. Returns the components accounted.
    """
    accounted = 0
    for organization in Organization.objects.order_by("pk").iterator():
        accounted += services.close_uptime_days_for(organization)
    return accounted
