"""The plain-language checker: what a reader of a status page would trip over.

`check_text(text, lists)` gives the reading-ease score (Flesch reading ease, computed by
textstat, with a plain verdict), the sentences longer than the organization's limit, the jargon
found (the built-in list below plus the organization's own, each with a plainer suggestion) and
phrases that play the impact down ("brief blip", "just", "only a few users"). It never decides
anything: the dashboard shows the findings beside the form and the API returns them.

Terms and phrases match whole words, in any case: "just" is not found in "justice" or
"adjust", "DNS" is found in "dns" and in "DNS-level". Web and email addresses are left out of
the search (an "upstream.example.com" link is not jargon).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import textstat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

T = TypeVar("T")

# Limits on what one check reads (the API refuses longer text with a 400; the dashboard checks
# what staff may publish, which is shorter).
MAX_TEXT_CHARS = 20_000
DEFAULT_LONG_SENTENCE_WORDS = 25
MIN_LONG_SENTENCE_WORDS = 10
MAX_LONG_SENTENCE_WORDS = 80
MAX_LIST_LINES = 200
MAX_TERM_CHARS = 60
MAX_SUGGESTION_CHARS = 200
# Long sentences are quoted up to this many words in the findings, so staff can find them.
SENTENCE_EXCERPT_WORDS = 12


@dataclass(frozen=True)
class Jargon:
    """A term readers may not know, the plainer words to use, and the spellings that count."""

    term: str
    suggestion: str
    forms: tuple[str, ...] = ()
    builtin: bool = True

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.term, *self.forms)


# The built-in list: words from engineers' incident notes that customers do not use.
BUILTIN_JARGON: tuple[Jargon, ...] = (
    Jargon("latency", "slowness, or “pages took several seconds to load”", ("latencies",)),
    Jargon("DNS", "the system that finds our servers from our web address"),
    Jargon("upstream", "a provider we rely on (name it if you can)", ("upstream provider",)),
    Jargon(
        "5xx",
        "errors (“you saw an error page”)",
        ("5xx errors", "500 errors", "502 errors", "503 errors", "504 errors", "HTTP 5xx"),
    ),
    Jargon("failover", "switching to our backup systems", ("failed over", "fail over")),
    Jargon("RCA", "the full account of why it happened"),
    Jargon("p99", "the slowest requests"),
    Jargon("p95", "the slowest requests"),
    Jargon("degraded", "slower than usual, or partly working", ("degradation",)),
    Jargon("root cause", "why it happened", ("root causes",)),
    Jargon("mitigated", "reduced the problem, or worked around it", ("mitigation", "mitigate")),
    Jargon("remediation", "the fix", ("remediated", "remediate")),
    Jargon("elevated error rates", "more errors than usual", ("elevated errors",)),
    Jargon("error rate", "share of requests that failed", ("error rates",)),
    Jargon("intermittent", "on and off", ("intermittently",)),
    Jargon("packet loss", "lost connections"),
    Jargon("rollback", "undoing the change", ("rolled back", "roll back")),
    Jargon("hotfix", "a quick fix", ("hot fix", "hotfixes")),
    Jargon("deployment", "a change we released", ("deployments",)),
    Jargon("misconfiguration", "a wrong setting", ("misconfigured",)),
    Jargon(
        "load balancer", "the system that shares traffic between our servers", ("load balancers",)
    ),
    Jargon("CDN", "the network that delivers our pages"),
    Jargon("throughput", "how much we could handle"),
    Jargon("timeouts", "requests that took too long and failed", ("timed out", "timeout")),
    Jargon("SLA", "our service promise", ("SLAs",)),
    Jargon("impacted", "affected"),
    Jargon("regression", "a problem a recent change brought back", ("regressions",)),
    Jargon("TLS", "the secure connection to our site", ("SSL",)),
)
BUILTIN_TERMS = {
    spelling.lower(): entry for entry in BUILTIN_JARGON for spelling in entry.spellings
}

MINIMISING_HINT = (
    "can read as playing down what readers went through. Say plainly what happened and to whom."
)
# The default list of phrases that play the impact down, with a hint for each; an organization
# edits the list (its own phrases get MINIMISING_HINT).
BUILTIN_MINIMISING: dict[str, str] = {
    "brief blip": "Say how long it lasted (“for 14 minutes”) instead of calling it a blip.",
    "blip": "Say how long it lasted (“for 14 minutes”) instead of calling it a blip.",
    "minor hiccup": "Say what went wrong and for how long; it was not minor to those affected.",
    "hiccup": "Say what went wrong and for how long.",
    "just": "“Just” makes the problem sound smaller than readers felt it. Leave it out.",
    "simply": "“Simply” makes the problem sound smaller than readers felt it. Leave it out.",
    "only a few users": "Give the number or say who was affected: to them it was everything.",
    "only a small number of": "Give the number or say who was affected.",
    "a handful of": "Give the number or say who was affected.",
    "a small subset of": "Give the number or say who was affected.",
    "minor inconvenience": "Say what the trouble was and that you are sorry for it.",
    "slight inconvenience": "Say what the trouble was and that you are sorry for it.",
    "any inconvenience": "Sounds like a form letter: say what the trouble was, and apologise.",
}


def default_minimising_text() -> str:
    """The default phrase list as the settings form shows it (one a line)."""
    return "\n".join(BUILTIN_MINIMISING)


@dataclass(frozen=True)
class WordLists:
    """What one organization's checks use."""

    jargon: tuple[Jargon, ...] = BUILTIN_JARGON
    minimising: tuple[str, ...] = tuple(BUILTIN_MINIMISING)
    long_sentence_words: int = DEFAULT_LONG_SENTENCE_WORDS


