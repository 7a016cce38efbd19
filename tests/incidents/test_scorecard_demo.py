"""`manage.py demo` gives the scorecard a trend to show: eleven weekly incidents, each handled
better than the one before."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

from django.core.management import call_command

from apps.incidents.scorecard.figures import organization_scorecard
from apps.organizations.models import Organization


def test_the_demo_scorecard_shows_a_team_getting_better(db):
    call_command("demo", "--incidents", "12", "--history-days", "20", stdout=StringIO())
    demo = Organization.objects.get(slug="demo")

    card = organization_scorecard(demo, days=90)

    live = [s for s in card.incidents if s.resolved_at is not None]
    assert len(live) == 11
    oldest, latest = live[0], live[-1]
    assert oldest.first_update_after == timedelta(minutes=35)
    assert latest.first_update_after == timedelta(minutes=5)
    assert (oldest.updates_on_time, oldest.updates_promised) == (1, 4)
    assert (latest.updates_on_time, latest.updates_promised) == (4, 4)
    assert oldest.postmortem_after == timedelta(days=12)
    assert latest.postmortem_after == timedelta(days=2)
    # The backfilled history is left out; the incident in progress is scored.
    assert card.recorded_later > 0
    assert [s.name for s in card.incidents if s.resolved_at is None] == [
        "Slow API responses in Europe"
    ]
