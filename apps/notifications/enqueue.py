"""Enqueue the pipeline's Celery tasks by name.

`tasks.py` imports the pipeline, the ledger and the channels; they enqueue tasks by their
registered name, so no module below imports `tasks.py` back (no import circle).
"""

from __future__ import annotations

import logging

from celery import Task, current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def task(name: str) -> Task:
    """The registered task (Celery imports every app's tasks.py when it first needs them)."""
    return current_app.tasks[name]


def enqueue_on_commit(name: str, *args: object, what: str) -> None:
    """Send task `name` after the current transaction commits (at once outside one). A broker
    failure is logged, never raised: the database write it follows stands."""

    def enqueue() -> None:
        try:
            task(name).apply_async(args=list(args))
        except Exception:
            logger.exception("Could not enqueue %s", what)

    transaction.on_commit(enqueue)
