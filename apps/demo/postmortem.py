"""The demo's postmortem follow-through (issue 12, "the postmortem speaks plainly,
acknowledges and keeps its promise"), written through the incidents services:

- the latest outage's published postmortem gains an acknowledgement in the team's own words,
  and one of its action items a target date that has passed (listed under Follow-ups);
- the sign-in incident's last open action item is finished, so its postmortem reads "Every
  change we promised here is done" and the event list holds the "we did what we promised"
  event (kept for the record: that postmortem was published without notifying subscribers,
  as the demo notifies nobody);
- the most recent resolved incident without a postmortem gets a draft started, so "How this
  affected you" shows the measured impact Candor pre-fills.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.incidents import services as incidents
from apps.incidents.models import ActionItem, Incident, IncidentStatus, Postmortem
from apps.organizations.models import Organization
from apps.organizations.principals import Member

ACKNOWLEDGEMENT = (
    "We know that many of you could not work that day because of us, and that some of you "
    "had to explain the outage to your own customers. We are sorry. Thank you for your "
    "patience, and for the reports in the discussion: they helped us find the cause sooner."
)


def add_postmortem_follow_through(organization: Organization, *, actor: Member) -> None:
    published = {
        p.incident.name: p
        for p in Postmortem.objects.for_org(organization)
        .filter(published_at__isnull=False)
        .select_related("incident")
    }
    outage = published.get("Service unavailable")
    if outage is not None:
        incidents.save_postmortem(outage.incident, actor=actor, acknowledgement=ACKNOWLEDGEMENT)
        planned = outage.action_items.filter(status=ActionItem.Status.PLANNED).first()
        if planned is not None:
            incidents.update_action_item(
                planned, actor=actor, due_date=timezone.localdate() - timedelta(days=4)
            )
    sign_in = published.get("Errors when signing in")
    if sign_in is not None:
        for item in sign_in.action_items.exclude(status=ActionItem.Status.DONE):
            incidents.update_action_item(item, actor=actor, status=ActionItem.Status.DONE)
    latest = (
        Incident.objects.for_org(organization)
        .incidents()
        .filter(status=IncidentStatus.RESOLVED, postmortem__isnull=True)
        .order_by("-resolved_at", "-id")
        .first()
    )
    if latest is not None:
        incidents.save_postmortem(
            latest,
            actor=actor,
            summary="While this lasted, some of you saw errors or long waits. We are writing "
            "up what happened.",
        )
