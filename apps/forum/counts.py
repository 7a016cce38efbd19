"""How much discussion each incident has, for lists of incidents (the status page, history and
feeds): its visible comment count and its "I'm affected too" count.

One query for a whole list, whatever the number of incidents, comments or marks: each count is
a correlated subquery on an index (`forum_comment_roots` starts with the thread; the affected
marks' unique constraint starts with the incident). The counts match `read_thread`'s
(`comment_count` counts visible comments only; hidden, removed and pending ones are not
counted). Every change to either count bumps the organization's content version (`_touch`,
`mark_affected`, `unmark_affected` in services.py), so cached pages that show them follow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.formats import number_format
from django.utils.translation import ngettext

from apps.incidents.models import Incident
from apps.organizations.models import Organization

from .models import AffectedMark, Comment


@dataclass(frozen=True)
class DiscussionCounts:
    comments: int = 0
    affected: int = 0

    def __bool__(self) -> bool:
        return bool(self.comments or self.affected)

    @property
    def text(self) -> str:
        """ "12 comments · 40 affected", leaving out a part that is zero (in the active
        language, numbers grouped as its readers write them)."""
        parts = []
        if self.comments:
            parts.append(
                ngettext("%(counter)s comment", "%(counter)s comments", self.comments)
                % {"counter": number_format(self.comments, force_grouping=True)}
            )
        if self.affected:
            parts.append(
                # Translators: the number of people who said an incident affects them.
                ngettext("%(counter)s affected", "%(counter)s affected", self.affected)
                % {"counter": number_format(self.affected, force_grouping=True)}
            )
        return " · ".join(parts)


NONE = DiscussionCounts()


def _count(queryset, group_by: str) -> Subquery:
    return Subquery(
        queryset.order_by().values(group_by).annotate(n=Count("pk")).values("n")[:1],
        output_field=IntegerField(),
    )


def discussion_counts(
    organization: Organization, incident_ids: Iterable[int]
) -> dict[int, DiscussionCounts]:
    """{incident pk: its counts} for the incidents of `organization` among `incident_ids`
    (one query; none for an empty list). Incidents without a comment or a mark are left out:
    read them with `.get(pk, NONE)`."""
    ids = sorted(set(incident_ids))
    if not ids:
        return {}
    comments = Comment.objects.filter(
        thread__incident_id=OuterRef("pk"), status=Comment.Status.VISIBLE
    )
    marks = AffectedMark.objects.filter(incident_id=OuterRef("pk"))
    rows = (
        Incident.objects.for_org(organization)
        .filter(pk__in=ids)
        .annotate(
            comment_count=Coalesce(_count(comments, "thread__incident_id"), 0),
            affected_count=Coalesce(_count(marks, "incident_id"), 0),
        )
        .values_list("pk", "comment_count", "affected_count")
    )
    return {pk: DiscussionCounts(c, a) for pk, c, a in rows if c or a}
