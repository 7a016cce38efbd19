"""The translation catalogs (locale/<lang>/LC_MESSAGES/django.po and .mo) are complete for
everything a reader or subscriber sees, and compiled.

Without GNU gettext on the machine: the marked strings are found here by Django's own template
parser (the same msgids makemessages writes) and by walking the Python syntax tree of the
reader-facing modules; the catalogs are read with polib. `make messages` regenerates them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.template import Engine
from django.template.base import Node
from django.templatetags.i18n import BlockTranslateNode, TranslateNode
from django.utils import translation

from apps.core import i18n

BASE = Path(settings.BASE_DIR)
LANGUAGES = [code for code in i18n.codes() if code != "en"]
Key = tuple[str | None, str]  # (msgctxt, msgid)


def _public_templates() -> list[Path]:
    found: list[Path] = []
    for pattern in i18n.PUBLIC_TEMPLATES:
        found.extend(sorted(BASE.glob(pattern)))
    return [path for path in found if path.is_file()]


def _public_modules() -> list[Path]:
    found: list[Path] = []
    for pattern in i18n.PUBLIC_MODULES:
        found.extend(sorted(BASE.glob(pattern)))
    return [path for path in found if path.is_file() and path.suffix == ".py"]


def _walk(nodes) -> Iterator[Node]:
    for node in nodes:
        yield node
        for attribute in getattr(node, "child_nodelists", ()):
            yield from _walk(getattr(node, attribute, None) or [])


def _template_messages(path: Path) -> Iterator[tuple[Key, str | None]]:
    """(msgctxt, msgid) and msgid_plural of every translate/blocktranslate in a template."""
    engine = Engine.get_default()
    template = engine.from_string(path.read_text())
    for node in _walk(template.nodelist):
        if isinstance(node, TranslateNode):
            if node.noop:
                continue
            variable = node.filter_expression.var
            literal = getattr(variable, "literal", variable)
            if not isinstance(literal, str):
                continue  # {% translate some_variable %}: nothing to extract
            context = node.message_context.var if node.message_context else None
            yield (context, str(literal)), None
        elif isinstance(node, BlockTranslateNode):
            singular, _vars = node.render_token_list(node.singular)
            plural = None
            if node.plural:
                plural, _vars = node.render_token_list(node.plural)
            context = node.message_context.var if node.message_context else None
            yield (context, singular), plural


GETTEXT = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"}
PGETTEXT = {"pgettext", "pgettext_lazy", "npgettext", "npgettext_lazy"}


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _python_messages(path: Path) -> Iterator[tuple[Key, str | None]]:
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        arguments = [_literal(argument) for argument in node.args]
        if name in GETTEXT and arguments and arguments[0] is not None:
            plural = arguments[1] if name.startswith("n") and len(arguments) > 1 else None
            yield (None, arguments[0]), plural
        elif name in PGETTEXT and len(arguments) >= 2 and None not in arguments[:2]:
            plural = arguments[2] if name.startswith("np") and len(arguments) > 2 else None
            yield (arguments[0], arguments[1]), plural


def public_messages() -> dict[Key, tuple[str | None, str]]:
    """Every message a reader or subscriber may see: key -> (plural, where it is used)."""
    found: dict[Key, tuple[str | None, str]] = {}
    for path in _public_templates():
        for key, plural in _template_messages(path):
            found.setdefault(key, (plural, str(path.relative_to(BASE))))
    for path in _public_modules():
        for key, plural in _python_messages(path):
            found.setdefault(key, (plural, str(path.relative_to(BASE))))
    return found


def _catalog(language: str) -> polib.POFile:
    path = BASE / "locale" / language / "LC_MESSAGES" / "django.po"
    assert path.exists(), f"{path} is missing: run `make messages`"
    return polib.pofile(str(path))


def _entries(po: polib.POFile) -> dict[Key, polib.POEntry]:
    return {(entry.msgctxt, entry.msgid): entry for entry in po if not entry.obsolete}


def test_the_public_pages_have_messages_to_translate():
    messages = public_messages()
    # The walk finds what the templates mark (a broken walk would pass every check below).
    assert len(messages) > 300
    assert (None, "Subscribe to updates") in messages or any(
        "ubscribe" in msgid for _ctx, msgid in messages
    )
    used_in = {where for _plural, where in messages.values()}
    assert any(where.startswith("templates/status/") for where in used_in)
    assert any(where.startswith("templates/forum/") for where in used_in)
    assert any(where.startswith("templates/notifications/") for where in used_in)
    assert any(where.endswith(".py") for where in used_in)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_public_message_is_translated(language):
    entries = _entries(_catalog(language))
    missing, fuzzy, empty = [], [], []
    for key, (plural, where) in sorted(public_messages().items(), key=str):
        entry = entries.get(key)
        label = f"{where}: {key[1][:60]!r}"
        if entry is None:
            missing.append(label)
        elif "fuzzy" in entry.flags:
            fuzzy.append(label)
        elif (
            plural is not None
            and (entry.msgid_plural != plural or not all(entry.msgstr_plural.values()))
        ) or (plural is None and not entry.msgstr):
            empty.append(label)
    assert not missing, f"{language}: not in the catalog (run make messages): {missing[:20]}"
    assert not fuzzy, f"{language}: fuzzy: {fuzzy[:20]}"
    assert not empty, f"{language}: untranslated: {empty[:20]}"


PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{\{\s*\w+\s*\}\}|<[a-z][^>]*>|</[a-z]+>")


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_every_placeholder_and_tag(language):
    problems = []
    for entry in _catalog(language):
        if entry.obsolete or not entry.translated():
            continue
        wanted = sorted(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        for text in entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]:
            got = sorted(PLACEHOLDER.findall(text))
            # A singular may leave the count out ("one minute"); every other name must stay.
            if entry.msgid_plural and set(got) <= set(wanted):
                continue
            if got != wanted:
                problems.append((entry.msgid[:50], text[:50]))
    assert not problems, problems[:10]


PLURALS = {"de": 2, "fr": 2, "es": 2, "ja": 1}


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_forms_match_the_language(language):
    po = _catalog(language)
    assert f"nplurals={PLURALS[language]};" in po.metadata["Plural-Forms"].replace(" ", "")
    for entry in po:
        if entry.msgid_plural and not entry.obsolete:
            assert len(entry.msgstr_plural) == PLURALS[language], entry.msgid


@pytest.mark.parametrize("language", [*LANGUAGES, "en"])
def test_the_compiled_catalog_matches_its_source(language):
    po = _catalog(language)
    mo_path = BASE / "locale" / language / "LC_MESSAGES" / "django.mo"
    assert mo_path.exists(), f"{mo_path} is missing: run `make messages`"
    compiled = {
        (entry.msgctxt, entry.msgid): entry.msgstr_plural or entry.msgstr
        for entry in polib.mofile(str(mo_path))
        if entry.msgid
    }
    source = {
        (entry.msgctxt, entry.msgid): (
            {int(k): v for k, v in entry.msgstr_plural.items()}
            if entry.msgid_plural
            else entry.msgstr
        )
        for entry in po
        if entry.translated() and not entry.obsolete and "fuzzy" not in entry.flags
    }
    normalised = {
        key: ({int(k): v for k, v in value.items()} if isinstance(value, dict) else value)
        for key, value in compiled.items()
    }
    assert normalised == source, "the .mo is out of date: run `make messages`"


def test_a_message_missing_from_a_catalog_falls_back_to_english():
    with translation.override("de"):
        assert translation.gettext("A sentence no catalog has.") == "A sentence no catalog has."
    with translation.override("xx"):
        assert translation.gettext("Subscribe") == "Subscribe"
