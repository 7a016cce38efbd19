"""CSRF on every form (issue #14): every dashboard, account and status page POST URL answers 403
to a signed-in browser that sends no CSRF token, except the endpoints listed below with why;
every POST form the main pages render carries the token.

The URL lists come from the URL configuration itself (like tests/tenancy/test_url_walk.py), so
a new URL is checked the day it is added.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.admindocs.views import extract_views_from_urlpatterns
from django.test import Client
from django.urls import get_resolver

from tests.tenancy import test_url_walk as url_walk
from tests.tenancy.test_url_walk import _build, dashboard_urls

# One object of every kind, from the tenancy URL walk (the same parameters fill the same URLs).
org_objects = url_walk.org_objects

PAGE = "/s/acme/"

# Routes that take POSTs without a CSRF token, each with the reason. A route missing here that
# answers anything but 403 fails the walk; a route listed here that is no longer exempt fails
# too, so the list stays true.
EXEMPT_PUBLIC = {
    # RFC 8058 one-click unsubscribe: the mailbox provider POSTs with no cookies; the
    # unguessable token in the URL is the authorisation and the only effect is to stop mail.
    "unsubscribe/<str:token>/": "RFC 8058 one-click unsubscribe",
    # The forum mail's one-click mute links, for the same reason.
    "discussions/mute/<str:token>/": "RFC 8058 one-click mute of a discussion",
    "discussions/mute-all/<str:token>/": "RFC 8058 one-click mute of every discussion",
}
# Not walked with a session at all, because they never read one:
# - /hooks/...: alert hooks, authenticated by their token (tests/integrations/test_alerts_hooks.py);
# - /api/v1/...: the management API, authenticated by API keys only (checked below: a session
#   cookie without a key gets no write).
# - /admin/: Django's own admin, CSRF-protected by Django (its login is walked below).

ACCOUNT_ROUTES = [
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/signup/",
    "/accounts/password/change/",
    "/accounts/password/reset/",
    "/accounts/email/",
    "/accounts/profile/",
    "/accounts/2fa/totp/activate/",
    "/dashboard/new/",
    "/admin/login/",
]


def _public_routes() -> list[tuple[str, str]]:
    resolver = get_resolver("config.urls_public")
    return [
        (route, name or "")
        for _view, route, _namespace, name in extract_views_from_urlpatterns(resolver.url_patterns)
    ]


@pytest.fixture
def public_values(org_objects):
    values = dict(org_objects)
    values.update(
        public_id=org_objects["incident_id"],
        token="not-a-real-token",  # the CSRF check comes before the view looks at it
        folder="logos",
        name="logo.png",
        code="de",
    )
    return values


@pytest.fixture
def browser(owner):
    """A signed-in browser that never sends the CSRF token (a forged cross-site POST)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    return client


def test_every_dashboard_post_without_a_token_is_refused(browser, org_objects):
    routes = dashboard_urls(org_objects)
    assert len(routes) > 50
    for route, url, _view in routes:
        response = browser.post(url)
        assert response.status_code == 403, f"POST {url} ({route}): {response.status_code}"
        assert b"CSRF" in response.content, f"POST {url} ({route}): not the CSRF refusal"


def test_every_status_page_post_without_a_token_is_refused(browser, public_values):
    routes = _public_routes()
    assert len(routes) > 30
    exempt_seen = set()
    for route, _name in routes:
        url = PAGE + _build(route, public_values).lstrip("/")
        response = browser.post(url)
        if route in EXEMPT_PUBLIC:
            exempt_seen.add(route)
            assert response.status_code != 403, f"{route} is listed as exempt but refuses"
            continue
        # A route that only reads answers 405 to any POST, before anything is done; a route
        # that writes must be stopped by the CSRF check.
        assert response.status_code in (403, 405), f"POST {url} ({route}): {response.status_code}"
        if response.status_code == 403:
            assert b"CSRF" in response.content, f"POST {url} ({route}): not the CSRF refusal"
    assert exempt_seen == set(EXEMPT_PUBLIC)


@pytest.mark.parametrize("url", ACCOUNT_ROUTES)
def test_account_and_sign_in_posts_without_a_token_are_refused(browser, url):
    response = browser.post(url)
    assert response.status_code == 403, f"POST {url}: {response.status_code}"


def test_anonymous_sign_in_without_a_token_is_refused(org):
    client = Client(enforce_csrf_checks=True)
    for url in ("/accounts/login/", f"{PAGE}signin/", f"{PAGE}subscribe/"):
        response = client.post(url, {"login": "alice@acme.test", "email": "a@example.com"})
        assert response.status_code == 403, f"POST {url}: {response.status_code}"


def test_the_api_takes_no_write_from_a_session_cookie(browser, org_objects):
    for path in ("/api/v1/incidents/", "/api/v1/components/", "/api/v1/maintenances/"):
        response = browser.post(path, {"name": "Forged"}, content_type="application/json")
        assert response.status_code in (401, 403), f"POST {path}: {response.status_code}"


# --- every rendered POST form carries the token ----------------------------------------------


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self._open = {
                "method": (attributes.get("method") or "get").lower(),
                "action": attributes.get("action") or "",
                "token": False,
            }
            self.forms.append(self._open)
        elif (
            tag == "input"
            and self._open is not None
            and attributes.get("name") == "csrfmiddlewaretoken"
            and attributes.get("value")
        ):
            self._open["token"] = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def post_forms(document: bytes) -> list[dict]:
    parser = _Forms()
    parser.feed(document.decode())
    return [form for form in parser.forms if form["method"] == "post"]


def test_every_post_form_on_the_dashboard_carries_the_token(client, owner, org_objects):
    client.force_login(owner)
    checked = 0
    for route, url, _view in dashboard_urls(org_objects):
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for form in post_forms(response.content):
            assert form["token"], f"GET {url} ({route}): form to {form['action']!r} has no token"
            checked += 1
    assert checked > 40


def test_every_post_form_on_the_status_page_carries_the_token(
    client, customer_signed_in, org_objects
):
    incident = org_objects["incident_id"]
    checked = 0
    for path in ("", "history/", f"incidents/{incident}/", "subscribe/", "signin/"):
        response = customer_signed_in.get(PAGE + path)
        assert response.status_code == 200, path
        for form in post_forms(response.content):
            assert form["token"], f"GET {PAGE}{path}: form to {form['action']!r} has no token"
            checked += 1
    assert checked >= 3


@pytest.fixture
def customer_signed_in(db, client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(display_name="Casey"))
    return client
