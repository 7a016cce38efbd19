"""Each incident's comment and affected counts on the status page, the history and the feeds,
linked to the incident's discussion; cached pages follow the counts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.forum import services as forum
from apps.forum.models import AffectedMark
from apps.organizations.principals import Customer, Member
from tests.factories import IncidentFactory, IncidentUpdateFactory, MaintenanceFactory, UserFactory
from tests.forum.factories import CommentFactory, ThreadFactory

from .test_api_v2 import bump, count_queries

ATOM = "{http://www.w3.org/2005/Atom}"


def html(client, url: str = "/s/acme/") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def discuss(incident, comments: int, affected: int) -> None:
    thread = ThreadFactory(incident=incident)
    for _ in range(comments):
        CommentFactory(thread=thread)
    CommentFactory(thread=thread, status="hidden", hidden_reason="Spam")
    AffectedMark.objects.bulk_create(
        AffectedMark(organization=incident.organization, incident=incident, user=UserFactory())
        for _ in range(affected)
    )


@pytest.fixture
def incidents(org):
    now = timezone.now()
    active = IncidentFactory(
        organization=org, name="Slow checkout", status="identified", started_at=now
    )
    past = IncidentFactory(
        organization=org, name="Login errors", status="resolved",
        started_at=now - timedelta(days=2), resolved_at=now - timedelta(days=2, hours=-1),
    )  # fmt: skip
    quiet = IncidentFactory(
        organization=org, name="Quiet blip", status="resolved",
        started_at=now - timedelta(days=3), resolved_at=now - timedelta(days=3, hours=-1),
    )  # fmt: skip
    maintenance = MaintenanceFactory(organization=org, name="Database upgrade")
    for item in (active, past, quiet):
        IncidentUpdateFactory(incident=item, body="An update.")
    discuss(active, comments=12, affected=40)
    discuss(past, comments=1, affected=0)
    discuss(maintenance, comments=2, affected=3)
    return {"active": active, "past": past, "quiet": quiet, "maintenance": maintenance}


def link(incident, text: str) -> str:
    return f'<a href="/s/acme/incidents/{incident.public_id}/#discussion">{text}<span'


def test_the_page_shows_each_incidents_counts_linked_to_its_discussion(client, incidents):
    body = html(client)
    active = body.split('id="active-heading"')[1].split('id="maintenance-heading"')[0]
    assert link(incidents["active"], "12 comments · 40 affected") in active
    past = body.split('id="past-heading"')[1]
    assert link(incidents["past"], "1 comment") in past
    assert link(incidents["active"], "12 comments · 40 affected") in past
    maintenance = body.split('id="maintenance-heading"')[1].split('id="components-heading"')[0]
    assert link(incidents["maintenance"], "2 comments · 3 affected") in maintenance
    # No line at all for an incident nobody discussed.
    assert f"incidents/{incidents['quiet'].public_id}/#discussion" not in body
    assert ": the discussion of <bdi>Login errors</bdi></span>" in body


def test_the_history_shows_the_counts(client, incidents):
    body = html(client, "/s/acme/history/")
    assert link(incidents["active"], "12 comments · 40 affected") in body
    assert link(incidents["past"], "1 comment") in body
    assert f"incidents/{incidents['quiet'].public_id}/#discussion" not in body


@pytest.mark.parametrize("name", ["history.atom", "history.rss"])
def test_the_feeds_carry_the_counts_in_each_entrys_content(client, incidents, name):
    response = client.get(f"/s/acme/{name}")
    assert response.status_code == 200
    document = response.content.decode()
    url = f"http://testserver/s/acme/incidents/{incidents['active'].public_id}/#discussion"
    assert f'Discussion: &lt;a href="{url}"&gt;12 comments · 40 affected&lt;/a&gt;' in document
    root = ET.fromstring(response.content)  # noqa: S314 - our own output, parsed in a test
    entries = root.findall(f"{ATOM}entry") or root.findall("channel/item")
    texts = {
        (entry.findtext(f"{ATOM}title") or entry.findtext("title")): (
            entry.findtext(f"{ATOM}summary") or entry.findtext("description") or ""
        )
        for entry in entries
    }
    assert "1 comment</a>" in texts["Login errors"]
    assert "Discussion:" not in texts["Quiet blip"]


def test_the_cached_page_follows_new_comments_marks_and_moderation(
    client, org, editor, incidents, django_capture_on_commit_callbacks
):
    quiet = incidents["quiet"]
    assert f"incidents/{quiet.public_id}/#discussion" not in html(client)
    customer = UserFactory(email="pat@customer.test", display_name="Pat")
    with django_capture_on_commit_callbacks(execute=True):
        comment = forum.post_comment(quiet, actor=Customer(customer, org), body="Same here.")
    assert link(quiet, "1 comment") in html(client)
    with django_capture_on_commit_callbacks(execute=True):
        forum.mark_affected(quiet, actor=Customer(customer, org))
    assert link(quiet, "1 comment · 1 affected") in html(client)
    assert link(quiet, "1 comment · 1 affected") in html(client, "/s/acme/history/")
    with django_capture_on_commit_callbacks(execute=True):
        forum.hide_comment(comment, actor=Member.of(editor, org), reason="Duplicate")
    assert link(quiet, "1 affected") in html(client)


def test_the_counts_cost_the_same_queries_for_few_or_many_incidents_and_comments(
    client, org, incidents
):
    """The page, the history and the feeds: one query for every incident's counts."""
    now = timezone.now()
    urls = ["/", "/history/", "/history.atom", "/history.rss"]
    small = {url: count_queries(client, f"/s/acme{url}") for url in urls}
    for n in range(20):
        incident = IncidentFactory(
            organization=org, status="resolved", started_at=now - timedelta(days=n % 10),
            resolved_at=now - timedelta(days=n % 10),
        )  # fmt: skip
        discuss(incident, comments=n % 5 + 1, affected=n % 3)
    bump(org)
    assert {url: count_queries(client, f"/s/acme{url}") for url in urls} == small
