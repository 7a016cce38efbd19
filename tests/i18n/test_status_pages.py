"""The status pages in the reader's language: structure that holds whatever the catalogs say.

Real translated text is tested once the catalogs land; here: the page says which language it
is in, offers the others, keeps staff text's direction, hands its scripts their words, and the
machine-readable API stays the same in every language.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from apps.public import badge, caching, embed
from apps.public.dates import local_format, time_html
from apps.public.templatetags.public_i18n import js_strings
from tests.factories import ComponentFactory, IncidentFactory, IncidentUpdateFactory

PAGE = "/s/acme/"


def get(client, url: str = PAGE, language: str = "en") -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def json_block(body: str, element_id: str) -> dict:
    found = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', body, re.S
    )
    assert found, element_id
    return json.loads(found.group(1))


@pytest.fixture
def open_incident(org):
    org.footer_text = "Footer written by staff"
    org.save(update_fields=["footer_text"])
    component = ComponentFactory(
        organization=org, name="Checkout", description="Card payments", status="partial_outage"
    )
    incident = IncidentFactory(
        organization=org, name="Payments fail", status="identified", impact="major",
        started_at=timezone.now() - timedelta(hours=1),
    )  # fmt: skip
    incident.components.add(component)
    IncidentUpdateFactory(incident=incident, status="identified", body="We found the cause.")
    return incident


@pytest.mark.parametrize("language", ["en", "de", "ja"])
def test_the_page_says_which_language_it_is_in(client, org, language):
    assert f'<html lang="{language}">' in get(client, language=language)


def test_the_history_and_incident_pages_say_it_too(client, org, open_incident):
    assert '<html lang="fr">' in get(client, PAGE + "history/", "fr")
    incident_page = get(client, f"{PAGE}incidents/{open_incident.public_id}/", "fr")
    assert '<html lang="fr">' in incident_page


def test_the_switcher_links_every_other_offered_language(client, org):
    org.languages = ["en", "de", "ja"]
    org.save(update_fields=["languages"])
    body = get(client, language="de")
    # The nav's label is in the page's language ("Sprache").
    switcher = body.split('<nav class="sp-languages" aria-label="Sprache">')[1].split("</nav>")[0]
    assert '<span lang="de" aria-current="true">Deutsch</span>' in switcher
    assert 'lang="en" hreflang="en">English</a>' in switcher
    assert 'lang="ja" hreflang="ja">日本語</a>' in switcher
    assert 'hreflang="de"' not in switcher
    assert switcher.count("<li>") == 3


def test_a_page_with_one_language_has_no_switcher(client, org):
    org.languages = ["en"]
    org.save(update_fields=["languages"])
    assert "sp-languages" not in get(client, language="de")


def test_staff_written_text_keeps_its_own_direction(client, org, open_incident):
    body = get(client)
    assert '<span class="sp-name" dir="auto">Checkout</span>' in body
    assert '<span class="sp-desc" dir="auto">Card payments</span>' in body
    assert 'dir="auto"><a href="/s/acme/incidents/' in body
    assert '<div class="sp-update-body" dir="auto">' in body
    assert '<p class="sp-footer-text" dir="auto">Footer written by staff</p>' in body
    assert '<span class="sp-brand-name" dir="auto">Acme Cloud</span>' in body
    incident_page = get(client, f"{PAGE}incidents/{open_incident.public_id}/")
    assert '<h1 id="incident-title" dir="auto">Payments fail</h1>' in incident_page


def test_the_scripts_get_their_words_as_data(client, org, open_incident):
    body = get(client, language="ja")
    words = json_block(body, "candor-strings")
    assert set(words) >= {"justNow", "updated", "nextUpdateBy", "dayUptime", "dayNoData"}
    # Placeholders the scripts fill in, not Python's.
    assert "{when}" in words["updated"]
    assert "{date}" in words["dayUptime"] and "{percent}" in words["dayUptime"]
    assert "%(" not in json.dumps(words)


def test_the_script_words_are_the_servers_messages():
    with translation.override("en"):
        words = js_strings()
    assert words["updated"] == "Updated {when}"
    assert words["dayUptime"] == "{date}: {percent} % uptime"


def test_dates_follow_the_language_and_english_keeps_its_formats():
    moment = datetime(2026, 12, 7, 14, 30, tzinfo=UTC)
    with translation.override("en"):
        assert local_format(moment, "short", zone=True) == "Dec 7, 14:30 UTC"
        assert local_format(date(2026, 12, 7), "long_date") == "December 7, 2026"
    with translation.override("ja"):
        assert local_format(moment, "short") == "12月7日 14:30"
        assert local_format(date(2026, 12, 1), "month") == "2026年12月"
    with translation.override("de"):
        assert local_format(moment, "datetime") == "7. Dez 2026, 14:30"


def test_a_time_keeps_its_utc_title_in_every_language():
    moment = datetime(2026, 12, 7, 14, 30, tzinfo=UTC)
    with translation.override("ja"):
        html = time_html(moment, ZoneInfo("Asia/Tokyo"))
    assert 'datetime="2026-12-07T14:30:00Z"' in html
    assert 'title="2026年12月7日 14:30 UTC"' in html
    assert ">2026年12月7日 23:30 JST</time>" in html


def test_the_badge_is_drawn_in_japanese(client, org, open_incident):
    response = client.get(PAGE + "badge.svg", HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)  # noqa: S314 - our own output, in a test
    assert root.get("role") == "img"


def test_the_badge_makes_room_for_wide_characters():
    # 稼働中 ("operational"): three characters as wide as the font is high.
    assert badge.text_width("稼働中") > badge.text_width("abc") + 10
    svg = badge.badge_svg("Acme", "稼働中", "operational")
    assert "稼働中" in svg


def test_the_banner_script_carries_its_words_in_the_readers_language(client, org):
    response = client.get(PAGE + "embed.js", HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 200
    source = response.content.decode()
    assert '"lang":"ja"' in source
    assert "candor:strings" not in source
    assert len(response.content) < 5000
    english = client.get(PAGE + "embed.js", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '"lang":"en"' in english


def test_the_banner_data_and_the_outage_page_render_in_japanese(client, org, open_incident):
    data = json.loads(get(client, PAGE + "embed.json", "ja"))
    assert data["items"][0]["label"]
    down = get(client, PAGE + "down/", "ja")
    assert '<html lang="ja"' in down
    words = json_block(down, "down-strings")
    assert "{time}" in words["checked"]


def test_the_stale_note_and_the_unavailable_text_render_in_any_language():
    with translation.override("ja"):
        note = caching.stale_note()
        assert note.startswith('<div class="stale-note" role="status"><strong>')
        assert caching._unavailable(cors=False).status_code == 503


def test_the_status_api_says_the_same_in_every_language(client, org, open_incident):
    for name in ("summary.json", "status.json", "components.json", "incidents.json"):
        english = client.get(f"{PAGE}api/v2/{name}", HTTP_ACCEPT_LANGUAGE="en")
        german = client.get(f"{PAGE}api/v2/{name}", HTTP_ACCEPT_LANGUAGE="de")
        assert english.status_code == german.status_code == 200, name
        assert json.loads(german.content) == json.loads(english.content), name


def test_the_banner_words_are_only_the_banners():
    with translation.override("en"):
        source = embed._script_in("en")
    assert "notResponding" not in source
    assert "Details and discussion" in source
