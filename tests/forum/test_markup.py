from __future__ import annotations

from html.parser import HTMLParser

from apps.forum.markup import ALLOWED_TAGS, count_links, count_mentions, render, strip_invisible


class _Elements(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """The elements a browser would build from `html` (tag, attributes)."""
    return _Elements(html).found


def test_the_markdown_subset_renders():
    html = render("Hi *there* **all**, `x`\n\n> quoted\n\n- one\n- two\n\n```\nblock\n```")
    assert "<em>there</em>" in html
    assert "<strong>all</strong>" in html
    assert "<code>x</code>" in html
    assert "<blockquote>" in html
    assert "<li>one</li>" in html
    assert "<pre><code>block\n</code></pre>" in html


def test_links_get_nofollow_ugc_noopener():
    html = render("See [the docs](https://example.com/docs).")
    assert '<a href="https://example.com/docs" rel="nofollow ugc noopener">the docs</a>' in html


def test_script_tags_are_escaped_not_run():
    html = render("<script>alert(1)</script>")
    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_raw_html_and_event_handlers_are_escaped():
    html = render('<img src=x onerror="alert(1)"> <b onclick="x()">bold</b> <!-- c -->')
    assert elements(html) == [("p", {})]
    assert "&lt;img" in html


def test_only_allowed_elements_and_attributes_come_out():
    source = (
        "*a* [l](https://x.test \"title\") <div style='x'>d</div> `c` <a href=x>y</a>\n\n"
        "> q\n\n1. one\n\n```\n<svg onload=1>\n```"
    )
    for tag, attrs in elements(render(source)):
        assert tag in ALLOWED_TAGS
        assert set(attrs) <= ({"href", "rel"} if tag == "a" else set())


def test_javascript_and_data_links_are_dropped():
    html = render("[a](javascript:alert(1)) [b](JaVaScRiPt:alert(1)) [c](data:text/html,hi)")
    assert "href" not in html
    assert "<a" not in html


def test_images_are_not_rendered():
    html = render("![logo](https://example.com/logo.png)")
    assert "<img" not in html


def test_headings_and_rules_are_not_part_of_the_subset():
    html = render("# Big\n\n---")
    assert "<h1" not in html
    assert "<hr" not in html


def test_links_and_mentions_are_counted():
    assert count_links("see https://a.test and [b](http://b.test) and www.c.test") == 3
    assert count_mentions("thanks @alice and @bob.smith, mail me at x@y.test") == 2


def test_invisible_characters_are_stripped():
    assert strip_invisible("Ca\u202esey\u200b Jo\u2066nes") == "Casey Jones"
