"""The response scorecard's figures, from hand-built timelines with exact expected values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.incidents.models import IncidentStatus
from apps.incidents.scorecard.figures import (
    duration_text,
    incident_score,
    organization_scorecard,
    week_starts,
)
from apps.incidents.services import backfill_incident
from tests.factories import (
    IncidentFactory,
    IncidentUpdateFactory,
    MaintenanceFactory,
    member,
)

from .factories import ActionItemFactory, PostmortemFactory

pytestmark = pytest.mark.django_db

# A Wednesday; every timeline below is placed relative to it.
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def timeline(org, start, steps, *, status, resolved_at=None, name="API errors"):
    """An incident that started at `start` with updates (minutes after start, status, minutes
    after start the next update was promised for, or None)."""
    incident = IncidentFactory(
        organization=org, name=name, started_at=start, status=status, resolved_at=resolved_at
    )
    for minutes, step_status, due in steps:
        IncidentUpdateFactory(
            incident=incident,
            status=step_status,
            display_at=start + minutes * MIN,
            created_at=start + minutes * MIN,  # posted live
            next_update_due=None if due is None else start + due * MIN,
        )
    return incident


def resolved_with_postmortem(org, start, *, published_after_days, items_done, items_total):
    """Updates at 12, 40, 85, 115 and 180 minutes; promises at 42 (kept), 70 (broken: the
    next came at 85) and 115 (kept, exactly on time); monitoring from 115 to 180."""
    incident = timeline(
        org,
        start,
        [
            (12, IncidentStatus.INVESTIGATING, 42),
            (40, IncidentStatus.IDENTIFIED, 70),
            (85, IncidentStatus.IDENTIFIED, 115),
            (115, IncidentStatus.MONITORING, None),
            (180, IncidentStatus.RESOLVED, None),
        ],
        status=IncidentStatus.POSTMORTEM,
        resolved_at=start + 180 * MIN,
    )
    postmortem = PostmortemFactory(
        incident=incident,
        published_at=start + 180 * MIN + timedelta(days=published_after_days),
    )
    for index in range(items_total):
        ActionItemFactory(postmortem=postmortem, status="done" if index < items_done else "planned")
    return incident


def test_a_resolved_incident_has_every_figure(org):
    incident = resolved_with_postmortem(
        org, NOW - timedelta(days=10), published_after_days=2, items_done=2, items_total=3
    )

    score = incident_score(incident, now=NOW)

    assert score.first_update_after == 12 * MIN
    assert (score.updates_promised, score.updates_on_time) == (3, 2)
    assert score.longest_silence == 65 * MIN  # monitoring, 115 to 180: still active
    assert score.time_to_resolution == timedelta(hours=3)
    assert score.postmortem_after == timedelta(days=2)
    assert (score.action_items_done, score.action_items_total) == (2, 3)
    assert [
        score.first_update_label,
        score.on_time_label,
        score.silence_label,
        score.resolution_label,
        score.postmortem_label,
        score.action_items_label,
    ] == [
        "First public update after 12 min",
        "2 of 3 updates on time",
        "Longest silence while active: 1 h 5 min",
        "Resolved after 3 h",
        "Postmortem published 2 days after resolution",
        "2 of 3 action items done",
    ]


def test_an_active_incident_past_its_promised_time_counts_a_broken_promise(org):
    incident = timeline(
        org,
        NOW - 50 * MIN,
        [(5, IncidentStatus.INVESTIGATING, 35)],
        status=IncidentStatus.INVESTIGATING,
    )

    score = incident_score(incident, now=NOW)

    assert (score.updates_promised, score.updates_on_time) == (1, 0)
    assert score.on_time_label == "0 of 1 update on time"
    # From the update at 5 minutes until now (50): the silence is still going on.
    assert score.longest_silence == 45 * MIN
    assert score.resolution_label == "Not resolved yet: active for 50 min"
    assert score.postmortem_label == "No postmortem yet: it comes after resolution"
    assert score.action_items_label == "No action items yet"


def test_a_promise_still_ahead_is_not_counted(org):
    incident = timeline(
        org,
        NOW - 10 * MIN,
        [(0, IncidentStatus.INVESTIGATING, 30)],
        status=IncidentStatus.INVESTIGATING,
    )

    score = incident_score(incident, now=NOW)

    assert score.updates_promised == 0
    assert score.on_time_label == "No promised update time has come yet"
    assert score.first_update_label == "First public update within a minute of the start"


def test_the_time_between_a_resolution_and_a_reopening_is_not_silence(org):
    start = NOW - timedelta(days=1)
    incident = timeline(
        org,
        start,
        [
            (0, IncidentStatus.INVESTIGATING, None),
            (30, IncidentStatus.RESOLVED, None),
            (300, IncidentStatus.INVESTIGATING, None),  # reopened five hours later
            (320, IncidentStatus.RESOLVED, None),
        ],
        status=IncidentStatus.RESOLVED,
        resolved_at=start + 320 * MIN,
    )

    score = incident_score(incident, now=NOW)

    assert score.longest_silence == 30 * MIN
    assert score.time_to_resolution == timedelta(hours=5, minutes=20)
    assert score.postmortem_label == "No postmortem published yet, 18 h 40 min after resolution"


def test_one_incident_costs_two_queries(org, django_assert_num_queries):
    incident = resolved_with_postmortem(
        org, NOW - timedelta(days=3), published_after_days=1, items_done=1, items_total=4
    )
    with django_assert_num_queries(2):
        incident_score(incident, now=NOW)


def test_durations_read_as_people_say_them():
    assert [
        duration_text(value)
        for value in (
            timedelta(seconds=59),
            12 * MIN,
            60 * MIN,
            125 * MIN,
            timedelta(hours=47, minutes=59),
            timedelta(days=3),
            timedelta(days=3, hours=4, minutes=10),
        )
    ] == ["under a minute", "12 min", "1 h", "2 h 5 min", "47 h 59 min", "3 days", "3 days 4 h"]


# --- an organization over 90 days ------------------------------------------------------------


def test_weeks_start_on_monday_in_the_organizations_timezone(org):
    org.timezone = "America/New_York"
    # Sunday Nov 29, 23:00 in New York is Monday 04:00 UTC; the next week starts at 05:00 UTC.
    starts = week_starts(
        datetime(2026, 11, 30, 4, 0, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC), org.tzinfo
    )
    assert starts == [
        datetime(2026, 11, 30, 4, 0, tzinfo=UTC),
        datetime(2026, 11, 30, 5, 0, tzinfo=UTC),
        datetime(2026, 12, 7, 5, 0, tzinfo=UTC),
    ]


def test_the_organization_scorecard_sums_up_each_week_and_the_window(org):
    # Week of Nov 23: the incident above, and one with a first update after 20 min and no
    # postmortem 8 days after resolution.
    resolved_with_postmortem(
        org,
        datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        published_after_days=2,
        items_done=2,
        items_total=3,
    )
    timeline(
        org,
        datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
        [(20, IncidentStatus.INVESTIGATING, 50), (50, IncidentStatus.RESOLVED, None)],
        status=IncidentStatus.RESOLVED,
        resolved_at=datetime(2026, 11, 24, 9, 50, tzinfo=UTC),
    )
    # Week of Oct 5: a first update after 4 minutes, a postmortem 10 days after resolution.
    october = timeline(
        org,
        datetime(2026, 10, 6, 8, 0, tzinfo=UTC),
        [(4, IncidentStatus.INVESTIGATING, None), (64, IncidentStatus.RESOLVED, None)],
        status=IncidentStatus.POSTMORTEM,
        resolved_at=datetime(2026, 10, 6, 9, 4, tzinfo=UTC),
    )
    PostmortemFactory(incident=october, published_at=datetime(2026, 10, 16, 9, 4, tzinfo=UTC))
    # Not counted: before the window, another organization's, and a maintenance.
    timeline(org, NOW - timedelta(days=91), [(1, "investigating", None)], status="investigating")
    timeline(IncidentFactory().organization, NOW - timedelta(days=2), [], status="investigating")
    MaintenanceFactory(organization=org, started_at=NOW - timedelta(days=2))

    card = organization_scorecard(org, days=90, now=NOW)

    # Sep 3 (the window's first, partial week), then the 13 Mondays Sep 7 to Nov 30.
    assert len(card.periods) == 14
    assert [p.label for p in card.periods[:2]] == ["Sep 3", "Sep 7"]
    assert card.periods[-1].label == "Nov 30"
    by_label = {p.label: p for p in card.periods}
    week = by_label["Nov 23"]
    assert week.incidents == 2
    assert week.median_first_update == 16 * MIN
    assert (week.updates_on_time, week.updates_promised) == (3, 4)
    assert week.on_time_percent == 75
    assert week.median_resolution == timedelta(minutes=115)  # 3 h and 50 min
    assert week.longest_silence == 65 * MIN
    assert (week.postmortems_on_time, week.postmortems_due) == (1, 2)
    assert (week.action_items_done, week.action_items_total) == (2, 3)
    assert by_label["Oct 5"].median_first_update == 4 * MIN
    assert (by_label["Oct 5"].postmortems_on_time, by_label["Oct 5"].postmortems_due) == (0, 1)
    assert by_label["Nov 30"].incidents == 0
    assert by_label["Nov 30"].first_update_label == "No incidents"

    overall = card.overall
    assert overall.incidents == 3
    assert overall.median_first_update == 12 * MIN
    assert overall.on_time_label == "3 of 4 updates on time (75%)"
    assert overall.postmortem_label == "1 of 3 postmortems published within 7 days"
    assert overall.action_items_label == "2 of 3 action items done"
    assert [s.name for s in card.incidents] == ["API errors"] * 3


def test_a_postmortem_not_yet_due_is_not_counted_against_the_team(org):
    timeline(
        org,
        NOW - timedelta(days=2),
        [(3, IncidentStatus.INVESTIGATING, None), (30, IncidentStatus.RESOLVED, None)],
        status=IncidentStatus.RESOLVED,
        resolved_at=NOW - timedelta(days=2) + 30 * MIN,
    )

    card = organization_scorecard(org, days=30, now=NOW)

    assert card.overall.postmortems_due == 0
    assert card.overall.postmortem_label == (
        "No postmortem due yet (one is due 7 days after resolution)"
    )


def test_the_organization_scorecard_costs_two_queries_whatever_the_number_of_incidents(
    org, django_assert_num_queries
):
    for days_ago in (3, 10, 20, 40, 80):
        resolved_with_postmortem(
            org,
            NOW - timedelta(days=days_ago),
            published_after_days=1,
            items_done=1,
            items_total=2,
        )
    with django_assert_num_queries(2):
        card = organization_scorecard(org, days=90, now=NOW)
    assert card.overall.incidents == 5


def test_the_window_must_be_7_to_365_days(org):
    with pytest.raises(ValueError, match="between 7 and 365"):
        organization_scorecard(org, days=6, now=NOW)


def test_an_incident_recorded_after_the_fact_is_left_out_and_counted(org, owner):
    past = backfill_incident(
        org,
        actor=member(owner),
        name="Old outage",
        impact="major",
        components=[],
        updates=[
            ("investigating", "Looking.", NOW - timedelta(days=3)),
            ("resolved", "Fixed.", NOW - timedelta(days=3) + 40 * MIN),
        ],
    )

    assert incident_score(past, now=NOW).recorded_later is True
    card = organization_scorecard(org, days=30, now=NOW)
    assert (card.incidents, card.recorded_later) == ([], 1)
    assert card.overall.incidents == 0
