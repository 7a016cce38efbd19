"""The demo's update promises (issue 12 §2): the organization's default cadence, and the
incident in progress with a recent update that promises the next one, so the status page shows
"Next update by 14:30 (in 18 min)" and "Last updated 12 minutes ago" and the dashboard shows the
promise and the reminder settings."""

from __future__ import annotations

from datetime import datetime, timedelta
from unittest import mock

from apps.incidents import services as incidents
from apps.incidents.models import Incident, IncidentStatus
from apps.notifications import services as notifications
from apps.organizations.models import Organization
from apps.organizations.principals import Member

CADENCE_MINUTES = 30


def show_update_promises(
    organization: Organization, *, actor: Member, incident: Incident, now: datetime
) -> None:
    """Set the default cadence (a staff Slack hook is left unset: the quick start must not call
    out) and post the latest update of the incident in progress twelve minutes ago, promising
    the next one with that cadence."""
    notifications.set_update_reminders(organization, actor=actor, cadence_minutes=CADENCE_MINUTES)
    posted = now - timedelta(minutes=12)
    # Services read timezone.now() for the update's time and the promise's start.
    with mock.patch("django.utils.timezone.now", return_value=posted):
        incidents.post_update(
            incident,
            actor=actor,
            status=IncidentStatus.IDENTIFIED,
            body="Traffic is moving to the second link. Most requests from Europe are fast "
            "again; some still take a few seconds. We will post again within 30 minutes, "
            "sooner if anything changes.",
            next_update_due=incidents.default_next_update(organization, posted),
            deliver_notifications=False,
        )
