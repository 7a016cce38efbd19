"""Periodic work for the management API."""

from __future__ import annotations

from celery import shared_task

from .idempotency import purge_expired_idempotency_keys


@shared_task(
    name="api.purge_idempotency_keys",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=120,
    soft_time_limit=100,
)
def purge_idempotency_keys() -> int:
    """Delete Idempotency-Key rows older than 24 hours. Idempotent, one indexed DELETE.

    Requests already purge lazily (at most every 10 minutes, see apps.api.idempotency); this
    task keeps the table small on a quiet installation too, when a beat entry runs it hourly.
    """
    return purge_expired_idempotency_keys()