# --- the organization's lists, as typed in the settings form ------------------------------------


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in (text or "").splitlines() if line.strip()]


def parse_jargon(text: str) -> tuple[list[Jargon], list[str]]:
    """("term = plainer words" lines) -> (terms, errors naming the line). The suggestion may be
    left out."""
    terms: list[Jargon] = []
    errors: list[str] = []
    seen: set[str] = set()
    lines = _lines(text)
    if len(lines) > MAX_LIST_LINES:
        return [], [
            _("Keep the list to %(max)s terms (it has %(count)s).")
            % {"max": MAX_LIST_LINES, "count": len(lines)}
        ]
    for number, line in enumerate(lines, start=1):
        term, _sep, suggestion = (part.strip() for part in line.partition("="))
        if not re.search(r"\w", term):
            errors.append(_("Line %(number)s: write the term before “=”.") % {"number": number})
        elif len(term) > MAX_TERM_CHARS:
            errors.append(
                _("Line %(number)s: keep the term under %(max)s characters.")
                % {"number": number, "max": MAX_TERM_CHARS}
            )
        elif len(suggestion) > MAX_SUGGESTION_CHARS:
            errors.append(
                _("Line %(number)s: keep the plainer words under %(max)s characters.")
                % {"number": number, "max": MAX_SUGGESTION_CHARS}
            )
        elif term.lower() not in seen:
            seen.add(term.lower())
            terms.append(Jargon(term, suggestion, builtin=False))
    return terms, errors


def parse_known_terms(text: str) -> tuple[list[str], list[str]]:
    """Built-in terms an organization's readers know (one a line) -> (terms, errors)."""
    known: list[str] = []
    errors: list[str] = []
    for line in _lines(text)[: MAX_LIST_LINES + 1]:
        entry = BUILTIN_TERMS.get(line.lower())
        if entry is None:
            errors.append(
                _(
                    "“%(term)s” is not on the built-in list; add your own terms under "
                    "“Your own jargon”."
                )
                % {"term": line[:MAX_TERM_CHARS]}
            )
        elif entry.term not in known:
            known.append(entry.term)
    return known, errors


def parse_phrases(text: str) -> tuple[list[str], list[str]]:
    """Phrases that play the impact down (one a line) -> (phrases, errors)."""
    phrases: list[str] = []
    errors: list[str] = []
    lines = _lines(text)
    if len(lines) > MAX_LIST_LINES:
        return [], [
            _("Keep the list to %(max)s phrases (it has %(count)s).")
            % {"max": MAX_LIST_LINES, "count": len(lines)}
        ]
    for number, line in enumerate(lines, start=1):
        if not re.search(r"\w", line):
            errors.append(
                _("Line %(number)s: a phrase needs at least one word.") % {"number": number}
            )
        elif len(line) > MAX_TERM_CHARS:
            errors.append(
                _("Line %(number)s: keep a phrase under %(max)s characters.")
                % {"number": number, "max": MAX_TERM_CHARS}
            )
        elif line.lower() not in (p.lower() for p in phrases):
            phrases.append(line)
    return phrases, errors


