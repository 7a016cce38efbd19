"""Comment markup: a Markdown subset rendered once at write time, then sanitised.

markdown-it-py renders (raw HTML off, images off, tables and strikethrough off), then nh3 keeps
an allow-list of tags and attributes. Both layers matter: the renderer never emits raw HTML from
the source, and the sanitiser is the guarantee if the renderer ever changes.
"""

from __future__ import annotations

import re
import unicodedata

import nh3
from markdown_it import MarkdownIt

MAX_SOURCE_LENGTH = 10_000

ALLOWED_TAGS = {
    "p", "br", "em", "strong", "a", "ul", "ol", "li", "code", "pre", "blockquote",
}  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href"}}


def _only_allowed(tag: str, attribute: str, value: str) -> str | None:
    # nh3 keeps "generic" attributes (title, lang) on every tag unless told otherwise; the
    # filter also sees the rel it adds to links.
    allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set())
    return value if attribute in allowed else None


# SECURITY: only these schemes survive; `javascript:`, `data:`, `vbscript:` links lose their href.
ALLOWED_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"

_md = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .disable("image")
    .disable("html_block")
    .disable("html_inline")
    .disable("heading")
    .disable("lheading")
    .disable("hr")
)

# A URL, or a Markdown link whose target is not one (so `[x](https://...)` counts once).
_LINK_RE = re.compile(r"https?://|www\.|mailto:|\]\((?!\s*(?:https?://|www\.|mailto:))", re.I)
_MENTION_RE = re.compile(r"(?<![\w@])@[\w.-]+")


def render(source: str) -> str:
    """The sanitised HTML of a comment's Markdown source."""
    html = _md.render(source)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_only_allowed,
        url_schemes=ALLOWED_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


def count_links(source: str) -> int:
    return len(_LINK_RE.findall(source))


def count_mentions(source: str) -> int:
    return len(_MENTION_RE.findall(source))


# Unicode format characters (category Cf): direction overrides and isolates (U+202A-202E,
# U+2066-2069), zero-width space/joiners (U+200B-200D), BOM, soft hyphen and the like.
def strip_invisible(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def has_invisible(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cf" for ch in text)
