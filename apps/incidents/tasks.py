"""Beat-driven work: maintenance transitions (start, complete, remind subscribers on time) and
staff reminders of promised incident updates (due soon, overdue)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.organizations.principals import System

from . import reminders, services
from .models import ACTIVE_MAINTENANCE, Incident, MaintenanceStatus

logger = logging.getLogger(__name__)

# Shown in the audit log and component history for changes nobody clicked.
SCHEDULER = System("scheduler")


def run_maintenance_transitions_at(now: datetime) -> dict[str, int]:
    """Do every maintenance transition due at `now`; safe to run twice or concurrently.

    Each transition claims its row with a conditional UPDATE (status still what we read, or
    reminder_sent_at still empty) inside the service, so a second run finds nothing to do and
    two overlapping runs never both start, complete or remind the same maintenance.
    """
    done = {"reminded": 0, "started": 0, "completed": 0}
    maintenances = Incident.objects.maintenances().select_related("organization")

    # Reminders first, so a reminder is never sent for a maintenance already starting.
    horizon = now + timedelta(hours=services.MAX_REMINDER_HOURS)
    for incident in maintenances.filter(
        status=MaintenanceStatus.SCHEDULED,
        reminder_hours__isnull=False,
        reminder_sent_at__isnull=True,
        scheduled_for__gt=now,
        scheduled_for__lte=horizon,
    ):
        if incident.scheduled_for - timedelta(hours=incident.reminder_hours) <= now:
            done["reminded"] += services.send_maintenance_reminder(incident, at=now)

    for incident in maintenances.filter(
        status=MaintenanceStatus.SCHEDULED, auto_start=True, scheduled_for__lte=now
    ):
        done["started"] += _attempt(services.start_maintenance, incident, now)

    for incident in maintenances.filter(
        status__in=ACTIVE_MAINTENANCE, auto_complete=True, scheduled_until__lte=now
    ):
        done["completed"] += _attempt(services.complete_maintenance, incident, now)
    return done


def _attempt(action, incident: Incident, now: datetime) -> bool:
    try:
        action(incident, actor=SCHEDULER, at=now)
    except ValidationError:
        # Someone (a person or another beat run) moved it first: nothing left to do.
        logger.info("maintenance %s already moved on", incident.public_id)
        return False
    return True


@shared_task(
    name="incidents.run_maintenance_transitions",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def run_maintenance_transitions() -> dict[str, int]:
    return run_maintenance_transitions_at(timezone.now())


# --- update reminders ------------------------------------------------------------------------


def run_update_reminders_at(now: datetime) -> dict[str, int]:
    """Claim every update reminder due at `now` and send each claimed one (safe to run twice or
    concurrently: services.claim_reminder is a conditional UPDATE per due time)."""
    lead = timedelta(minutes=settings.UPDATE_REMINDER_LEAD_MINUTES)
    done = {services.DUE_SOON: 0, services.OVERDUE: 0}
    for kind, incidents in services.incidents_to_remind(now, lead).items():
        for incident in incidents:
            due = incident.next_update_due
            if due is None or not services.claim_reminder(incident, kind=kind, due=due):
                continue
            done[kind] += 1
            send_update_reminder.delay(incident.pk, kind, due.isoformat())
    return done


@shared_task(
    name="incidents.run_update_reminders",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def run_update_reminders() -> dict[str, int]:
    return run_update_reminders_at(timezone.now())


@shared_task(
    name="incidents.send_update_reminder",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def send_update_reminder(incident_id: int, kind: str, due: str) -> bool:
    """Send one claimed reminder, unless the promise changed meanwhile (an update was posted,
    the incident resolved): then it is no longer due and nobody is bothered."""
    incident = Incident.objects.select_related("organization").filter(pk=incident_id).first()
    if (
        incident is None
        or not incident.is_open
        or incident.next_update_due != datetime.fromisoformat(due)
    ):
        return False
    sent = reminders.send(incident, kind=kind, now=timezone.now())
    logger.info(
        "update reminder %s for %s: %d mail(s), slack %s",
        kind,
        incident.public_id,
        sent.emailed,
        sent.slack,
    )
    return True
