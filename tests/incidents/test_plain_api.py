"""Management API: `/api/v1/text-check/`, the plain-language check for scripts."""

from __future__ import annotations

import pytest
from jsonschema import validate

from apps.incidents.models import PlainLanguageSettings
from apps.incidents.plain.services import save_plain_language_settings
from apps.organizations.models import AuditEntry
from tests.factories import member

URL = "/api/v1/text-check/"
TEXT = "We saw elevated latency from an upstream DNS provider. It was just a brief blip."

pytestmark = pytest.mark.django_db


def check(client, text, **extra):
    return client.post(URL, {"text": text, **extra}, content_type="application/json")


def test_it_works(api, api_key):
    response = check(api(api_key), TEXT)

    assert response.status_code == 200
    body = response.json()
    assert 0 <= body["reading_ease"]["score"] <= 100
    assert body["reading_ease"]["verdict"] in {"easy", "plain", "fairly_hard", "hard", "very_hard"}
    assert body["words"] == 15
    assert body["sentences"] == 2
    assert [j["term"] for j in body["jargon"]] == ["latency", "upstream", "DNS"]
    assert body["jargon"][0] == {
        "term": "latency",
        "found": "latency",
        "count": 1,
        "suggestion": "slowness, or “pages took several seconds to load”",
        "source": "built-in",
    }
    assert [m["phrase"] for m in body["minimising"]] == ["just", "brief blip"]
    assert body["long_sentences"] == []
    assert body["long_sentence_words"] == 25


def test_the_response_matches_the_published_schema(api, api_key, client):
    schema = client.get("/api/schema/?format=json").json()
    result = schema["components"]["schemas"]["TextCheckResult"]
    response = check(api(api_key), TEXT + " " + " ".join(["word"] * 30) + ".")
    validate(response.json(), {**result, "components": schema["components"]})


def test_it_uses_the_keys_organizations_lists(api, api_key, org, owner):
    save_plain_language_settings(
        org, actor=member(owner), own_jargon="edge node = one of our servers near you",
        known_terms="DNS", minimising_phrases="tiny", long_sentence_words=10,
    )  # fmt: skip
    body = check(api(api_key), "An edge node lost DNS for eleven long minutes, a tiny one.").json()

    assert [(j["term"], j["source"]) for j in body["jargon"]] == [("edge node", "organization")]
    assert [m["phrase"] for m in body["minimising"]] == ["tiny"]
    assert body["long_sentences"][0]["words"] == 12


def test_another_organizations_key_does_not_get_these_lists(api, other_api_key, org, owner):
    save_plain_language_settings(
        org, actor=member(owner), own_jargon="edge node = one of our servers near you",
        known_terms="", minimising_phrases="", long_sentence_words=25,
    )  # fmt: skip
    client = api(other_api_key)
    body = check(client, "An edge node failed. Just so.").json()

    assert body["jargon"] == []
    assert [m["phrase"] for m in body["minimising"]] == ["just"]
    assert "edge node" not in client.get(URL).content.decode()


def test_get_returns_the_lists_in_force(api, read_only_key):
    body = api(read_only_key).get(URL).json()

    assert body["long_sentence_words"] == 25
    assert {"term": "DNS", "forms": [], "suggestion": body["jargon"][1]["suggestion"],
            "source": "built-in"} == body["jargon"][1]  # fmt: skip
    assert body["minimising"][0]["phrase"] == "brief blip"


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({}, "text", "Give the text to check as `text`."),
        ({"text": ""}, "text", "Give the text to check."),
        ({"text": "   "}, "text", "Give the text to check."),
        ({"text": "x" * 20_001}, "text", "Check at most 20000 characters at a time"),
        ({"text": 42}, "text", "string"),
        ({"text": "ok", "lang": "en"}, "lang", "Unknown field."),
    ],
)
def test_bad_input_is_a_400_saying_what_is_wrong(api, api_key, payload, field, message):
    response = api(api_key).post(URL, payload, content_type="application/json")

    assert response.status_code == 400
    body = response.json()
    assert "detail" in body
    assert message in " ".join(body[field])


def test_a_body_that_is_not_json_is_refused(api, api_key):
    response = api(api_key).post(URL, "text=hello", content_type="application/json")
    assert response.status_code == 400


def test_a_read_only_key_gets_403(api, read_only_key):
    response = check(api(read_only_key), TEXT)

    assert response.status_code == 403
    assert "write scope" in response.json()["detail"]


def test_no_key_gets_401(client):
    assert check(client, TEXT).status_code == 401


def test_paths_below_it_are_404_for_any_key(api, other_api_key):
    response = api(other_api_key).post(
        URL + "acme/", {"text": "x"}, content_type="application/json"
    )
    assert response.status_code == 404


def test_checking_writes_nothing(api, api_key):
    check(api(api_key), TEXT)

    assert not AuditEntry.objects.exists()
    assert not PlainLanguageSettings.objects.exists()
