"""The demo's response scorecard: one incident a week over the last eleven weeks, run through
the incident services as its responders lived it, each handled a little better than the one
before (the first public update sooner, promised updates kept, the postmortem published
sooner), so the dashboard's Scorecard page shows a team getting better at talking to its
customers.

The demo's other past incidents are recorded after the fact (backfilled), so the scorecard
leaves them out; these are posted live, at their own times (the services read a patched clock).
No component changes (the uptime history is built separately) and nobody is notified.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock

from apps.incidents import services as incidents
from apps.incidents.models import Incident, IncidentStatus
from apps.organizations.models import Organization
from apps.organizations.principals import Member

# (name, what readers were told at each step, the postmortem's summary, its action items)
STORIES = [
    (
        "Delayed webhook deliveries",
        "Webhooks are arriving late, some by several minutes.",
        "Webhook deliveries queued up behind a slow receiver.",
        ["Give each receiver its own queue", "Alert when deliveries wait over a minute"],
    ),
    (
        "Login codes arriving late",
        "Sign-in codes sent by email are taking a long time to arrive.",
        "Our email provider slowed down and we had no second provider to switch to.",
        ["Add a second email provider", "Show a 'resend code' button sooner"],
    ),
    (
        "Search results missing recent items",
        "Search does not show items created in the last hour.",
        "The search index stopped taking in new items after a disk filled up.",
        ["Alert before the search disk fills up", "Let search fall back to recent items"],
    ),
    (
        "Card payments declined",
        "Some card payments are being declined although the cards are fine.",
        "A certificate used to talk to our card processor expired.",
        ["Renew certificates automatically", "Check certificate expiry every day"],
    ),
    (
        "Dashboard not loading",
        "The dashboard shows an error page for many customers.",
        "A new version of the dashboard went out with a broken setting.",
        ["Check settings before a release goes out", "Roll back releases automatically"],
    ),
]
WEEKS = 11
CADENCE = timedelta(minutes=30)
NEXT_STEPS = (
    (IncidentStatus.IDENTIFIED, "We found the cause and are working on a fix."),
    (IncidentStatus.IDENTIFIED, "The fix is rolling out; most customers should see it working."),
    (IncidentStatus.MONITORING, "The fix is out everywhere. We are watching that it holds."),
)


@contextmanager
def _clock(moment: datetime) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def add_scorecard_history(
    organization: Organization, *, actor: Member, now: datetime
) -> list[Incident]:
    """Eleven resolved incidents, one a week, oldest handled worst; returns them, oldest first."""
    made = []
    for week in range(WEEKS):
        better = week / (WEEKS - 1)  # 0 for the oldest, 1 for last week's
        name, opening, summary, items = STORIES[week % len(STORIES)]
        local = (now - timedelta(weeks=WEEKS - week, days=-1)).astimezone(organization.tzinfo)
        started = local.replace(hour=9 + week % 5, minute=10, second=0, microsecond=0)
        # The first public update came 35 minutes after the start then, 5 now.
        at = started + timedelta(minutes=round(35 - 30 * better))
        with _clock(at):
            incident = incidents.open_incident(
                organization,
                actor=actor,
                name=name,
                impact="minor",
                status=IncidentStatus.INVESTIGATING,
                body=f"{opening} We are looking into it and will update you within 30 minutes.",
                started_at=started,
                next_update_due=at + CADENCE,
                deliver_notifications=False,
            )
        # Promised updates broken: three of three in the oldest week, none in the latest.
        late = round(3 * (1 - better))
        for step, (status, body) in enumerate(NEXT_STEPS):
            at += CADENCE + (timedelta(minutes=20) if step < late else timedelta(minutes=-5))
            wait = CADENCE * 2 if status == IncidentStatus.MONITORING else CADENCE
            with _clock(at):
                incidents.post_update(
                    incident,
                    actor=actor,
                    status=status,
                    body=body,
                    next_update_due=at + wait,
                    deliver_notifications=False,
                )
        resolved = at + timedelta(minutes=50)
        with _clock(resolved):
            incidents.resolve_incident(
                incident,
                actor=actor,
                body="This is fixed: everything works normally again. We are sorry for the "
                "trouble it caused; a postmortem will follow.",
                deliver_notifications=False,
            )
        # The postmortem came 12 days after resolution then, 2 days now; older action items
        # are done, the latest still planned.
        with _clock(resolved + timedelta(days=round(12 - 10 * better))):
            postmortem = incidents.save_postmortem(
                incident,
                actor=actor,
                summary=summary,
                customer_impact=f"{opening} This lasted until we fixed it; we are sorry.",
            )
            for index, title in enumerate(items):
                done = week < WEEKS - 3 or (index == 0 and week < WEEKS - 1)
                incidents.add_action_item(
                    postmortem, actor=actor, title=title, status="done" if done else "planned"
                )
            incidents.publish_postmortem(incident, actor=actor, notify_subscribers=False)
        made.append(incident)
    return made
