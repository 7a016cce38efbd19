"""Atom and RSS history feeds and the maintenance iCalendar."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from apps.public.feeds import ics_escape, ics_fold
from tests.factories import (
    ComponentFactory,
    ComponentGroupFactory,
    IncidentFactory,
    IncidentUpdateFactory,
    MaintenanceFactory,
)

from .test_api_v2 import BIG, SMALL, build_history, bump, count_queries

ATOM = "{http://www.w3.org/2005/Atom}"


def parse(document: bytes) -> ET.Element:
    return ET.fromstring(document)  # noqa: S314 - our own output, parsed in a test


@pytest.fixture
def history(org):
    group = ComponentGroupFactory(organization=org, name="API")
    rest = ComponentFactory(organization=org, group=group, name="REST")
    started = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    incident = IncidentFactory(
        organization=org, name="Errors & retries", status="resolved", started_at=started,
        resolved_at=started + timedelta(hours=1), updated_at=started + timedelta(hours=1),
    )  # fmt: skip
    incident.components.add(rest)
    IncidentUpdateFactory(incident=incident, status="investigating", display_at=started)
    IncidentUpdateFactory(
        incident=incident, status="resolved", body="This incident has been resolved.",
        display_at=started + timedelta(hours=1),
    )  # fmt: skip
    maintenance = MaintenanceFactory(
        organization=org, name="Upgrade; database, cache \\ queue",
        scheduled_for=datetime(2026, 6, 1, 22, 0, tzinfo=UTC),
        scheduled_until=datetime(2026, 6, 2, 1, 30, tzinfo=UTC),
        updated_at=datetime(2026, 5, 20, 9, 15, 30, tzinfo=UTC),
    )  # fmt: skip
    maintenance.components.add(rest)
    IncidentUpdateFactory(
        incident=maintenance, status="scheduled",
        body="We will be undergoing scheduled maintenance during this time.\nExpect short "
        "interruptions of the REST API while each node restarts; plan batch jobs around it. "
        "Ünïcödé text keeps its characters whole when lines are folded.",
    )  # fmt: skip
    return {"incident": incident, "maintenance": maintenance}


# --- Atom and RSS ----------------------------------------------------------------------------


def test_atom_feed_is_valid_and_lists_incidents_with_their_updates(client, org, history):
    response = client.get("/s/acme/history.atom")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = parse(response.content)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{required}") is not None, required
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "Upgrade; database, cache \\ queue",
        "Errors & retries",
    ]
    incident = entries[1]
    url = f"http://testserver/s/acme/incidents/{history['incident'].public_id}/"
    assert incident.findtext(f"{ATOM}id") == url
    assert incident.find(f"{ATOM}link").get("href") == url
    assert incident.findtext(f"{ATOM}updated") == "2026-05-04T11:00:00+00:00"
    summary = incident.findtext(f"{ATOM}summary")
    assert "This incident has been resolved." in summary
    assert "Investigating" in summary
    assert "API - REST" in summary


def test_rss_feed_is_valid(client, org, history):
    response = client.get("/s/acme/history.rss")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/rss+xml; charset=utf-8"
    root = parse(response.content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    for required in ("title", "link", "description"):
        assert channel.findtext(required), required
    items = channel.findall("item")
    assert len(items) == 2
    for item in items:
        for required in ("title", "link", "description", "guid", "pubDate"):
            assert item.findtext(required), required


def test_feed_aliases_serve_the_same_documents(client, history):
    assert client.get("/s/acme/feed.atom").content == client.get("/s/acme/history.atom").content
    assert client.get("/s/acme/feed.rss").content == client.get("/s/acme/history.rss").content


def test_empty_feeds_are_valid(client, org):
    root = parse(client.get("/s/acme/history.atom").content)
    assert root.findtext(f"{ATOM}updated")
    assert root.findall(f"{ATOM}entry") == []
    parse(client.get("/s/acme/history.rss").content)


def test_feed_links_follow_the_routing_mode(client, history):
    body = client.get("/history.atom", HTTP_HOST="acme.status.localhost").content.decode()
    assert "http://acme.status.localhost/incidents/" in body
    assert "/s/acme/" not in body


def test_feeds_are_cached_with_etags(client, history):
    first = client.get("/s/acme/history.rss")
    assert "max-age=0" in first["Cache-Control"]
    assert "s-maxage=1" in first["Cache-Control"]
    assert client.get("/s/acme/history.rss", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


# --- iCalendar -------------------------------------------------------------------------------


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_maintenance_calendar_follows_rfc_5545(client, org, history):
    response = client.get("/s/acme/maintenance.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    raw = response.content
    text = raw.decode()
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")  # no bare line feeds
    physical = raw.split(b"\r\n")
    assert all(len(line) <= 75 for line in physical)
    assert any(line.startswith(b" ") for line in physical)  # the long description was folded
    physical[-1:] = []  # the text ends with CRLF
    for line in physical:
        line.decode()  # folding never splits a UTF-8 character

    lines = unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines[-2] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines
    assert any(line.startswith("PRODID:") for line in lines)
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == 1
    event = dict(line.split(":", 1) for line in lines if ":" in line)
    assert event["UID"] == f"{history['maintenance'].public_id}@testserver"
    assert event["DTSTAMP"] == "20260520T091530Z"
    assert event["DTSTART"] == "20260601T220000Z"
    assert event["DTEND"] == "20260602T013000Z"
    assert event["SUMMARY"] == "Upgrade\\; database\\, cache \\\\ queue"
    assert event["DESCRIPTION"].startswith(
        "We will be undergoing scheduled maintenance during this time.\\nExpect short"
    )
    assert "Ünïcödé" in event["DESCRIPTION"]
    assert "Affected: API - REST" in event["DESCRIPTION"]
    assert re.fullmatch(r"https?://\S+/incidents/[a-z0-9]{12}/", event["URL"])


def test_calendar_lists_only_maintenances(client, history):
    text = client.get("/s/acme/maintenance.ics").content.decode()
    assert "Errors & retries" not in text


def test_ics_escape():
    assert ics_escape("a;b,c\\d\ne") == "a\\;b\\,c\\\\d\\ne"


def test_ics_fold_counts_octets_and_keeps_characters_whole():
    line = "DESCRIPTION:" + "é" * 100
    folded = ics_fold(line)
    parts = folded.split("\r\n")
    assert all(len(part.encode()) <= 75 for part in parts)
    assert all(part.startswith(" ") for part in parts[1:])
    assert folded.replace("\r\n ", "") == line
    assert ics_fold("SHORT:line") == "SHORT:line"


# --- query count -----------------------------------------------------------------------------

FEED_MAX_QUERIES = 7


def test_query_count_does_not_grow_with_history(
    client, org, other_org, django_assert_max_num_queries
):
    build_history(org, **BIG)
    build_history(other_org, **SMALL)
    for name in ("history.atom", "history.rss", "maintenance.ics"):
        with django_assert_max_num_queries(FEED_MAX_QUERIES):
            client.get(f"/s/acme/{name}")
        small = count_queries(client, f"/s/globex/{name}")
        bump(org)
        assert count_queries(client, f"/s/acme/{name}") == small, name
