"""Staff signed in to the application sign in on their organization's page host with a signed,
single-use, 60-second token (apps/accounts/handoff.py)."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from apps.organizations.models import Membership
from tests.factories import DomainFactory

pytestmark = pytest.mark.django_db

PAGE_HOST = "acme.status.localhost"
NEXT = "/incidents/abc123/"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "http://localhost:8000"


def app_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def start(page: Client, host: str = PAGE_HOST) -> str:
    """Clicks "Sign in as <org> staff" on the page host; the application address it goes to."""
    response = page.post("/signin/staff/", {"next": NEXT}, HTTP_HOST=host)
    assert response.status_code == 302
    assert response.url.startswith("http://localhost:8000/accounts/page-handoff/?")
    return response.url


def on_app(app: Client, url: str):
    parts = urlsplit(url)
    return app.get(f"{parts.path}?{parts.query}")


def back_on_page(page: Client, url: str, host: str = PAGE_HOST):
    parts = urlsplit(url)
    assert parts.hostname == host
    return page.get(f"{parts.path}?{parts.query}", HTTP_HOST=host)


def page_user(page: Client, host: str = PAGE_HOST):
    return page.get("/signin/", HTTP_HOST=host).wsgi_request.user


def test_the_page_host_offers_staff_sign_in(client, org):
    response = client.get("/signin/", HTTP_HOST=PAGE_HOST)
    assert b"Sign in as <bdi>Acme Cloud</bdi> staff" in response.content


def test_a_member_is_handed_over_to_the_page_host(org, owner):
    page = Client()
    response = on_app(app_client(owner), start(page))
    assert response.status_code == 302
    assert response.url.startswith(f"http://{PAGE_HOST}:8000/signin/staff/return/?token=")

    response = back_on_page(page, response.url)
    assert response.status_code == 302
    assert response.url == NEXT
    assert page_user(page) == owner
    signed_in = page.get("/signin/", HTTP_HOST=PAGE_HOST)
    assert b"<bdi>Acme Cloud</bdi> staff" in signed_in.content


def test_a_member_is_handed_over_to_a_verified_custom_domain(org, owner):
    DomainFactory(organization=org, hostname="status.acme-cloud.com", verified_at=timezone.now())
    page = Client()
    response = on_app(app_client(owner), start(page, "status.acme-cloud.com"))
    # A custom domain is reached on SITE_URL's scheme, without its port.
    assert response.url.startswith("http://status.acme-cloud.com/signin/staff/return/?token=")
    back_on_page(page, response.url, "status.acme-cloud.com")
    assert page_user(page, "status.acme-cloud.com") == owner


def test_signed_out_of_the_application_the_member_logs_in_there_first(org):
    page = Client()
    response = on_app(Client(), start(page))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=/accounts/page-handoff/")


def test_a_non_member_is_refused(org, customer):
    page = Client()
    response = on_app(app_client(customer), start(page))
    assert response.status_code == 403
    assert b"not a member of Acme Cloud" in response.content
    assert not page_user(page).is_authenticated


def test_a_member_of_another_organization_is_refused(org, outsider):
    response = on_app(app_client(outsider), start(Client()))
    assert response.status_code == 403
    assert b"not a member of Acme Cloud" in response.content


@pytest.mark.parametrize(
    "host",
    ["evil.test", "localhost", "acme.status.localhost.evil.test", "unverified.acme-cloud.com"],
)
def test_only_a_page_address_of_the_organization_is_a_return_address(org, owner, host):
    DomainFactory(organization=org, hostname="unverified.acme-cloud.com", verified_at=None)
    app = app_client(owner)
    response = app.get("/accounts/page-handoff/", {"host": host, "state": "x", "next": NEXT})
    assert response.status_code == 403
    assert b"There is no status page at that address." in response.content


def test_a_token_for_one_organization_is_refused_on_another_organizations_host(
    org, owner, other_org
):
    page = Client()
    token_url = on_app(app_client(owner), start(page)).url
    # Same browser, same path, the other organization's host.
    page.post("/signin/staff/", {"next": NEXT}, HTTP_HOST="globex.status.localhost")
    parts = urlsplit(token_url)
    response = page.get(f"{parts.path}?{parts.query}", HTTP_HOST="globex.status.localhost")
    assert response.status_code == 400
    assert b"expired or was already used" in response.content
    assert not page_user(page, "globex.status.localhost").is_authenticated


def test_a_token_is_used_once(org, owner):
    page = Client()
    token_url = on_app(app_client(owner), start(page)).url
    back_on_page(page, token_url)
    page.post("/signout/", HTTP_HOST=PAGE_HOST)
    # Replayed, even by the same browser after starting again.
    start(page)
    response = back_on_page(page, token_url)
    assert response.status_code == 400
    assert b"expired or was already used" in response.content
    assert not page_user(page).is_authenticated


def test_a_token_expires_after_60_seconds(org, owner, monkeypatch):
    page = Client()
    token_url = on_app(app_client(owner), start(page)).url
    later = time.time() + 61
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    response = back_on_page(page, token_url)
    assert response.status_code == 400
    assert b"expired or was already used" in response.content
    monkeypatch.undo()
    assert not page_user(page).is_authenticated


def test_a_token_only_works_in_the_browser_that_asked_for_it(org, owner):
    token_url = on_app(app_client(owner), start(Client())).url
    # Someone else's browser (no state in its page-host session): no login CSRF.
    other_browser = Client()
    response = back_on_page(other_browser, token_url)
    assert response.status_code == 400
    assert not page_user(other_browser).is_authenticated


def test_a_tampered_token_is_refused(org, owner):
    page = Client()
    token_url = on_app(app_client(owner), start(page)).url
    token = parse_qs(urlsplit(token_url).query)["token"][0]
    response = page.get("/signin/staff/return/", {"token": token[:-2] + "xx"}, HTTP_HOST=PAGE_HOST)
    assert response.status_code == 400
    assert not page_user(page).is_authenticated


def test_a_member_removed_meanwhile_is_refused(org, owner):
    page = Client()
    token_url = on_app(app_client(owner), start(page)).url
    Membership.objects.filter(user=owner).delete()
    response = back_on_page(page, token_url)
    assert response.status_code == 400
    assert b"Only Acme Cloud staff can sign in this way." in response.content


def test_the_next_path_survives_only_as_a_path(org, owner):
    page = Client()
    response = page.post("/signin/staff/", {"next": "https://evil.test/"}, HTTP_HOST=PAGE_HOST)
    response = back_on_page(page, on_app(app_client(owner), response.url).url)
    assert response.url == "/"


def test_on_the_application_host_staff_are_already_signed_in_on_s_slug(org, owner):
    app = app_client(owner)
    response = app.get("/s/acme/signin/")
    assert (
        b"Signed in as <strong>alice@acme.test</strong>, <bdi>Acme Cloud</bdi> staff."
        in response.content
    )
    # No hand-off offered there: the application's cookies are the page's.
    assert b"Sign in as <bdi>Acme Cloud</bdi> staff" not in Client().get("/s/acme/signin/").content


# After signing in on the application, the last hop back to the page host is a page, not a
# redirect: browsers check a form's redirects against its page's CSP form-action, which does not
# list status page hosts (apps/accounts/views.page_handoff).


def test_a_member_who_signs_in_first_is_moved_on_by_a_page_not_a_redirect(org, owner):
    page = Client()
    url = start(page)
    app = Client()
    response = on_app(app, url)
    assert response.status_code == 302
    login = urlsplit(response.url)
    assert login.path == "/accounts/login/"
    comeback = parse_qs(login.query)["next"][0]
    assert parse_qs(urlsplit(comeback).query)["after"] == ["sign-in"]

    app.force_login(owner)
    response = app.get(comeback)
    assert response.status_code == 200
    html = response.content.decode()
    target = re.search(r'<meta http-equiv="refresh" content="0;url=([^"]+)">', html)
    assert target is not None
    token_url = target[1].replace("&amp;", "&")
    assert token_url.startswith(f"http://{PAGE_HOST}:8000/signin/staff/return/?token=")
    assert f'href="{target[1]}"' in html  # the same address as a link, for no-refresh browsers

    response = back_on_page(page, token_url)
    assert response.status_code == 302
    assert response.url == NEXT
    assert page_user(page) == owner


def test_a_member_already_signed_in_is_still_redirected(org, owner):
    response = on_app(app_client(owner), start(Client()))
    assert response.status_code == 302
    assert response.url.startswith(f"http://{PAGE_HOST}:8000/signin/staff/return/?token=")
