"""The outage page (apps/public/down.py): served at down/ for load balancers and CDNs, and
downloaded from the dashboard as one self-contained HTML file."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from tests.factories import DomainFactory, IncidentFactory, IncidentUpdateFactory

URL = "/s/acme/down/"
DOWNLOAD_URL = "/dashboard/acme/settings/banner/outage-page.html"


@pytest.fixture
def outage(org):
    incident = IncidentFactory(
        organization=org,
        name="Checkout is failing",
        next_update_due=datetime(2026, 12, 7, 14, 30, tzinfo=UTC),
    )
    IncidentUpdateFactory(incident=incident, body="Payments fail for some cards.\nWe are on it.")
    return incident


def body(client, url=URL, **extra) -> str:
    response = client.get(url, **extra)
    assert response.status_code == 200
    return response.content.decode()


def test_it_says_what_is_happening_the_latest_update_and_the_next_one(client, outage):
    page = body(client)
    assert "We know something is wrong and we are working on it" in page
    assert "Checkout is failing" in page
    assert "Payments fail for some cards.\nWe are on it." in page
    next_update = '<time datetime="2026-12-07T14:30:00Z" data-until>Dec 7, 14:30 UTC</time>'
    assert f"Next update by {next_update}" in page


def test_it_links_to_the_discussion_and_the_status_page(client, outage):
    page = body(client)
    assert f'href="http://testserver/s/acme/incidents/{outage.public_id}/#discussion"' in page
    assert 'href="http://testserver/s/acme/"' in page


def test_its_subscribe_form_leads_to_the_subscribe_page_with_the_address_filled_in(client, org):
    page = body(client)
    form = re.search(r'<form method="get" action="([^"]+)">', page)
    assert form is not None
    assert form.group(1) == "http://testserver/s/acme/subscribe/"
    assert 'name="email"' in page
    subscribe = client.get("/s/acme/subscribe/", {"email": "reader@example.org"})
    assert subscribe.status_code == 200
    assert 'value="reader@example.org"' in subscribe.content.decode()


def test_with_nothing_posted_it_says_so_honestly(client, org):
    page = body(client)
    assert "This service is not responding right now" in page
    assert "Nothing has been posted about it yet" in page


def test_it_is_self_contained(client, outage):
    page = body(client)
    assert "<style>" in page
    assert "<link" not in page
    assert "<script src" not in page
    assert "<img" not in page
    # The only thing it fetches is the banner data, to refresh itself (CORS).
    assert "http://testserver/s/acme/embed.json" in page
    assert "innerHTML" not in page


def test_it_is_cached_with_an_etag(client, outage):
    first = client.get(URL)
    assert first["ETag"]
    assert client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_untrusted_text_is_escaped(client, org):
    incident = IncidentFactory(organization=org, name="<script>alert(1)</script>")
    IncidentUpdateFactory(incident=incident, body="<b>bold</b>")
    page = body(client)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_on_a_custom_domain_links_stay_there(client, org, outage):
    DomainFactory(organization=org, hostname="status.acme.test", verified_at=datetime.now(UTC))
    page = body(client, "/down/", HTTP_HOST="status.acme.test")
    assert "http://status.acme.test/incidents/" in page
    assert 'action="http://status.acme.test/subscribe/"' in page


def test_an_unknown_page_has_no_outage_page(client, db):
    assert client.get("/s/nobody/down/").status_code == 404


# --- the download ----------------------------------------------------------------------------


def test_staff_download_it_as_one_file_with_the_last_known_state(client, viewer, org, outage):
    client.force_login(viewer)
    response = client.get(DOWNLOAD_URL)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="acme-outage-page.html"'
    page = response.content.decode()
    assert "Checkout is failing" in page
    assert "Saved " in page
    # It refreshes itself from the status page's canonical address.
    assert "http://localhost:8000/s/acme/embed.json" in page
    assert "<link" not in page and "<script src" not in page


def test_the_download_uses_the_verified_custom_domain(client, owner, org):
    DomainFactory(organization=org, hostname="status.acme.test", verified_at=timezone.now())
    client.force_login(owner)
    page = client.get(DOWNLOAD_URL).content.decode()
    assert "http://status.acme.test/embed.json" in page


def test_an_outsider_cannot_download_it(client, outsider, org):
    client.force_login(outsider)
    assert client.get(DOWNLOAD_URL).status_code == 404


def test_the_page_shows_the_next_update_time_only_when_promised(client, org):
    IncidentUpdateFactory(incident=IncidentFactory(organization=org, name="No promise"))
    page = body(client)
    assert "No promise" in page
    # Before the JSON blocks the script reads (its words are there, in the page's language).
    assert "Next update by" not in page.split("<script")[0]
