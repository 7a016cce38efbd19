"""The public status page, history and incident pages, as a reader (no login) sees them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from apps.organizations.models import Organization
from apps.public import api_v2, views_public
from apps.public import bars as public_bars
from apps.status import uptime
from apps.status.models import UptimeDay
from tests.factories import (
    ComponentFactory,
    ComponentGroupFactory,
    IncidentFactory,
    IncidentUpdateFactory,
    MaintenanceFactory,
    OrganizationFactory,
    UptimeDayFactory,
)

from .test_api_v2 import BIG, SMALL, build_history, bump, count_queries

HOST = "acme.status.localhost"


def html(client, url: str = "/s/acme/", **extra) -> str:
    response = client.get(url, **extra)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/html; charset=utf-8"
    return response.content.decode()


@pytest.fixture
def page(org):
    now = timezone.now()
    created = now - timedelta(days=200)
    api = ComponentGroupFactory(organization=org, name="API", position=1)
    rest = ComponentFactory(
        organization=org, group=api, name="REST", position=1, status="degraded_performance",
        created_at=created,
    )  # fmt: skip
    ComponentFactory(organization=org, group=api, name="GraphQL", position=2, created_at=created)
    website = ComponentFactory(
        organization=org, name="Website", position=2, created_at=created,
        description="The marketing site",
    )  # fmt: skip
    incident = IncidentFactory(
        organization=org, name="Slow REST responses", status="identified", impact="minor",
        started_at=now - timedelta(hours=2),
    )  # fmt: skip
    incident.components.add(rest)
    IncidentUpdateFactory(
        incident=incident, status="investigating", body="Looking into it.",
        display_at=now - timedelta(hours=2),
    )  # fmt: skip
    IncidentUpdateFactory(
        incident=incident, status="identified", body="Found a bad deploy; rolling back.",
        display_at=now - timedelta(hours=1),
    )  # fmt: skip
    maintenance = MaintenanceFactory(organization=org, name="Database upgrade")
    maintenance.components.add(website)
    return {"rest": rest, "website": website, "incident": incident, "maintenance": maintenance}


# --- the page --------------------------------------------------------------------------------


def test_it_works_on_the_path_url(client, page):
    body = html(client)
    assert "Acme Cloud" in body
    assert 'href="/s/acme/history/"' in body
    assert 'href="/s/acme/api/v2/summary.json"' in body


def test_it_works_on_the_tenant_host(client, page):
    body = html(client, "/", HTTP_HOST=HOST)
    assert "Acme Cloud" in body
    assert 'href="/history/"' in body
    assert "/s/acme/" not in body


def test_banner_shows_the_overall_status_as_word_icon_and_colour(client, page):
    body = html(client)
    assert 'class="sp-banner sp-tone-minor"' in body
    assert "Partially Degraded Service" in body
    assert "▲" in body


def test_components_show_their_status_and_groups_collapse(client, page):
    body = html(client)
    assert "REST" in body and "GraphQL" in body and "Website" in body
    assert "The marketing site" in body
    assert "Degraded performance" in body
    # The API group holds a degraded component, so it starts open.
    assert re.search(r'<details class="sp-group" open>\s*<summary>', body)


def test_only_show_if_degraded_components_are_hidden_while_operational(client, org):
    ComponentFactory(organization=org, name="Quiet thing", only_show_if_degraded=True)
    ComponentFactory(
        organization=org, name="Loud thing", only_show_if_degraded=True, status="major_outage"
    )
    body = html(client)
    assert "Quiet thing" not in body
    assert "Loud thing" in body


def test_active_incident_shows_its_latest_update(client, page):
    body = html(client)
    assert "Slow REST responses" in body
    active = body.split('id="active-heading"')[1].split('id="components-heading"')[0]
    assert "Found a bad deploy; rolling back." in active
    assert "Looking into it." not in active
    assert f'href="/s/acme/incidents/{page["incident"].public_id}/"' in active


def test_upcoming_maintenance_is_listed_with_its_window(client, page):
    body = html(client)
    section = body.split('id="maintenance-heading"')[1].split('id="components-heading"')[0]
    assert "Database upgrade" in section
    assert "Scheduled for" in section
    assert "Affects: <bdi>Website</bdi>" in section


def test_past_incidents_are_listed_day_by_day_for_fourteen_days(client, org):
    now = timezone.now()
    IncidentFactory(
        organization=org, name="Three days ago", status="resolved",
        started_at=now - timedelta(days=3),
    )  # fmt: skip
    IncidentFactory(
        organization=org, name="A month ago", status="resolved",
        started_at=now - timedelta(days=30),
    )  # fmt: skip
    body = html(client)
    past = body.split('id="past-heading"')[1]
    assert past.count('class="sp-day-title"') == 14
    assert "Three days ago" in past
    assert "A month ago" not in past
    assert past.count("No incidents reported.") == 13


def test_times_render_in_the_page_zone_with_utc_in_the_title(client, db):
    org = OrganizationFactory(slug="acme", name="Acme Cloud", timezone="America/Los_Angeles")
    incident = IncidentFactory(organization=org, name="Midday", status="investigating")
    IncidentUpdateFactory(incident=incident, display_at=datetime(2026, 1, 15, 20, 30, tzinfo=UTC))
    body = html(client)
    assert (
        '<time datetime="2026-01-15T20:30:00Z" title="Jan 15, 2026, 20:30 UTC" '
        'data-local="datetime">Jan 15, 2026, 12:30 PST</time>'
    ) in body
    assert "js/localtime.js" in body


def test_update_bodies_show_tags_as_typed_and_link_addresses(client, org):
    """Plain text with line breaks and links (apps/core/text.py): markup is shown, not run."""
    incident = IncidentFactory(organization=org)
    IncidentUpdateFactory(
        incident=incident,
        body='See <a href="https://example.com/x">the notes</a><script>alert(1)</script>\nBye',
    )
    body = html(client)
    assert (
        "See &lt;a href=&quot;"
        '<a href="https://example.com/x" rel="nofollow noopener noreferrer">'
        "https://example.com/x</a>&quot;&gt;the notes&lt;/a&gt;"
        "&lt;script&gt;alert(1)&lt;/script&gt;<br>Bye"
    ) in body
    assert "<script>alert(1)</script>" not in body


def test_page_with_nothing_on_it(client, org):
    body = html(client)
    assert "All Systems Operational" in body
    assert "No components are listed on this page yet." in body


# --- uptime bars -----------------------------------------------------------------------------


def test_uptime_bars_have_ninety_days_with_accessible_day_details(client, org):
    today = timezone.localdate(timezone=org.tzinfo)
    component = ComponentFactory(
        organization=org, name="Web", created_at=timezone.now() - timedelta(days=5)
    )
    UptimeDayFactory(
        component=component, date=today - timedelta(days=2), operational_seconds=86400 - 864,
        major_seconds=864, worst_status="major_outage",
    )  # fmt: skip
    # Noon of that day in the page's time zone: 14 minutes that never cross midnight, whatever
    # the hour the test runs.
    started = datetime.combine(today - timedelta(days=2), time(12), tzinfo=org.tzinfo)
    incident = IncidentFactory(
        organization=org, name="Web down", status="resolved",
        started_at=started, resolved_at=started + timedelta(minutes=14),
    )  # fmt: skip
    incident.components.add(component)
    body = html(client)
    bar = body.split('<div class="sp-bars"')[1].split("</div>")[0]
    # One image for screen readers, summed up once rather than read 90 cells one by one.
    assert bar.startswith(
        ' role="img" aria-label="Uptime of Web: 99.00 % uptime since '
        f"{today - timedelta(days=5):%b} {(today - timedelta(days=5)).day}, when it was added, "
        '1 day with issues"'
    )
    assert f'data-start="{today - timedelta(days=89):%Y-%m-%d}"' in bar
    cells = bar.split("<ol>")[1].split("</ol>")[0].split("<li")[1:]
    assert len(cells) == 90
    # Each day's colour: the outage two days ago; no data on every other day (before the
    # component existed, and the days it has no row for).
    assert cells[87] == ' class="m">'
    assert cells[:87] + cells[88:] == [' class="n">'] * 89
    day = (today - timedelta(days=2)).strftime("%b %-d, %Y")
    # The day's text is written once, in the list readers without hover (or JavaScript) get;
    # static/js/uptime.js shows it as the tooltip of cell 87 (tests/browser/test_uptime_bars).
    assert "1 day with issues" in body
    assert f'<li class="m" data-day="87">{day}: 99.00 % uptime. 1 incident: Web down</li>' in body
    assert body.count("Web down</li>") == 1
    # The script is a file of its own: no inline script (a CSP without unsafe-inline).
    assert '<script src="/static/js/uptime.js" defer></script>' in body
    assert "<script>" not in body


def test_a_bar_day_the_script_cannot_tell_carries_its_own_text(org):
    """An operational day with nothing measured has no issue and no 100 %: its text goes with
    the cell; the usual days (operational 100 %, no data) stay bare."""
    today = date(2026, 3, 1)
    component = ComponentFactory(organization=org, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    UptimeDayFactory(
        component=component, date=today - timedelta(days=1), operational_seconds=0,
        worst_status="operational",
    )  # fmt: skip
    UptimeDayFactory(component=component, date=today - timedelta(days=2))
    bar = uptime.uptime_bars(
        org, [component], today=today, now=datetime(2026, 3, 1, 12, tzinfo=UTC)
    )[component.pk]
    markup = views_public.bars_html(bar, "Web")
    cells = markup.split("<ol>")[1].split("</ol>")[0].split("<li")[1:]
    assert cells[-2] == ' class="" data-t="Feb 28, 2026: no data">'
    assert cells[-3] == ">"  # operational, 100.00 %
    assert cells[0] == ' class="n">'  # never recorded: "no data"
    assert markup.count("data-t=") == 1


def test_an_all_operational_bar_is_a_few_bytes_a_day(org):
    """The weight of the page (issue 13): 90 operational days in under 600 bytes, label and
    all, where each day used to carry its own tooltip text (about 110 bytes a day)."""
    today = date(2026, 3, 1)
    component = ComponentFactory(
        organization=org, name="Web", created_at=datetime(2025, 1, 1, tzinfo=UTC)
    )
    UptimeDay.objects.bulk_create(
        UptimeDay(organization=org, component=component, date=day, operational_seconds=86400)
        for day in uptime.window(today)
    )
    now = datetime(2026, 3, 2, tzinfo=UTC)
    bar = uptime.uptime_bars(org, [component], today=today, now=now)[component.pk]
    markup = views_public.bars_html(bar, "Web")
    assert markup.count("<li>") == 90
    assert "over the past 90 days, no days with issues" in markup
    assert len(markup.encode()) < 600


def test_uptime_bars_read_every_component_in_one_query(org, django_assert_num_queries):
    created = datetime(2026, 1, 1, tzinfo=UTC)  # rows before a component's creation don't count
    components = [ComponentFactory(organization=org, created_at=created) for _ in range(5)]
    today = date(2026, 3, 1)
    for component in components:
        for offset in range(3):
            UptimeDayFactory(component=component, date=today - timedelta(days=offset))
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    with django_assert_num_queries(1):  # uptime rows
        bars = uptime.uptime_bars(org, components, today=today, now=now)
    assert len(bars) == 5
    assert all(len(bar.days) == 90 for bar in bars.values())
    assert all(bar.percent == "100.00" for bar in bars.values())
    with django_assert_num_queries(2):  # uptime rows + incidents of the window
        page_bars = public_bars.uptime_bars(org, components, today=today, now=now)
    assert [bar.percent for bar in page_bars.values()] == ["100.00"] * 5


def test_the_page_bars_name_each_days_incidents_and_status_bars_name_none(org):
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    component = ComponentFactory(organization=org, created_at=now - timedelta(days=10))
    incident = IncidentFactory(
        organization=org, name="API errors", status="resolved",
        started_at=now - timedelta(days=2), resolved_at=now - timedelta(days=1),
    )  # fmt: skip
    incident.components.add(component)
    days_with_incidents = [
        (day.date, day.incidents)
        for day in public_bars.uptime_bars(org, [component], now=now)[component.pk].days
        if day.incidents
    ]
    tz = org.tzinfo
    started, resolved = (
        (now - timedelta(days=2)).astimezone(tz),
        (now - timedelta(days=1)).astimezone(tz),
    )
    assert days_with_incidents == [
        (started.date(), ["API errors"]),
        (resolved.date(), ["API errors"]),
    ]
    bar = uptime.uptime_bars(org, [component], now=now)[component.pk]
    assert [day for day in bar.days if day.incidents] == []


def test_today_counts_the_time_since_the_last_accounted_change(org):
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    component = ComponentFactory(
        organization=org, status="major_outage", created_at=now - timedelta(days=10),
        uptime_accounted_until=now - timedelta(hours=6),
    )  # fmt: skip
    UptimeDayFactory(
        component=component, date=date(2026, 3, 1), operational_seconds=6 * 3600,
        worst_status="major_outage",
    )  # fmt: skip
    bar = uptime.uptime_bars(org, [component], now=now)[component.pk]
    assert bar.days[-1].percent == "50.00"  # 6 h up, then 6 h of major outage so far
    assert UptimeDay.objects.get(component=component).major_seconds == 0  # nothing written


def test_percent_rounds_down_so_an_outage_never_reads_as_100():
    assert uptime.format_percent(0.99999) == "99.99"
    assert uptime.format_percent(1.0) == "100.00"
    assert uptime.format_percent(None) is None


# --- history ---------------------------------------------------------------------------------


def test_history_lists_three_months_a_page(client, org):
    today = timezone.localdate(timezone=org.tzinfo)
    this_month = today.replace(day=1)
    for months_back in range(7):
        index = this_month.year * 12 + this_month.month - 1 - months_back
        started = datetime(index // 12, index % 12 + 1, 10, 12, tzinfo=UTC)
        IncidentFactory(
            organization=org, name=f"Incident {months_back} months back", status="resolved",
            started_at=started, resolved_at=started + timedelta(minutes=90),
        )  # fmt: skip
    first = html(client, "/s/acme/history/")
    assert "Incident 0 months back" in first and "Incident 2 months back" in first
    assert "Incident 3 months back" not in first
    assert "lasted 1 hour 30 minutes" in first
    assert 'href="?page=2"' in first
    second = html(client, "/s/acme/history/?page=2")
    assert "Incident 3 months back" in second and "Incident 5 months back" in second
    third = html(client, "/s/acme/history/?page=3")
    assert "Incident 6 months back" in third
    assert 'href="?page=4"' not in third
    assert client.get("/s/acme/history/?page=4").status_code == 404
    assert client.get("/s/acme/history/?page=abc").status_code == 404


def test_history_of_a_new_page(client, org):
    body = html(client, "/s/acme/history/")
    assert body.count("No incidents reported this month.") == 3


# --- incident page ---------------------------------------------------------------------------


def test_incident_page_shows_the_full_timeline(client, org, page):
    incident = page["incident"]
    body = html(client, f"/s/acme/incidents/{incident.public_id}/")
    assert "<h1" in body and "Slow REST responses" in body
    timeline = body.split('id="updates-heading"')[1]
    assert timeline.index("Found a bad deploy") < timeline.index("Looking into it.")
    assert "Identified" in timeline and "Investigating" in timeline
    assert "API - REST" in body  # affected components, with their group
    assert "Ongoing" in body


def test_resolved_incident_shows_its_duration(client, org):
    started = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
    incident = IncidentFactory(
        organization=org, status="resolved", started_at=started,
        resolved_at=started + timedelta(hours=2, minutes=5),
    )  # fmt: skip
    body = html(client, f"/s/acme/incidents/{incident.public_id}/")
    assert "2 hours 5 minutes" in body


def test_incident_page_links_to_support_when_set(client, db):
    org = OrganizationFactory(
        slug="acme", name="Acme Cloud", support_url="https://help.acme.test/contact"
    )
    incident = IncidentFactory(organization=org)
    body = html(client, f"/s/acme/incidents/{incident.public_id}/")
    assert 'href="https://help.acme.test/contact"' in body


def test_incident_of_another_organization_is_404(client, org, other_org):
    theirs = IncidentFactory(organization=other_org)
    assert client.get(f"/s/acme/incidents/{theirs.public_id}/").status_code == 404
    assert client.get("/s/acme/incidents/nosuchthing1/").status_code == 404


# --- branding --------------------------------------------------------------------------------


def test_branding(client, db):
    OrganizationFactory(
        slug="acme", name="Acme Cloud", accent_color="#fde047", website_url="https://acme.test/",
        footer_text="Acme Cloud, Inc.",
    )  # fmt: skip
    body = html(client)
    assert "--accent: #fde047" in body
    assert "--accent-ink: #000000" in body  # black reads better on yellow
    assert 'href="https://acme.test/"' in body
    assert "Acme Cloud, Inc." in body


def test_accent_text_is_adjusted_to_readable_contrast():
    palette = views_public.accent_palette("#fde047")
    assert views_public.contrast(palette["accent_text"], "#ffffff") >= 4.5
    assert views_public.contrast(palette["accent_text_dark"], "#171a21") >= 4.5
    assert views_public.accent_palette("#1e3a8a")["accent_text"] == "#1e3a8a"  # already fine


# --- caching ---------------------------------------------------------------------------------


def test_page_carries_cache_headers_and_answers_304(client, page):
    first = client.get("/s/acme/")
    assert first["Cache-Control"] == "public, max-age=0, s-maxage=1, stale-if-error=86400"
    assert first["CDN-Cache-Control"] == (
        "public, max-age=1, stale-while-revalidate=1, stale-if-error=86400"
    )
    again = client.get("/s/acme/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def test_the_page_is_served_with_a_note_when_the_database_fails(client, org, page, monkeypatch):
    good = html(client)
    assert "may be out of date" not in good
    bump(org)

    def fail(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(api_v2, "load_components", fail)
    stale = client.get("/s/acme/")
    assert stale.status_code == 200
    assert "This page may be out of date." in stale.content.decode()
    assert "Slow REST responses" in stale.content.decode()
    assert stale["X-Status-Page-Stale"] == "true"
    # A front cache asks again after a second, so the note leaves it soon after the database
    # is back; browsers may keep it a little longer.
    assert stale["Cache-Control"] == "public, max-age=10, s-maxage=1"


def test_host_and_path_modes_are_cached_separately(client, page):
    assert 'href="/s/acme/history/"' in html(client)
    assert 'href="/history/"' in html(client, "/", HTTP_HOST=HOST)


# --- query count -----------------------------------------------------------------------------

PAGE_MAX_QUERIES = 12


def test_query_count_does_not_grow_with_history(
    client, org, other_org, django_assert_max_num_queries
):
    """Page, history and an incident page, cold cache: a fixed number of queries for 50
    components, 500 incidents and two years of uptime, the same as for a tiny page."""
    build_history(org, **BIG)
    build_history(other_org, **SMALL)
    big_incident = org_incident(org)
    small_incident = org_incident(other_org)
    pairs = [
        ("/s/acme/", "/s/globex/"),
        ("/s/acme/history/", "/s/globex/history/"),
        (f"/s/acme/incidents/{big_incident}/", f"/s/globex/incidents/{small_incident}/"),
    ]
    for big_url, small_url in pairs:
        with django_assert_max_num_queries(PAGE_MAX_QUERIES):
            client.get(big_url)
        small = count_queries(client, small_url)
        bump(org)
        assert count_queries(client, big_url) == small, big_url


def org_incident(org: Organization) -> str:
    return api_v2.incidents_queryset(org).values_list("public_id", flat=True).first()


def test_every_public_page_offers_to_subscribe(client, org):
    page = client.get("/s/acme/").content.decode()
    assert 'href="/s/acme/subscribe/"' in page
    assert "Subscribe to updates" in page
