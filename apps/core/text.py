"""Staff-written public text (update bodies, maintenance notes, postmortems, action items):
one rule wherever it is shown.

The rule is plain text with line breaks and links. What staff type is escaped, so it reaches
readers exactly as written (`<X-Request-Id>` and `<b>b</b>` show literally); a blank line starts
a new paragraph and a single newline is a line break; web addresses and email addresses become
links. The page, the incident page, the dashboard and its previews, mail, feeds and Slack all
go through the functions below. The webhook JSON and the status API carry the raw text, as
Statuspage's formats do.

Links and escaping are Django's own `urlize` and `linebreaks`: no HTML is parsed here.
"""

from __future__ import annotations

import re

from django.utils.html import Urlizer, linebreaks
from django.utils.safestring import SafeString, mark_safe

LINK_REL = "nofollow noopener noreferrer"
ELLIPSIS = "…"
# A line holding only spaces or tabs separates paragraphs like an empty one.
_BLANK_LINE = re.compile(r"\n[ \t]+(?=\n)")


class _Urlizer(Urlizer):
    # The rel attribute on every link (called with nofollow=False, so Django adds no other).
    url_template = '<a href="{href}" rel="' + LINK_REL + '">{url}</a>'

    def trim_punctuation(self, word: str) -> tuple[str, str, str]:
        lead, middle, _trail = super().trim_punctuation(word)
        # Django 5.2 replaces the trail when it trims a closing bracket after other punctuation,
        # so "(see https://example.com)." lost its full stop. The link is cut only from the
        # end, so the trail is everything after it: nothing typed disappears.
        return lead, middle, word[len(lead) + len(middle) :]


_urlize = _Urlizer()


def staff_text_plain(text: str | None) -> str:
    """The text as typed, with one kind of line ending and no surrounding blank space: what
    plain-text channels (the text part of mail) show."""
    normalised = str(text or "").replace("\r\n", "\n").replace("\r", "\n")
    return _BLANK_LINE.sub("\n", normalised).strip()


def staff_text_html(text: str | None) -> SafeString:
    """The text as HTML: escaped, blank lines make `<p>` paragraphs, single newlines `<br>`,
    http(s) and email addresses become links with rel="nofollow noopener noreferrer"."""
    plain = staff_text_plain(text)
    if not plain:
        return SafeString("")
    # SECURITY: urlize escapes everything that is not a link (and the link text and href);
    # linebreaks must then not escape again, and adds only <p> and <br>.
    linked = _urlize(plain, nofollow=False, autoescape=True)
    return mark_safe(linebreaks(linked, autoescape=False))  # noqa: S308 - escaped by urlize


def staff_text_slack(text: str | None, limit: int | None = None) -> str:
    """The text for Slack's mrkdwn: `&`, `<` and `>` escaped (Slack's control characters), so
    it shows as typed and addresses stay clickable (Slack links bare URLs itself). A text
    longer than `limit` is cut before escaping, so no entity is split, and ends with `…`."""
    plain = staff_text_plain(text)
    if limit is not None and len(plain) > limit:
        plain = plain[: limit - 1].rstrip() + ELLIPSIS
    return plain.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
