"""Browser tests: pytest-playwright driving Debian's Chromium against pytest-django's live server.

The browser is the system one (/usr/bin/chromium, installed by .ci/run from Debian's packages);
`playwright install` is never run, so no browser is downloaded. One browser serves the whole
session; each test gets a fresh context (cookies, storage) at the size it asks for.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client

CHROMIUM = "/usr/bin/chromium"
# Playwright's sync API keeps an asyncio event loop in the main thread, where Django then refuses
# every ORM call (SynchronousOnlyOperation), including pytest-django's test database setup and
# flushes. Nothing runs concurrently here: the ORM is used between browser calls, never during one.
# Set on import because session fixtures (test database, live server) need it too; the project
# has no async code whose checks this would hide.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

# A person reads the dashboard at desktop size and the status page on a phone just as often.
SIZES = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}


# The innermost elements that reach past the window's right edge, widest first: where a fix goes.
OVERFLOWING = """() => {
  const edge = window.innerWidth;
  // An element's box, or its content spilling out of the box (unless clipped), whichever
  // reaches further.
  const reach = (e) => {
    const box = e.getBoundingClientRect();
    const spills = getComputedStyle(e).overflowX === "visible";
    return Math.round(Math.max(box.right, spills ? box.left + e.scrollWidth : 0));
  };
  const past = Array.from(document.body.querySelectorAll("*")).filter((e) => reach(e) > edge + 1);
  const innermost = past.filter((e) => !past.some((o) => o !== e && e.contains(o)));
  return innermost
    .sort((a, b) => reach(b) - reach(a))
    .slice(0, 8)
    .map((e) => `  ${reach(e)} px: <${e.tagName.toLowerCase()}`
      + (typeof e.className === "string" && e.className ? ` class="${e.className}"` : "")
      + `> ${(e.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 60)}`);
}"""


def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"The browser tests drive Debian's Chromium at {CHROMIUM}: apt-get install chromium "
            "(never `playwright install`)."
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": chromium(),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ],
    }


@pytest.fixture(params=list(SIZES))
def size(request):
    return request.param


@pytest.fixture
def site(live_server, settings):
    """The live server's base URL; mail links point at it too."""
    settings.SITE_URL = live_server.url
    mail.outbox.clear()
    return live_server.url


@pytest.fixture
def page(browser, size, site):
    context = browser.new_context(viewport=SIZES[size], base_url=site)
    context.set_default_timeout(10_000)
    # No test reaches the internet: pytest-socket cannot see the browser's own sockets, so the
    # browser may only fetch from the live server.
    context.route(re.compile(r"^(?!" + re.escape(site) + r"/)"), lambda route: route.abort())
    page = context.new_page()
    yield page
    context.close()


def link_in_mail(message, path_contains: str) -> str:
    """The first http(s) link in a sent message whose path contains path_contains."""
    bodies = [message.body] + [content for content, _ in getattr(message, "alternatives", [])]
    for body in bodies:
        for url in re.findall(r"https?://[^\s\"'<>]+", body):
            if path_contains in url:
                return url
    raise AssertionError(f"no link containing {path_contains!r} in {message.subject!r}")


@pytest.fixture
def sign_in(page, site):
    """Signs `user` in the browser with a session made by Django's test client: flows that are
    not about signing in start from the dashboard."""

    def sign_in_as(user):
        client = Client()
        client.force_login(user)
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        page.context.add_cookies(
            [{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": site}]
        )

    return sign_in_as


@pytest.fixture
def screenshot(request, page, size):
    """Keeps a screenshot of the page (var/screenshots/<test>-<step>-<size>.png) and says how it
    scrolls sideways, if it does: "" when nothing is wider than the window."""
    test_name = request.node.originalname

    def take(step: str) -> str:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{test_name}-{step}-{size}.png", full_page=True)
        content, window = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        if content <= window:
            return ""
        return (
            f"{page.url} scrolls sideways at {size} size: content is {content} px wide "
            f"in a {window} px window ({step}). Innermost elements past the edge:\n"
            + "\n".join(page.evaluate(OVERFLOWING))
        )

    return take


@pytest.fixture
def look(screenshot):
    """Checks what a person sees right now, keeping a screenshot of it: nothing is wider than
    the window (error pages are caught where pages load: visit, follow, submit)."""

    def look_at(step: str) -> None:
        problem = screenshot(step)
        assert not problem, problem

    return look_at


def opened(response, page) -> None:
    """The page loaded as a person would want: a 200, not an error page."""
    assert response is not None, f"nothing loaded for {page.url}"
    assert response.status == 200, f"{response.url} answered {response.status}"


def visit(page, url: str) -> None:
    opened(page.goto(url), page)


def follow(page, link) -> None:
    """Clicks a link (a locator) and checks the page it opens; a link that opens a new tab is
    checked in that tab, then the tab is closed."""
    link.scroll_into_view_if_needed()
    if link.get_attribute("target") == "_blank":
        with page.context.expect_page() as new_tab:
            link.click()
        tab = new_tab.value
        tab.wait_for_load_state()
        answer = tab.request.get(tab.url)
        assert answer.status == 200, f"{tab.url} answered {answer.status}"
        tab.close()
        return
    with page.expect_navigation() as navigation:
        link.click()
    opened(navigation.value, page)


def submit(page, button) -> None:
    """Clicks a form's submit button and checks the page that comes back (after redirects)."""
    with page.expect_navigation() as navigation:
        button.click()
    opened(navigation.value, page)