def word_lists(
    *,
    own_jargon: str = "",
    known_terms: str = "",
    minimising_phrases: str | None = None,
    long_sentence_words: int = DEFAULT_LONG_SENTENCE_WORDS,
) -> WordLists:
    """The lists in force from the organization's saved settings (already validated; a line that
    no longer parses is skipped rather than breaking the check)."""
    known = {term.lower() for term in parse_known_terms(known_terms)[0]}
    builtin = tuple(entry for entry in BUILTIN_JARGON if entry.term.lower() not in known)
    own = tuple(parse_jargon(own_jargon)[0])
    phrases = (
        tuple(BUILTIN_MINIMISING)
        if minimising_phrases is None
        else tuple(parse_phrases(minimising_phrases)[0])
    )
    return WordLists(
        jargon=own + builtin, minimising=phrases, long_sentence_words=long_sentence_words
    )


# --- findings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JargonFound:
    term: str
    found: str  # as written the first time
    count: int
    suggestion: str
    source: str  # "built-in" or "organization"


@dataclass(frozen=True)
class MinimisingFound:
    phrase: str
    found: str
    count: int
    hint: str


@dataclass(frozen=True)
class LongSentence:
    excerpt: str
    words: int


@dataclass(frozen=True)
class ReadingEase:
    score: int | None  # 0 (very hard) to 100 (very easy); None when there are no words
    verdict: str
    label: str


@dataclass(frozen=True)
class Findings:
    reading_ease: ReadingEase
    words: int
    sentences: int
    long_sentence_words: int
    long_sentences: list[LongSentence] = field(default_factory=list)
    jargon: list[JargonFound] = field(default_factory=list)
    minimising: list[MinimisingFound] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.words == 0

    @property
    def hint_count(self) -> int:
        return len(self.long_sentences) + len(self.jargon) + len(self.minimising)

    def as_json(self) -> dict:
        return {
            "reading_ease": {
                "score": self.reading_ease.score,
                "verdict": self.reading_ease.verdict,
                "label": self.reading_ease.label,
            },
            "words": self.words,
            "sentences": self.sentences,
            "long_sentence_words": self.long_sentence_words,
            "long_sentences": [
                {"excerpt": s.excerpt, "words": s.words} for s in self.long_sentences
            ],
            "jargon": [
                {
                    "term": j.term,
                    "found": j.found,
                    "count": j.count,
                    "suggestion": j.suggestion,
                    "source": j.source,
                }
                for j in self.jargon
            ],
            "minimising": [
                {"phrase": m.phrase, "found": m.found, "count": m.count, "hint": m.hint}
                for m in self.minimising
            ],
        }


# Flesch reading ease bands (Flesch 1948; 60-70 is "plain English"). The labels are marked
# here and translated when a score is read (check_text runs per request).
VERDICTS: tuple[tuple[int, str, str], ...] = (
    (70, "easy", gettext_noop("Easy to read.")),
    (60, "plain", gettext_noop("Plain English: most readers follow it.")),
    (
        50,
        "fairly_hard",
        gettext_noop("Fairly hard: shorter sentences and everyday words would help."),
    ),
    (
        30,
        "hard",
        gettext_noop("Hard: many readers will struggle. Use shorter sentences and everyday words."),
    ),
    (
        -1,
        "very_hard",
        gettext_noop("Very hard: written for specialists. Use short sentences and everyday words."),
    ),
)
NO_WORDS_LABEL = gettext_noop("Nothing to check yet.")

_TOKEN = re.compile(r"\S+")
# A sentence ends at . ! or ? followed by a space (closing quotes and brackets stay with it), and
# at every line break: lists and headings are read one line at a time.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+")
MAX_WORD_CHARS = 40
_LONG_RUN = re.compile(rf"\S{{{MAX_WORD_CHARS + 1},}}")
_WORD = re.compile(r"[\w\u2019'][\w\u2019'.:/-]*")


def _pattern(spellings: Iterable[str], *, hyphen_joins: bool) -> re.Pattern[str]:
    """Any of the spellings as whole words, in any case, with any spacing between words.
    With hyphen_joins, a hyphen counts as part of the word ("just-in-time" is not "just")."""
    edge = r"[\w-]" if hyphen_joins else r"\w"
    alternatives = sorted(
        (r"\s+".join(re.escape(word) for word in spelling.split()) for spelling in spellings),
        key=len,
        reverse=True,
    )
    return re.compile(
        rf"(?<!{edge})(?:{'|'.join(alternatives)})(?!{edge})", re.IGNORECASE | re.UNICODE
    )


