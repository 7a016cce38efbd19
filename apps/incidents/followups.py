"""What staff still owe readers after an incident, listed on the incidents page.

- Resolved incidents without a published postmortem once the organization's number of days
  (FollowUpSettings.postmortem_due_days, default 5) has passed since resolution, for
  LISTED_FOR_DAYS more days (after that they are history, not a to-do), newest first.
- Action items not done whose target date (ActionItem.due_date) has passed, in the
  organization's time zone.
A constant number of queries, whatever the counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.organizations.models import Organization

from .models import ActionItem, FollowUpSettings, Incident, IncidentStatus, Postmortem

LISTED_FOR_DAYS = 30
SHOWN = 10


def postmortem_due_days(organization: Organization) -> int:
    settings = FollowUpSettings.objects.filter(organization=organization).first()
    if settings is None:
        return FollowUpSettings.DEFAULT_POSTMORTEM_DUE_DAYS
    return settings.postmortem_due_days


@dataclass
class FollowUps:
    due_days: int
    today: date
    listed_for_days: int = LISTED_FOR_DAYS
    without_postmortem: list[Incident] = field(default_factory=list)
    without_postmortem_count: int = 0
    overdue_items: list[ActionItem] = field(default_factory=list)
    overdue_items_count: int = 0

    @property
    def more_without_postmortem(self) -> int:
        return self.without_postmortem_count - len(self.without_postmortem)

    @property
    def more_overdue_items(self) -> int:
        return self.overdue_items_count - len(self.overdue_items)

    def __bool__(self) -> bool:
        return bool(self.without_postmortem_count or self.overdue_items_count)


def follow_ups(organization: Organization) -> FollowUps:
    now = timezone.now()
    days = postmortem_due_days(organization)
    today = timezone.localdate(now, timezone=organization.tzinfo)
    drafts = Postmortem.objects.filter(incident=OuterRef("pk"))
    waiting = (
        Incident.objects.for_org(organization)
        .incidents()
        .filter(
            status=IncidentStatus.RESOLVED,
            resolved_at__lte=now - timedelta(days=days),
            resolved_at__gte=now - timedelta(days=days + LISTED_FOR_DAYS),
        )
        .annotate(has_draft=Exists(drafts))
        .order_by("-resolved_at", "-id")
    )
    overdue = (
        ActionItem.objects.for_org(organization)
        .exclude(status=ActionItem.Status.DONE)
        .filter(due_date__lt=today)
        .select_related("postmortem__incident")
        .order_by("due_date", "id")
    )
    result = FollowUps(due_days=days, today=today)
    result.without_postmortem = list(waiting[:SHOWN])
    result.without_postmortem_count = (
        len(result.without_postmortem)
        if len(result.without_postmortem) < SHOWN
        else waiting.count()
    )
    result.overdue_items = list(overdue[:SHOWN])
    result.overdue_items_count = (
        len(result.overdue_items) if len(result.overdue_items) < SHOWN else overdue.count()
    )
    for incident in result.without_postmortem:
        incident.days_waiting = (now - incident.resolved_at).days
    for item in result.overdue_items:
        item.days_late = (today - item.due_date).days
    return result
