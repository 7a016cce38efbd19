"""The forum's pieces on other dashboard pages: the moderation queue's count in the navigation
and an incident's discussion summary on its page. Template tags, so the incidents app (a floor
below) shows them without importing the forum."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from apps.incidents.models import Incident
from apps.organizations.models import Organization

from ..models import AffectedMark, Comment
from ..views import awaiting_review, discussion_url

register = template.Library()


@register.simple_tag
def forum_queue_count(organization: Organization) -> int:
    """Comments awaiting a moderator: one COUNT query."""
    return awaiting_review(organization).count()


def _count(rows: QuerySet[Any], group: str) -> Coalesce:
    counted = rows.order_by().values(group).annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@register.inclusion_tag("forum/dashboard/_incident_summary.html", takes_context=True)
def forum_incident_summary(context: Any, incident: Incident) -> dict[str, Any]:
    """Comment and affected counts of an incident, with a link to its discussion: one query,
    and one more for the per-component figures when somebody is affected."""
    in_thread = Comment.objects.filter(thread__incident=OuterRef("pk"))
    counts = (
        Incident.objects.filter(pk=incident.pk)
        .annotate(
            visible=_count(in_thread.filter(status=Comment.Status.VISIBLE), "thread"),
            pending=_count(in_thread.filter(status=Comment.Status.PENDING), "thread"),
            affected=_count(AffectedMark.objects.filter(incident=OuterRef("pk")), "incident"),
        )
        .values("visible", "pending", "affected")
        .get()
    )
    per_component: list[tuple[str, int]] = []
    if counts["affected"]:
        rows = (
            AffectedMark.objects.filter(incident=incident, component__isnull=False)
            .order_by()
            .values("component__name")
            .annotate(n=Count("id"))
            .values_list("component__name", "n")
        )
        per_component = sorted(rows, key=lambda row: (-row[1], row[0]))
    return {
        "incident": incident,
        # The request's organization (the incident's, by org_view): no query for it.
        "url": discussion_url(context["request"].organization, incident),
        "comments": counts["visible"],
        "pending": counts["pending"],
        "affected_total": counts["affected"],
        "affected_by_component": per_component,
    }
