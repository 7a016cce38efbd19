"""Default words for incident and maintenance updates, in one place.

The composer prefills these, the services fall back to them when staff leave a message empty,
and `ensure_default_templates` copies them into an organization's templates. The first texts are
the status API reference's defaults (shared/reference/status-api-v2.md §1.4); the rest follow
the same voice: plain, honest about impact, no minimising ("a small subset", "some users may").
"""

from __future__ import annotations

from datetime import datetime

from .models import Impact, IncidentStatus, Kind, MaintenanceStatus

DEFAULT_UPDATE_TEXT: dict[str, str] = {
    IncidentStatus.INVESTIGATING: "We are currently investigating this issue.",
    IncidentStatus.IDENTIFIED: "The issue has been identified and a fix is being implemented.",
    IncidentStatus.MONITORING: "A fix has been implemented and we are monitoring the results.",
    IncidentStatus.RESOLVED: "This incident has been resolved.",
    MaintenanceStatus.SCHEDULED: "We will be undergoing scheduled maintenance during this time.",
    MaintenanceStatus.IN_PROGRESS: (
        "Scheduled maintenance is currently in progress. We will provide updates as necessary."
    ),
    MaintenanceStatus.VERIFYING: (
        "The maintenance work is done. We are verifying that everything works as expected."
    ),
    MaintenanceStatus.COMPLETED: "The scheduled maintenance has been completed.",
}

REOPENED_TEXT = "The issue has come back. We are investigating it again."
CANCELLED_TEXT = "This scheduled maintenance has been cancelled. No work will take place."
EXTENDED_TEXT = "The maintenance is taking longer than planned. We now expect to finish by {until}."


def default_update_text(status: str) -> str:
    return DEFAULT_UPDATE_TEXT.get(status, "")


def reminder_text(hours: int) -> str:
    """The reference's "Maintenance will begin as scheduled in 60 minutes.", for any lead time."""
    if hours == 1:
        lead = "60 minutes"
    elif hours % 24 == 0:
        days = hours // 24
        lead = "1 day" if days == 1 else f"{days} days"
    else:
        lead = f"{hours} hours"
    return f"Maintenance will begin as scheduled in {lead}."


def extended_text(until: datetime, tz_name: str) -> str:
    """`until` is already in the organization's timezone; tz_name says which one it is."""
    return EXTENDED_TEXT.format(until=f"{until:%Y-%m-%d %H:%M} ({tz_name})")


# Templates every organization starts with. Bodies say what readers experience, not how
# engineers feel about it.
DEFAULT_TEMPLATES: list[dict[str, str]] = [
    {
        "kind": Kind.INCIDENT,
        "name": "Degraded performance",
        "title": "Slower responses and some errors",
        "status": IncidentStatus.INVESTIGATING,
        "impact": Impact.MINOR,
        "body": (
            "Requests are slower than usual and some of them fail. We are investigating the "
            "cause and will post an update as soon as we know more."
        ),
    },
    {
        "kind": Kind.INCIDENT,
        "name": "Partial outage",
        "title": "Partial outage",
        "status": IncidentStatus.INVESTIGATING,
        "impact": Impact.MAJOR,
        "body": (
            "Part of the service is down: some customers cannot use it at all and others see "
            "errors. We are investigating and will post an update as soon as we know more."
        ),
    },
    {
        "kind": Kind.INCIDENT,
        "name": "Major outage",
        "title": "Service unavailable",
        "status": IncidentStatus.INVESTIGATING,
        "impact": Impact.CRITICAL,
        "body": (
            "The service is down for everyone. We are working on it with full priority and "
            "will post an update at least every 30 minutes until it is back."
        ),
    },
    {
        "kind": Kind.MAINTENANCE,
        "name": "Scheduled maintenance",
        "title": "Scheduled maintenance",
        "status": MaintenanceStatus.SCHEDULED,
        "impact": Impact.MAINTENANCE,
        "body": (
            "We will be undergoing scheduled maintenance during this time. The affected "
            "services may be unavailable for the whole window."
        ),
    },
]
