"""Hostile strings: what a person, a customer or a monitoring system might type into Candor.

Each entry is (id, text). The ids name the test cases (`test_...[incident-event-handler]`).
`FULL` goes through the highest-risk fields (incident names and update bodies, comment bodies,
display names, the organization name); `REPRESENTATIVE` is the smaller set the other fields get,
one string per family, so the module stays well under its time budget.
"""

from __future__ import annotations

# A string that is harmless everywhere: pages rendered with it are the baseline the hostile
# renderings are compared against (same scenario, same number of objects, only the text differs).
BENIGN = "Database latency"

MARKUP = [
    ("script-tag", "<script>alert(1)</script>"),
    ("event-handler", '"><img src=x onerror=alert(1)>'),
    ("attribute-break", "' autofocus onfocus='alert(1)"),
    ("svg-onload", "<svg/onload=alert(1)>"),
    ("closing-title", "</title><script>alert(1)</script>"),
    ("cdata-close", "]]><script>alert(1)</script><![CDATA["),
    ("javascript-url", "javascript:alert(1)"),
    ("data-url", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
    ("iframe", '<iframe src="javascript:alert(1)"></iframe>'),
]
MARKDOWN = [
    ("markdown-javascript-link", "[x](javascript:alert(1))"),
    ("markdown-data-image", "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)"),
    ("markdown-autolink-javascript", "<javascript:alert(1)>"),
    ("markdown-reference-link", "[x][1]\n\n[1]: javascript:alert(1)"),
    ("markdown-raw-html", '**bold** <a href="javascript:alert(1)">click</a>'),
]
TEMPLATES = [
    ("django-template", "{{ 7*7 }} {% debug %} {{ request.user }}"),
    ("jinja-ssti", "${7*7} #{7*7} <%= 7*7 %>"),
    ("sql", "'; DROP TABLE incidents_incident; --"),
]
HEADERS = [
    ("crlf-header", "a\r\nBcc: x@y"),
    ("lf-header", "Outage\nSubject: spoofed"),
]
CONTROL = [
    ("nul", "Data\x00base"),
    ("vertical-tab", "Database \x0b slow"),
    ("escape-sequence", "Looking\x1b[2J into it"),
    ("del", "Data\x7fbase"),
    ("lone-surrogate", "Data\ud800base"),
]
SPOOFING = [
    ("direction-override", "Acme \u202eduolC\u202c status"),
    ("zero-width", "Ac\u200bme\u200d Cloud\ufeff"),
]
UNICODE = [
    ("emoji-and-combining", "Database 🔥💥 Z\u0351\u0352\u0353a\u0310l\u0311g\u0312o é 中文 עברית"),
    ("astral", "\U0001d54f\U0001f600 status"),
]
LONG = [("100kb", "A" * 100 * 1024)]

FULL: list[tuple[str, str]] = [
    *MARKUP,
    *MARKDOWN,
    *TEMPLATES,
    *HEADERS,
    *CONTROL,
    *SPOOFING,
    *UNICODE,
    *LONG,
]

# One of each family: markup, markdown, templates, header injection, a control character, a
# lone surrogate, a direction override, Unicode that must survive, and the long string.
REPRESENTATIVE: list[tuple[str, str]] = [
    entry
    for entry in FULL
    if entry[0]
    in {
        "event-handler",
        "script-tag",
        "markdown-javascript-link",
        "django-template",
        "crlf-header",
        "vertical-tab",
        "lone-surrogate",
        "direction-override",
        "emoji-and-combining",
        "100kb",
    }
]


def ids(entries: list[tuple[str, str]]) -> list[str]:
    return [name for name, _text in entries]


def texts(entries: list[tuple[str, str]]) -> list[str]:
    return [text for _name, text in entries]
