"""Celery tasks of the forum: small, idempotent, no arguments (CONVENTIONS §3)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import notifications


@shared_task(
    name="forum.send_due_reply_mails",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=40,
    time_limit=50,
)
def send_due_reply_mails() -> int:
    """Reply mail whose window opened: on commit after a comment, and every minute (beat)."""
    return notifications.send_due_reply_mails()
