"""What readers see of a promise (issue 12 §2): "Next update by 14:30" and "Last updated …" on
the status page and the incident page, rendered in the page's time zone for readers without
JavaScript, with UTC timestamps static/js/localtime.js counts from (tests/browser checks the
counting). The pages are cached, so an overdue promise is said as such when rendered late."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.incidents import services
from apps.incidents.models import Incident
from tests.factories import member

pytestmark = pytest.mark.django_db

PAGE = "/s/acme/"


@pytest.fixture
def berlin(org):
    org.timezone = "Europe/Berlin"
    org.save(update_fields=["timezone"])
    return org


@pytest.fixture
def incident(berlin, editor):
    return services.open_incident(
        berlin, actor=member(editor), name="API errors", status="investigating",
        body="Looking.", next_update_due=timezone.now() + timedelta(minutes=30),
    )  # fmt: skip


def incident_page(incident: Incident) -> str:
    return f"{PAGE}incidents/{incident.public_id}/"


def promise_html(html: str) -> str:
    match = re.search(r'<p class="sp-promise">.*?</p>', html, re.S)
    assert match, "no promise on the page"
    return match.group(0)


def test_the_status_page_says_when_the_next_update_is_due_in_the_pages_zone(client, incident):
    due = incident.next_update_due
    local = due.astimezone(incident.organization.tzinfo)

    promise = promise_html(client.get(PAGE).content.decode())

    assert "Next update by" in promise
    # Without JavaScript: the absolute time in the page's zone (CET/CEST).
    assert f"{local:%H:%M} {local.tzname()}" in promise
    # For JavaScript: the instant, in UTC, to count from in the reader's zone.
    assert f'data-next-update="{due:%Y-%m-%dT%H:%M:%SZ}"' in promise
    assert "data-next-update-in" in promise
    assert "Last updated" in promise
    assert "data-last-updated=" in promise


def test_the_incident_page_shows_the_same_promise(client, incident):
    promise = promise_html(client.get(incident_page(incident)).content.decode())

    assert "Next update by" in promise
    assert "Last updated" in promise


def test_an_overdue_promise_reads_honestly(client, incident):
    Incident.objects.filter(pk=incident.pk).update(
        next_update_due=timezone.now() - timedelta(minutes=8)
    )

    promise = promise_html(client.get(PAGE).content.decode())

    assert "Update overdue since" in promise
    assert "Next update by" not in promise
    assert "sp-overdue" in promise


def test_no_further_updates_until_resolved_is_said(client, incident, editor):
    services.post_update(
        incident, actor=member(editor), status="monitoring", body="A fix is out.",
        no_further_updates=True,
    )  # fmt: skip

    promise = promise_html(client.get(PAGE).content.decode())

    assert "No further updates until it is resolved." in promise
    assert "Next update by" not in promise


def test_a_resolved_incident_promises_nothing(client, incident, editor):
    services.resolve_incident(incident, actor=member(editor))

    html = client.get(incident_page(incident)).content.decode()

    assert "sp-promise" not in html
    # The page's words for its scripts (a JSON block in <head>) hold the phrase; the body not.
    assert "Next update by" not in html.split("<body")[1]


def test_a_new_update_changes_the_cached_page(
    client, incident, editor, django_capture_on_commit_callbacks
):
    first = promise_html(client.get(PAGE).content.decode())
    later = timezone.now() + timedelta(minutes=90)
    # The public page's content version is bumped on commit.
    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(
            incident, actor=member(editor), status="identified", body="Found it.",
            next_update_due=later,
        )  # fmt: skip

    second = promise_html(client.get(PAGE).content.decode())

    assert first != second
    assert f'data-next-update="{later:%Y-%m-%dT%H:%M:%SZ}"' in second
