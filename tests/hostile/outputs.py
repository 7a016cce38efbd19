"""How a hostile string is judged in each kind of output Candor produces.

HTML: nothing executable may come from the input. The page is parsed (Python's html.parser, as
a browser tokenises it: tags, attributes, entity-decoded values) and its *active features* are
counted: script and other active elements, event-handler and htmx attributes, and
javascript:/data:/vbscript: URLs. The same page rendered from the same scenario with a benign
string is the baseline; the hostile page may have no feature the benign one lacks. Counting
features (not comparing whole pages) keeps ids, times and lengths out of the comparison.

XML (Atom, RSS, the SVG badge) must parse; JSON must parse; iCalendar lines must be proper
content lines; mail headers carry no line breaks or control characters.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from email import message_from_bytes
from email.policy import default as default_policy
from html.parser import HTMLParser
from typing import Any

ACTIVE_ELEMENTS = {
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "base",
    "svg",
    "math",
    "form",
    "meta",
    "link",
    "style",
    "template",
}
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "data",
    "poster",
    "background",
    "srcset",
    "ping",
    "content",  # <meta http-equiv=refresh content="0;url=javascript:...">
}
DANGEROUS_SCHEME = re.compile(r"^\s*(javascript|data|vbscript)\s*:", re.IGNORECASE)
# Browsers drop these characters from a URL's scheme (`java\tscript:` is javascript:).
URL_NOISE = re.compile(r"[\x00-\x20]")


class _Features(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: Counter[tuple[str, ...]] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ACTIVE_ELEMENTS:
            # What the element is, not what it says: ours carry nonces and hashed static paths.
            self.found[("element", tag)] += 1
        for name, value in attrs:
            if name.startswith("on"):
                self.found[("handler", tag, name)] += 1
            if name.startswith(("hx-", "data-hx-")):
                self.found[("htmx", tag, name)] += 1
            if value and name in URL_ATTRIBUTES:
                scheme = DANGEROUS_SCHEME.match(URL_NOISE.sub("", value))
                if scheme:
                    self.found[("url", tag, name, scheme.group(1).lower())] += 1

    handle_startendtag = handle_starttag


def html_features(document: str) -> Counter[tuple[str, ...]]:
    parser = _Features()
    parser.feed(document)
    parser.close()
    return parser.found


def assert_nothing_executable(label: str, hostile: str, benign: str) -> None:
    """Every active feature of the hostile rendering is one the benign rendering has too."""
    added = html_features(hostile) - html_features(benign)
    assert not added, f"{label}: features that came from the input: {dict(added)}"


def parse_xml(label: str, document: bytes) -> ET.Element:
    try:
        return ET.fromstring(document)  # noqa: S314 - our own output, parsed in a test
    except ET.ParseError as error:
        raise AssertionError(f"{label} is not well-formed XML: {error}") from error


ATOM = "{http://www.w3.org/2005/Atom}"


def feed_html_parts(root: ET.Element) -> list[str]:
    """The parts of a feed that readers render as HTML (Atom content/summary type=html, RSS
    item descriptions)."""
    parts = [
        element.text or ""
        for element in root.iter()
        if element.tag in (f"{ATOM}content", f"{ATOM}summary")
        and element.get("type") in ("html", "xhtml")
    ]
    parts += [element.text or "" for element in root.iter("description")]
    return parts


def parse_json(label: str, document: bytes) -> Any:
    try:
        return json.loads(document)
    except ValueError as error:
        raise AssertionError(f"{label} is not valid JSON: {error}") from error


CONTENT_LINE = re.compile(r"^(?:[A-Za-z0-9-]+(?:;[^:\r\n]*)?:.*| .*)$")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def assert_well_formed_calendar(document: bytes) -> None:
    text = document.decode("utf-8")
    assert not CONTROL.search(text), "maintenance.ics carries a control character"
    lines = text.split("\r\n")
    assert lines[-1] == "", "maintenance.ics does not end with CRLF"
    for line in lines[:-1]:
        assert "\r" not in line and "\n" not in line, f"bare line break in {line[:80]!r}"
        assert CONTENT_LINE.match(line), f"not an iCalendar content line: {line[:80]!r}"


def assert_clean_headers(message: Any) -> None:
    """A django.core.mail message: its subject and every header are one line, without control
    characters, and the whole message parses back to the same header set."""
    assert not re.search(r"[\r\n]", message.subject), f"subject: {message.subject!r}"
    assert not CONTROL.search(message.subject), f"subject: {message.subject!r}"
    raw = message.message().as_bytes()
    parsed = message_from_bytes(raw, policy=default_policy)
    for name, value in parsed.items():
        assert not re.search(r"[\r\n]", str(value)), f"{name}: {value!r}"
        assert not CONTROL.search(str(value)), f"{name}: {value!r}"
    # Header injection would add recipients: only the addresses we set are there.
    assert parsed.get_all("Bcc") is None, "a Bcc header was injected"


def html_alternative(message: Any) -> str | None:
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            return str(content)
    return None
