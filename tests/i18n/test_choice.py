"""Which language a reader is answered in (apps/core/i18n.py, TenantMiddleware), the switcher
(apps/public/language.py) and what responses say they vary on."""

from __future__ import annotations

import pytest
from django.utils import translation

from apps.core import i18n

ALL = ["en", "de", "fr", "es", "ja"]


@pytest.mark.parametrize(
    ("offered", "default", "cookie", "header", "expected"),
    [
        (ALL, "en", None, None, "en"),
        (ALL, "fr", None, None, "fr"),
        (ALL, "en", None, "de-DE,de;q=0.9,en;q=0.8", "de"),
        (ALL, "en", None, "de-CH", "de"),
        (ALL, "en", None, "en;q=0.5, ja", "ja"),  # by weight, not order
        (ALL, "en", None, "fr, es", "fr"),  # equal weights keep their order
        (ALL, "en", None, "pt-BR, es;q=0.7", "es"),  # the first offered one
        (ALL, "en", None, "ja;q=0, de;q=0.1", "de"),  # q=0 means "not this"
        (ALL, "en", "ja", "de", "ja"),  # the switcher's cookie wins
        (ALL, "en", "xx", "de", "de"),  # an unknown cookie is ignored
        (["en", "fr"], "en", "de", "de, ja", "en"),  # neither is offered: the default
        (["en", "fr"], "fr", None, "*", "fr"),
        (ALL, "es", None, "garbage;;;q=abc,,,", "es"),
        (ALL, "en", None, "de;q=notanumber, fr", "fr"),
        (ALL, "en", "../../etc", "\x00\xff", "en"),
        (ALL, "en", None, "x" * 5000 + ",de", "en"),  # not read past MAX_HEADER
    ],
)
def test_the_language_a_reader_gets(offered, default, cookie, header, expected):
    assert i18n.choose(offered, default, cookie, header) == expected


def test_offered_languages_always_hold_the_default_in_candors_order():
    assert i18n.clean_offered(["ja", "de", "klingon"], "fr") == ["de", "fr", "ja"]
    assert i18n.supported("de-AT") == "de"
    assert i18n.supported("klingon") == "en"
    assert i18n.supported(None) == "en"


def test_the_cookie_value_is_read_from_a_raw_header():
    assert i18n.cookie_value("a=1; candor_language=ja; b=2") == "ja"
    assert i18n.cookie_value("xcandor_language=ja") == ""
    assert i18n.cookie_value("") == ""


@pytest.fixture
def page(org):
    org.default_language = "en"
    org.languages = ALL
    org.save()
    return org


def _language_of(response) -> str:
    return response["Content-Language"]


def test_a_public_page_answers_in_the_browsers_language(client, page):
    assert _language_of(client.get("/s/acme/", HTTP_ACCEPT_LANGUAGE="ja,en;q=0.5")) == "ja"
    assert _language_of(client.get("/s/acme/", HTTP_ACCEPT_LANGUAGE="de-CH")) == "de"
    assert _language_of(client.get("/s/acme/")) == "en"


def test_a_language_the_page_does_not_offer_falls_back_to_its_default(client, page):
    page.default_language = "fr"
    page.languages = ["fr", "es"]
    page.save()
    assert _language_of(client.get("/s/acme/", HTTP_ACCEPT_LANGUAGE="ja")) == "fr"
    client.cookies["candor_language"] = "de"
    assert _language_of(client.get("/s/acme/", HTTP_ACCEPT_LANGUAGE="es")) == "es"


def test_the_dashboard_stays_english(client, owner, page):
    client.force_login(owner)
    client.cookies["candor_language"] = "de"
    # A public request in German first: its language must not stay active afterwards.
    assert _language_of(client.get("/s/acme/", HTTP_ACCEPT_LANGUAGE="de")) == "de"
    response = client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="de", follow=True)
    assert response.status_code == 200
    assert response.context["LANGUAGE_CODE"] == "en"
    assert translation.get_language() == "en"


def test_the_switcher_sets_the_cookie_and_goes_back(client, page):
    response = client.get("/s/acme/language/ja/?next=/s/acme/history/")
    assert response.status_code == 302
    assert response["Location"] == "/s/acme/history/"
    morsel = response.cookies["candor_language"]
    assert morsel.value == "ja"
    assert morsel["samesite"] == "Lax"
    assert morsel["httponly"]
    assert int(morsel["max-age"]) == 365 * 24 * 60 * 60
    # The next page is in Japanese whatever the browser asks for.
    assert _language_of(client.get("/s/acme/history/", HTTP_ACCEPT_LANGUAGE="de")) == "ja"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/dashboard/", "/s/globex/", ""]
)
def test_the_switcher_never_sends_a_reader_elsewhere(client, page, other_org, target):
    response = client.get("/s/acme/language/de/", {"next": target})
    assert response["Location"] == "/s/acme/"


def test_an_unknown_or_switched_off_language_drops_the_cookie(client, page):
    page.languages = ["en", "de"]
    page.save()
    client.cookies["candor_language"] = "ja"
    response = client.get("/s/acme/language/ja/")
    assert response.status_code == 302
    assert response.cookies["candor_language"].value == ""
    response = client.get("/s/acme/language/klingon/")
    assert response["Location"] == "/s/acme/"
    assert response.cookies["candor_language"].value == ""


def test_responses_vary_on_language_only_where_a_page_offers_more_than_one(client, page):
    assert "Accept-Language" in client.get("/s/acme/")["Vary"]
    page.languages = ["de"]
    page.default_language = "de"
    page.save()
    response = client.get("/s/acme/", HTTP_ACCEPT_LANGUAGE="ja")
    assert "Accept-Language" not in response.get("Vary", "")
    assert _language_of(response) == "de"


def test_the_switcher_reads_only_its_own_pages_languages(client, page, other_org):
    # Cross-tenant: Globex offers Japanese, Acme does not; the switcher on Acme's page follows
    # Acme's choice and never sends the reader to Globex's page.
    page.languages = ["en", "de"]
    page.save()
    other_org.languages = ["en", "ja"]
    other_org.save()
    response = client.get("/s/acme/language/ja/", {"next": "/s/globex/"})
    assert response["Location"] == "/s/acme/"
    assert response.cookies["candor_language"].value == ""
    allowed = client.get("/s/globex/language/ja/", {"next": "/s/globex/history/"})
    assert allowed["Location"] == "/s/globex/history/"
    assert allowed.cookies["candor_language"].value == "ja"
