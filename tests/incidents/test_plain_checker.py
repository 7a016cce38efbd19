"""The plain-language checker: reading ease, long sentences, jargon and minimising phrases."""

from __future__ import annotations

import pytest

from apps.incidents.plain.checker import (
    BUILTIN_JARGON,
    DEFAULT_LONG_SENTENCE_WORDS,
    check_text,
    parse_jargon,
    parse_known_terms,
    parse_phrases,
    sentences_of,
    word_lists,
)


def jargon_terms(text: str, lists=None) -> list[str]:
    return [found.term for found in check_text(text, lists).jargon]


def minimising_phrases(text: str, lists=None) -> list[str]:
    return [found.phrase for found in check_text(text, lists).minimising]


def test_plain_text_scores_high_and_has_no_hints():
    findings = check_text("Some of you could not sign in. We fixed it at 10:40. Sorry.")
    assert findings.reading_ease.score >= 70
    assert findings.reading_ease.verdict == "easy"
    assert findings.hint_count == 0


def test_dense_text_scores_low_with_a_plain_verdict():
    findings = check_text(
        "Intermittent authentication infrastructure degradation necessitated comprehensive "
        "remediation activities across geographically distributed availability zones."
    )
    assert findings.reading_ease.score < 30
    assert findings.reading_ease.verdict == "very_hard"
    assert findings.reading_ease.label.startswith("Very hard")


def test_no_words_has_no_score():
    findings = check_text("  \n ... ")
    assert findings.reading_ease.score is None
    assert findings.empty


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We saw high latency.", ["latency"]),
        ("Latencies rose.", ["latency"]),
        ("The dns servers failed.", ["DNS"]),
        ("A DNS-level cache broke.", ["DNS"]),
        ("Our upstream provider failed.", ["upstream"]),
        ("You saw 503 errors.", ["5xx"]),
        ("We failed over to Dublin.", ["failover"]),
        ("The RCA follows.", ["RCA"]),
        ("p99 rose to 4 s.", ["p99"]),
        ("Search is degraded.", ["degraded"]),
        ("The root cause was a bad disk.", ["root cause"]),
        ("We mitigated it.", ["mitigated"]),
    ],
)
def test_builtin_jargon_is_found_as_whole_words_in_any_case(text, expected):
    assert jargon_terms(text) == expected


def test_jargon_inside_other_words_or_addresses_is_not_found():
    assert jargon_terms("The sdnsx tool and rcas.") == []
    assert jargon_terms("Read https://upstream.example.com/latency for details.") == []
    assert jargon_terms("Write to dns@example.com or see www.rca.example.") == []


def test_a_maximum_length_text_without_spaces_is_still_checked():
    findings = check_text("a" * 20_000)
    assert (findings.words, findings.reading_ease.verdict) == (1, "easy")


def test_every_builtin_term_has_a_plainer_suggestion():
    assert all(entry.suggestion for entry in BUILTIN_JARGON)
    assert {"latency", "DNS", "upstream", "5xx", "failover", "RCA", "p99", "degraded"} <= {
        entry.term for entry in BUILTIN_JARGON
    }


def test_jargon_findings_say_what_was_written_how_often_and_what_to_say_instead():
    (found,) = check_text("Latency here, latency there.").jargon
    assert (found.found, found.count, found.source) == ("Latency", 2, "built-in")
    assert "slowness" in found.suggestion


def test_overlapping_jargon_is_one_finding_for_the_longest():
    assert jargon_terms("We saw elevated error rates.") == ["elevated error rates"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It was just a brief blip.", ["just", "brief blip"]),
        ("Only a few users saw it.", ["only a few users"]),
        ("A minor hiccup, sorry.", ["minor hiccup"]),
        ("We apologise for any inconvenience.", ["any inconvenience"]),
        ("Just now it failed.", ["just"]),
    ],
)
def test_minimising_phrases_get_a_gentle_warning(text, expected):
    assert minimising_phrases(text) == expected


def test_minimising_words_are_not_found_inside_other_words():
    assert minimising_phrases("Justice, adjusted, just-in-time delivery and blips-free.") == []


def test_minimising_findings_carry_a_hint():
    (found,) = check_text("It was a brief blip.").minimising
    assert "how long it lasted" in found.hint


def test_long_sentences_are_listed_with_their_length_and_first_words():
    long_one = " ".join(["word"] * 30) + "."
    findings = check_text(f"Short one here. {long_one}")
    (sentence,) = findings.long_sentences
    assert sentence.words == 30
    assert sentence.excerpt.endswith("…")
    assert findings.long_sentence_words == DEFAULT_LONG_SENTENCE_WORDS


def test_line_breaks_end_sentences():
    assert sentences_of("Line one\nLine two. Three!") == ["Line one", "Line two.", "Three!"]


def test_the_organizations_own_jargon_is_found_with_its_suggestion():
    lists = word_lists(own_jargon="edge node = one of our servers near you\nBifrost")
    findings = check_text("An edge node and Bifrost failed.", lists)
    assert [(j.term, j.suggestion, j.source) for j in findings.jargon] == [
        ("edge node", "one of our servers near you", "organization"),
        ("Bifrost", "everyday words your readers use", "organization"),
    ]


def test_the_organizations_own_entry_wins_over_the_builtin_one():
    lists = word_lists(own_jargon="DNS = name lookup")
    (found,) = check_text("DNS failed.", lists).jargon
    assert (found.suggestion, found.source) == ("name lookup", "organization")


def test_known_terms_are_not_flagged():
    lists = word_lists(known_terms="DNS\nlatency")
    assert jargon_terms("DNS latency and upstream.", lists) == ["upstream"]


def test_the_minimising_list_is_the_organizations_own():
    lists = word_lists(minimising_phrases="tiny")
    assert minimising_phrases("A tiny issue, just so.", lists) == ["tiny"]
    assert check_text("tiny", lists).minimising[0].hint.startswith("“tiny” can read")
    assert minimising_phrases("just so", word_lists(minimising_phrases="")) == []


def test_the_sentence_limit_is_the_organizations():
    lists = word_lists(long_sentence_words=10)
    assert len(check_text(" ".join(["word"] * 11) + ".", lists).long_sentences) == 1


def test_list_parsing_names_each_bad_line():
    assert parse_jargon("ok = fine\n = nothing\n" + "x" * 61)[1] == [
        "Line 2: write the term before “=”.",
        "Line 3: keep the term under 60 characters.",
    ]
    assert parse_known_terms("DNS\nfoo")[1] == [
        "“foo” is not on the built-in list; add your own terms under “Your own jargon”."
    ]
    assert parse_phrases("fine\n---")[1] == ["Line 2: a phrase needs at least one word."]
    assert parse_phrases("\n".join(f"p{n}" for n in range(201)))[1] == [
        "Keep the list to 200 phrases (it has 201)."
    ]