def _blank_addresses(token: re.Match[str]) -> str:
    """A web or email address becomes a space (one token at a time: a regular expression for
    addresses over the whole text backtracks quadratically on long runs without spaces)."""
    word = token.group(0)
    lowered = word.lower()
    if "://" in lowered or lowered.startswith("www.") or "@" in word.strip("@"):
        return " "
    return word


def _count_words(text: str) -> int:
    return len(_WORD.findall(text))


def sentences_of(text: str) -> list[str]:
    found: list[str] = []
    for line in text.splitlines():
        found.extend(part.strip() for part in _SENTENCE_END.split(line) if _WORD.search(part))
    return found


def reading_ease(sentences: Sequence[str]) -> ReadingEase:
    if not sentences:
        return ReadingEase(None, "empty", _(NO_WORDS_LABEL))
    # Each sentence ends with a full stop for textstat, so a list of short lines is read as short
    # sentences rather than one long one.
    scored = " ".join(s if s[-1] in ".!?" else f"{s}." for s in sentences)
    # Syllables are counted by hyphenation, which takes seconds on a 20,000-letter "word"; no
    # real word is longer than 40 letters, so longer runs are cut there for the score.
    scored = _LONG_RUN.sub(lambda run: run.group(0)[:MAX_WORD_CHARS], scored)
    score = round(max(0.0, min(100.0, textstat.flesch_reading_ease(scored))))
    for floor, verdict, label in VERDICTS:
        if score >= floor:
            return ReadingEase(score, verdict, _(label))
    raise AssertionError("the last band takes every score")  # pragma: no cover


def _excerpt(sentence: str) -> str:
    words = sentence.split()
    if len(words) <= SENTENCE_EXCERPT_WORDS:
        return sentence
    return " ".join(words[:SENTENCE_EXCERPT_WORDS]) + " …"


def _find(text: str, patterns: list[tuple[T, re.Pattern[str]]]) -> list[tuple[T, list[str]]]:
    """[(item, [texts found])] in the order they first appear. Where matches overlap, the one
    that starts first wins, then the longest, then the earlier item ("brief blip" is one
    finding, not also "blip"; the organization's own terms come before the built-in ones)."""
    candidates = sorted(
        (
            (match.start(), -(match.end() - match.start()), index, match)
            for index, (_item, pattern) in enumerate(patterns)
            for match in pattern.finditer(text)
        ),
    )
    found: dict[int, list[str]] = {}
    reach = 0  # the end of the last match kept: candidates come in order of their start
    for start, _length, index, match in candidates:
        if start < reach:
            continue
        reach = match.end()
        found.setdefault(index, []).append(match.group(0))
    return [(patterns[index][0], texts) for index, texts in found.items()]


def check_text(text: str, lists: WordLists | None = None) -> Findings:
    """The findings for one text (a message, a postmortem section, or several joined)."""
    lists = lists or WordLists()
    text = (text or "")[:MAX_TEXT_CHARS]
    searchable = _TOKEN.sub(_blank_addresses, text)
    sentences = sentences_of(searchable)
    counted = [(s, _count_words(s)) for s in sentences]

    jargon = [
        JargonFound(
            term=entry.term,
            found=found[0],
            count=len(found),
            suggestion=entry.suggestion or "everyday words your readers use",
            source="built-in" if entry.builtin else "organization",
        )
        for entry, found in _find(
            searchable,
            [(entry, _pattern(entry.spellings, hyphen_joins=False)) for entry in lists.jargon],
        )
    ]
    minimising = [
        MinimisingFound(
            phrase,
            found[0],
            len(found),
            BUILTIN_MINIMISING.get(phrase.lower(), f"“{phrase}” {MINIMISING_HINT}"),
        )
        for phrase, found in _find(
            searchable,
            [(phrase, _pattern([phrase], hyphen_joins=True)) for phrase in lists.minimising],
        )
    ]

    return Findings(
        reading_ease=reading_ease(sentences),
        words=sum(words for _s, words in counted),
        sentences=len(sentences),
        long_sentence_words=lists.long_sentence_words,
        long_sentences=[
            LongSentence(_excerpt(s), words)
            for s, words in counted
            if words > lists.long_sentence_words
        ],
        jargon=jargon,
        minimising=minimising,
    )
