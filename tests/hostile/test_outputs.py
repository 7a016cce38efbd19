"""The judges of tests/hostile/outputs.py catch what they are there to catch (else the corpus
would pass whatever the pages did)."""

from __future__ import annotations

import pytest

from . import outputs

BENIGN = (
    '<html><head><script src="/static/js/live.js"></script></head><body><p>Hi</p></body></html>'
)


@pytest.mark.parametrize(
    "injected",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<a href=" JaVa&#x09;script:alert(1)">x</a>',
        '<iframe src="data:text/html,x"></iframe>',
        "<svg/onload=alert(1)>",
        '<div hx-get="/x" hx-trigger="load">',
        '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    ],
)
def test_an_injected_element_or_attribute_is_caught(injected):
    hostile = BENIGN.replace("<p>Hi</p>", f"<p>{injected}</p>")

    with pytest.raises(AssertionError, match="came from the input"):
        outputs.assert_nothing_executable("page", hostile, BENIGN)


def test_escaped_text_is_not_an_element():
    hostile = BENIGN.replace("Hi", "&lt;script&gt;alert(1)&lt;/script&gt; javascript:alert(1)")

    outputs.assert_nothing_executable("page", hostile, BENIGN)


def test_a_calendar_with_a_bare_line_break_is_caught():
    with pytest.raises(AssertionError):
        outputs.assert_well_formed_calendar(
            b"BEGIN:VCALENDAR\r\nSUMMARY:a\nBcc: x\r\nEND:VCALENDAR\r\n"
        )


def test_a_broken_feed_is_caught():
    with pytest.raises(AssertionError, match="not well-formed"):
        outputs.parse_xml("feed", b"<feed><title>a\x0b</title></feed>")
