"""Periodic work for status pages."""

from __future__ import annotations

from celery import shared_task

from apps.organizations.models import Organization

from . import services


@shared_task(name="status.close_uptime_days", acks_late=True, reject_on_worker_lost=True)
def close_uptime_days() -> int:
    """Enqueue one close per organization; returns how many were enqueued.

    Runs every 15 minutes (CELERY_BEAT_SCHEDULE), so each timezone is closed shortly after its
    own midnight. One task per organization keeps every task far inside the broker's visibility
    timeout however many organizations there are.
    """
    organization_ids = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    for organization_id in organization_ids:
        close_uptime_days_for_organization.delay(organization_id)
    return len(organization_ids)


@shared_task(
    name="status.close_uptime_days_for_organization", acks_late=True, reject_on_worker_lost=True
)
def close_uptime_days_for_organization(organization_id: int) -> int:
    """Close the organization's ended local days. Idempotent: an organization with nothing left
    to close costs two cheap queries, and a rerun (or two overlapping runs) adds no second twice
    because each component is accounted under its row lock up to the same midnight. Returns the
    components accounted."""
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return 0  # deleted since the fan-out
    return services.close_uptime_days_for(organization)
