"""Every word the dashboard templates of issue #15's part A show is marked for translation.

The check reads each template's tokens (Django's own lexer, so nothing is guessed about the
template syntax): text inside `{% translate %}` and `{% blocktranslate %}` is marked; so is
everything inside a tag, a comment, a <script> or a <pre> (code samples stay as they are). What
is left is the text between HTML tags that a reader sees, and it may hold no word.
Attribute values (title, aria-label, data-label) are not read: they sit inside the tags, so an
unmarked one there is missed, never wrongly reported.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import engines
from django.template.base import Lexer, TokenType
from django.utils import translation

TEMPLATES = Path(settings.BASE_DIR) / "templates"
DIRECTORIES = [
    "incidents/dashboard",
    "incidents/plain",
    "status/dashboard",
    "notifications/dashboard",
    "integrations",
]
# Product names, written the same in every language.
NAMES = {"Alertmanager", "Grafana"}

CLOSERS = {"endblocktranslate", "endblocktrans"}
HIDDEN = re.compile(
    r"<(script|pre|style)\b.*?</\1>|<!--.*?-->|<[^>]*>|&#?\w+;", re.DOTALL | re.IGNORECASE
)
WORD = re.compile(r"[^\W\d_]{2,}")


def template_paths() -> list[Path]:
    return sorted(p for d in DIRECTORIES for p in (TEMPLATES / d).rglob("*.html"))


def unmarked_words(source: str) -> list[str]:
    """The words a reader sees that no translate tag holds ({% comment %} text is unseen)."""
    visible: list[str] = []
    in_block = False
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if name in CLOSERS or name == "endcomment":
                in_block = False
            elif name in {"blocktranslate", "blocktrans", "comment"}:
                in_block = True
            # Any other tag stands where its output will be: a placeholder, not a word.
            visible.append("\x00")
        elif token.token_type == TokenType.TEXT and not in_block:
            visible.append(token.contents)
        else:
            visible.append("\x00")
    text = HIDDEN.sub(" ", "".join(visible))
    return [word for word in WORD.findall(text) if word not in NAMES]


def test_the_directories_hold_templates():
    assert len(template_paths()) > 60


@pytest.mark.parametrize("path", template_paths(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_word_outside_a_translate_tag(path: Path):
    assert unmarked_words(path.read_text()) == []


def test_the_check_finds_an_unmarked_word():
    source = '{% load i18n %}<p title="x">{% translate "Saved" %} Hello <b>{{ name }}</b></p>'
    assert unmarked_words(source) == ["Hello"]


def test_the_check_leaves_marked_text_code_and_attributes_alone():
    source = (
        '{% load i18n %}<a href="{% url "x" %}" aria-label="{{ a }}">'
        "{% blocktranslate trimmed %}Page {{ n }}{% endblocktranslate %}</a>"
        "<pre><code>curl -X POST</code></pre> → ·"
    )
    assert unmarked_words(source) == []


@pytest.mark.parametrize("path", template_paths(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_template_compiles_with_another_language_active(path: Path):
    # Compiling checks every translate tag's syntax, including branches no view test reaches.
    with translation.override("de"):
        engines["django"].from_string(path.read_text())
