"""Private status pages (apps/organizations/private_pages.py, enforced by TenantMiddleware).

Every public URL of a private organization is walked, like test_url_walk.py walks the dashboard:
an anonymous reader gets the sign-in page (HTML pages) or exactly the "no status page here"
answer (everything else), with none of the page's content; an allowed reader and a token holder
get the page. A URL added to config/urls_public.py fails here until it is sorted into OPEN or
the refused kinds below.
"""

from __future__ import annotations

import logging
import re

import pytest
from django.conf import settings
from django.contrib.admindocs.views import extract_views_from_urlpatterns
from django.core import mail
from django.urls import get_resolver

from apps.forum.notifications import mute_all_token, mute_token
from apps.notifications import tokens
from apps.notifications.models import Subscriber
from apps.organizations.models import AuditEntry, PageAccessToken
from apps.organizations.principals import Member
from apps.organizations.private_pages import OPEN, PAGES
from apps.organizations.published import publish_version
from apps.organizations.services import (
    create_page_access_token,
    revoke_page_access_token,
    set_page_visibility,
)
from apps.public import fastpath

from ..factories import (
    ComponentFactory,
    IncidentFactory,
    IncidentUpdateFactory,
    MembershipFactory,
    UserFactory,
)
from ..forum.factories import CommentFactory, ThreadFactory
from ..notifications.factories import EmailSubscriberFactory

PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
# What the private page holds: none of it may reach a refused reader.
SECRETS = ("Ledger engine", "Quasar meltdown", "Plasma is leaking")
ALLOWED_DOMAIN = "acme-corp.example"
# The routes a refused reader still reaches, and why (the walk checks that they show none of
# the page's content). private_pages.OPEN must be exactly this.
EXPECTED_OPEN = {
    "public:signin": "signing in is how a reader gets in",
    "public:signin-code": "sign-in step",
    "public:signin-password": "sign-in step",
    "public:signin-two-factor": "sign-in step",
    "public:signin-name": "sign-in step (asks a signed-in person for a name)",
    "public:signin-staff": "staff hand-off to the application host",
    "public:signin-staff-return": "staff hand-off back from the application host",
    "public:signout": "signing out",
    "account_login": "allauth's stage names for the same sign-in views",
    "account_confirm_login_code": "allauth's stage names for the same sign-in views",
    "mfa_authenticate": "allauth's stage names for the same sign-in views",
    "notifications:unsubscribe": "RFC 8058: unsubscribing works without signing in",
    "forum_notify:mute": "one-click link of forum mail",
    "forum_notify:mute_all": "one-click link of forum mail",
    "branding_file": "the logo on the sign-in page",
    "public:language": "the language switcher of the sign-in page (a cookie, no content)",
}
# Reader URLs (below the page root) that answer 200 to an allowed reader.
READER_URLS = [
    "",
    "history/",
    "incidents/{incident}/",
    "live/",
    "incidents/{incident}/live/",
    "embed.js",
    "embed.json",
    "down/",
    "badge.svg",
    "history.atom",
    "history.rss",
    "feed.atom",
    "feed.rss",
    "maintenance.ics",
    "api/v2/summary.json",
    "api/v2/status.json",
    "api/v2/components.json",
    "api/v2/incidents.json",
    "api/v2/incidents/unresolved.json",
    "api/v2/scheduled-maintenances.json",
    "api/v2/scheduled-maintenances/upcoming.json",
    "api/v2/scheduled-maintenances/active.json",
    "subscribe/",
]
# Where the incident's name shows for a reader who may read it.
SHOWS_INCIDENT = ["", "incidents/{incident}/", "feed.atom", "api/v2/summary.json"]


@pytest.fixture
def content(org, owner):
    ComponentFactory(organization=org, name=SECRETS[0])
    incident = IncidentFactory(organization=org, name=SECRETS[1])
    IncidentUpdateFactory(incident=incident, status="investigating", body=SECRETS[2])
    return incident


@pytest.fixture
def private(org, owner, content, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        set_page_visibility(
            org,
            actor=Member.of(owner, org),
            visibility="private",
            allowed_domains=ALLOWED_DOMAIN,
        )
    org.refresh_from_db()
    return org


@pytest.fixture
def reader(db):
    """Not a member: let in by a verified address at the allowed domain."""
    return UserFactory(email=f"rita@{ALLOWED_DOMAIN}")


@pytest.fixture
def stranger(db):
    return UserFactory(email="sam@elsewhere.example")


@pytest.fixture
def secret(private, owner):
    return create_page_access_token(private, actor=Member.of(owner, private), name="Grafana")[1]


def _public_routes():
    resolver = get_resolver(settings.PUBLIC_URLCONF)
    for _view, route, namespace, name in extract_views_from_urlpatterns(resolver.url_patterns):
        full = ":".join([*namespace, name]) if namespace and name else name
        yield route, full


@pytest.fixture
def walk(private, owner, content):
    """Every public URL of the private page below /s/acme/, with its route's name."""
    comment = CommentFactory(thread=ThreadFactory(incident=content))
    subscriber = EmailSubscriberFactory(organization=private)
    values = {
        "public_id": content.public_id,
        "comment_id": comment.public_id,
        "folder": "logos",
        "name": "missing.png",
        "code": "de",
    }
    urls = []
    for route, name in _public_routes():
        if name is None:  # /healthz
            continue
        token = tokens.make_token(subscriber)
        if name == "forum_notify:mute":
            token = mute_token(comment.thread, owner.pk)
        elif name == "forum_notify:mute_all":
            token = mute_all_token(private.pk, owner.pk)
        arguments = {**values, "token": token}
        path = PARAM.sub(lambda m, arguments=arguments: str(arguments[m["name"]]), route)
        urls.append((name, "/s/acme/" + path))
    return urls


def _no_secrets(response) -> None:
    body = response.content.decode(errors="replace")
    for text in SECRETS:
        assert text not in body, f"{text!r} leaked"


def test_the_open_routes_are_the_listed_ones():
    assert set(OPEN) == set(EXPECTED_OPEN)
    assert PAGES.isdisjoint(OPEN)


def test_every_public_url_refuses_an_anonymous_reader(client, walk):
    unknown = client.get("/s/nosuchpage/api/v2/summary.json")
    assert unknown.status_code == 404
    checked = 0
    for name, url in walk:
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            _no_secrets(response)
            if name in EXPECTED_OPEN:
                # The switcher's cookie would make the next refusals German, and `unknown` English.
                client.cookies.pop("candor_language", None)
                continue
            checked += 1
            if name in PAGES and method == "get":
                assert response.status_code == 302, f"GET {url} ({name})"
                assert response["Location"].startswith("/s/acme/signin/?next=%2Fs%2Facme%2F")
            else:
                # Exactly what an address with no status page answers.
                assert response.status_code == 404, f"{method.upper()} {url} ({name})"
                assert response.content == unknown.content, f"{method.upper()} {url}"
                assert b"Acme Cloud" not in response.content
    assert checked > 40


def test_every_reader_url_works_for_an_allowed_signed_in_reader(client, walk, reader, content):
    client.force_login(reader)
    for path in READER_URLS:
        url = "/s/acme/" + path.format(incident=content.public_id)
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "private, no-store", url
    for path in SHOWS_INCIDENT:
        url = "/s/acme/" + path.format(incident=content.public_id)
        assert SECRETS[1] in client.get(url).content.decode(), url


def test_a_member_at_any_domain_is_let_in(client, private, content):
    member = MembershipFactory(organization=private, user=UserFactory(email="m@gmail.example"))
    client.force_login(member.user)
    assert SECRETS[1] in client.get("/s/acme/").content.decode()


@pytest.mark.parametrize("how", ["header", "query"])
def test_every_reader_url_works_with_an_access_token(client, secret, content, how):
    for path in READER_URLS:
        url = "/s/acme/" + path.format(incident=content.public_id)
        if how == "header":
            response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {secret}")
        else:
            response = client.get(url, {"token": secret})
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "private, no-store"
        assert {"Cookie", "Authorization"} <= {v.strip() for v in response["Vary"].split(",")}, url
        assert not response.has_header("CDN-Cache-Control")
    summary = client.get("/s/acme/api/v2/summary.json", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert SECRETS[1] in summary.content.decode()


def test_a_token_records_when_it_was_last_used(client, private, secret):
    client.get("/s/acme/feed.atom", {"token": secret})
    assert PageAccessToken.objects.get(organization=private).last_used_at is not None


def test_a_token_is_stored_hashed_and_shown_once(private, owner):
    token, shown = create_page_access_token(private, actor=Member.of(owner, private), name="x")
    assert shown.startswith("cpt_") and len(shown) > 40
    assert shown not in token.hashed_token and token.prefix == shown[:12]
    assert AuditEntry.objects.filter(organization=private, action="page_token.create").exists()


def test_a_revoked_token_stops_working_at_once(client, private, owner, secret):
    assert client.get("/s/acme/badge.svg", {"token": secret}).status_code == 200
    token = PageAccessToken.objects.get(organization=private)
    revoke_page_access_token(token, actor=Member.of(owner, private))
    refused = client.get("/s/acme/badge.svg", {"token": secret})
    assert refused.status_code == 404
    _no_secrets(refused)


def test_a_wrong_token_is_refused_like_no_token(client, private, secret):
    wrong = client.get("/s/acme/api/v2/summary.json", HTTP_AUTHORIZATION="Bearer cpt_nope")
    none = client.get("/s/acme/api/v2/summary.json")
    assert wrong.status_code == none.status_code == 404
    assert wrong.content == none.content


# --- across organizations ------------------------------------------------------------------


@pytest.fixture
def other_private(outsider, other_org, django_capture_on_commit_callbacks):
    IncidentFactory(organization=other_org, name="Globex secret incident")
    with django_capture_on_commit_callbacks(execute=True):
        set_page_visibility(
            other_org,
            actor=Member.of(outsider, other_org),
            visibility="private",
            allowed_domains="globex.example",
        )
    return other_org


def test_a_token_of_one_organization_never_opens_another(client, secret, other_private):
    response = client.get("/s/globex/api/v2/summary.json", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 404
    assert b"Globex secret incident" not in response.content
    assert client.get("/s/globex/", {"token": secret}).status_code == 302


def test_a_reader_allowed_on_one_page_is_not_allowed_on_another(client, private, other_private):
    reader = UserFactory(email=f"rita@{ALLOWED_DOMAIN}")
    client.force_login(reader)
    assert client.get("/s/acme/").status_code == 200
    page = client.get("/s/globex/")
    assert page.status_code == 302
    refused = client.get(page["Location"])
    assert refused.status_code == 403
    assert "This status page is private to Globex" in refused.content.decode()
    assert "Globex secret incident" not in refused.content.decode()
    assert client.get("/s/globex/api/v2/summary.json").status_code == 404


# --- signing in -----------------------------------------------------------------------------


def test_an_anonymous_reader_is_sent_to_the_sign_in_page_of_the_host(client, private):
    page = client.get("/", HTTP_HOST="acme.status.localhost")
    assert page.status_code == 302
    assert page["Location"] == "/signin/?next=%2F"
    signin = client.get(page["Location"], HTTP_HOST="acme.status.localhost")
    assert signin.status_code == 200
    assert "This status page is private" in signin.content.decode()
    _no_secrets(signin)
    # No links that would only bounce back here: history, subscribe, "back to the page".
    body = signin.content.decode()
    assert 'href="/history/"' not in body
    assert 'href="/subscribe/"' not in body
    assert "Back to the status page" not in body


def test_a_public_pages_sign_in_keeps_its_links(client, org):
    body = client.get("/signin/?next=%2F", HTTP_HOST="acme.status.localhost").content.decode()
    assert 'href="/history/"' in body
    assert "Subscribe to updates" in body
    assert "Back to the status page" in body


def test_a_signed_in_stranger_sees_whom_the_page_is_for_and_can_sign_out(client, private, stranger):
    client.force_login(stranger)
    page = client.get("/s/acme/history/")
    assert page.status_code == 302
    refused = client.get(page["Location"])
    assert refused.status_code == 403
    body = refused.content.decode()
    assert f"@{ALLOWED_DOMAIN}" in body and "sam@elsewhere.example" in body
    assert 'action="/s/acme/signout/"' in body
    _no_secrets(refused)


def test_an_unverified_address_at_the_allowed_domain_is_not_let_in(client, private):
    client.force_login(UserFactory(email=f"eve@{ALLOWED_DOMAIN}", verified=False))
    assert client.get("/s/acme/").status_code == 302


def test_a_subdomain_of_an_allowed_domain_is_not_let_in(client, private):
    client.force_login(UserFactory(email=f"eve@eng.{ALLOWED_DOMAIN}"))
    assert client.get("/s/acme/api/v2/status.json").status_code == 404


# --- no leak between unknown and private ---------------------------------------------------


@pytest.mark.parametrize(
    "path", ["api/v2/summary.json", "badge.svg", "embed.js", "feed.atom", "down/", "nope/"]
)
def test_a_private_page_answers_scripts_as_an_unknown_address_does(
    client, private, path, django_assert_num_queries
):
    with django_assert_num_queries(1):  # the address's organization, and nothing else
        unknown = client.get(f"/s/nosuchpage/{path}")
    with django_assert_num_queries(1):
        hidden = client.get(f"/s/acme/{path}")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.content == unknown.content
    assert list(hidden.items()) == list(unknown.items())


def test_the_same_with_a_session_of_someone_not_let_in(client, private, stranger):
    client.force_login(stranger)
    unknown = client.get("/api/v2/summary.json", HTTP_HOST="nosuchpage.status.localhost")
    hidden = client.get("/api/v2/summary.json", HTTP_HOST="acme.status.localhost")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.content == unknown.content
    assert list(hidden.items()) == list(unknown.items())


# --- caches -----------------------------------------------------------------------------------


def test_the_fast_path_never_keeps_a_private_page(client, private, reader, secret):
    publish_version(private.pk, private.content_version)
    client.force_login(reader)
    assert client.get("/s/acme/api/v2/summary.json").status_code == 200
    client.logout()
    assert client.get("/s/acme/api/v2/summary.json", {"token": secret}).status_code == 200
    assert client.get("/s/acme/live/", {"token": secret}).status_code == 200
    assert len(fastpath.memory) == 0
    anonymous = client.get("/s/acme/api/v2/summary.json")
    assert anonymous.status_code == 404
    _no_secrets(anonymous)


def test_making_a_page_private_takes_effect_at_once_even_in_the_fast_path(
    client, org, owner, content, django_capture_on_commit_callbacks, django_assert_num_queries
):
    publish_version(org.pk, org.content_version)
    urls = ["/s/acme/api/v2/summary.json", "/s/acme/badge.svg", "/s/acme/"]
    for url in urls:
        assert client.get(url).status_code == 200
    with django_assert_num_queries(0):  # served from the fast path's memory
        assert SECRETS[1] in client.get(urls[0]).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        set_page_visibility(
            org, actor=Member.of(owner, org), visibility="private", allowed_domains=""
        )
    for url in urls:
        response = client.get(url)
        assert response.status_code in (302, 404), url
        _no_secrets(response)


def test_private_headers_on_the_sign_in_redirect_and_refusals(client, private):
    for url in ["/s/acme/", "/s/acme/badge.svg"]:
        response = client.get(url)
        assert response["Cache-Control"] == "private, no-store"
        assert not response.has_header("CDN-Cache-Control")
        assert not response.has_header("ETag")


def test_a_page_made_public_again_is_shared_again(
    client, private, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        set_page_visibility(
            private, actor=Member.of(owner, private), visibility="public", allowed_domains=""
        )
    response = client.get("/s/acme/api/v2/summary.json")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("public")


# --- subscriptions --------------------------------------------------------------------------


def _subscribe(client, email):
    return client.post("/s/acme/subscribe/", {"channel": "email", "email-email": email})


def test_only_allowed_readers_subscribe_and_only_allowed_addresses(client, private, reader):
    assert _subscribe(client, f"rita@{ALLOWED_DOMAIN}").status_code == 404
    assert not Subscriber.objects.filter(organization=private).exists()
    client.force_login(reader)
    refused = _subscribe(client, "someone@elsewhere.example")
    assert refused.status_code == 400
    assert "This status page is private" in refused.content.decode()
    assert _subscribe(client, f"rita@{ALLOWED_DOMAIN}").status_code == 200
    assert Subscriber.objects.filter(organization=private, email=f"rita@{ALLOWED_DOMAIN}").exists()


def test_the_unsubscribe_link_works_without_signing_in(client, private):
    subscriber = EmailSubscriberFactory(organization=private)
    url = tokens.unsubscribe_url(subscriber).split("://", 1)[-1].split("/", 1)[1]
    response = client.post("/" + url)  # the RFC 8058 one-click POST, no session
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.state == Subscriber.State.DISABLED


# --- settings -------------------------------------------------------------------------------


def test_an_owner_makes_the_page_private_in_the_dashboard(client, org, owner):
    client.force_login(owner)
    url = "/dashboard/acme/settings/visibility/"
    response = client.post(
        url, {"visibility": "private", "allowed_domains": "@Acme-Corp.example\nacme.example"}
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.is_private
    assert org.allowed_email_domains == [ALLOWED_DOMAIN, "acme.example"]
    entry = AuditEntry.objects.get(organization=org, action="organization.visibility")
    assert entry.data["changes"]["visibility"] == ["public", "private"]


def test_a_bad_domain_is_refused_on_its_field(client, org, owner):
    client.force_login(owner)
    response = client.post(
        "/dashboard/acme/settings/visibility/",
        {"visibility": "private", "allowed_domains": "not a domain"},
    )
    assert response.status_code == 400
    org.refresh_from_db()
    assert not org.is_private


def test_a_token_is_created_shown_once_and_revoked_in_the_dashboard(client, org, owner):
    client.force_login(owner)
    created = client.post("/dashboard/acme/settings/visibility/tokens/", {"name": "Grafana"})
    assert created.status_code == 200
    token = PageAccessToken.objects.get(organization=org)
    shown = re.search(r"cpt_[A-Za-z0-9_-]+", created.content.decode())
    assert shown is not None and shown[0].startswith(token.prefix)
    listed = client.get("/dashboard/acme/settings/visibility/").content.decode()
    assert shown[0] not in listed and token.prefix in listed
    revoked = client.post(f"/dashboard/acme/settings/visibility/tokens/{token.public_id}/revoke/")
    assert revoked.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_token_in_a_logged_url_is_redacted():
    from apps.core.logs import RedactHookTokens

    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        "",
        0,
        '"%s" %s',
        ("GET /feed.atom?token=cpt_Ab-9_x HTTP/1.1", "200"),
        None,
    )
    RedactHookTokens().filter(record)
    assert record.getMessage() == '"GET /feed.atom?token=[token] HTTP/1.1" 200'


def _sign_in_by_code(client, email):
    client.post("/s/acme/signin/", {"email": email, "next": "/s/acme/"})
    message = mail.outbox[-1]
    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", message.body, re.MULTILINE)[1]
    return message, client.post("/s/acme/signin/code/", {"code": code, "next": "/s/acme/"})


def test_signing_in_by_code_with_an_allowed_address_opens_the_page(client, private):
    message, response = _sign_in_by_code(client, f"new@{ALLOWED_DOMAIN}")
    assert message.subject == "Your code to sign in to the Acme Cloud status page"
    assert "private Acme Cloud status page" in message.body
    # Straight to the page: readers of a private page are not asked for a name first.
    assert response["Location"] == "/s/acme/"
    assert SECRETS[1] in client.get("/s/acme/").content.decode()


def test_signing_in_by_code_with_another_address_leads_to_the_refusal(client, private):
    _message, response = _sign_in_by_code(client, "new@elsewhere.example")
    assert response["Location"] == "/s/acme/"
    page = client.get("/s/acme/")
    refused = client.get(page["Location"])
    assert refused.status_code == 403
    _no_secrets(refused)


def test_a_reader_who_cannot_be_checked_during_a_database_outage_is_asked_to_retry(
    client, private, reader, monkeypatch
):
    from django.db import OperationalError

    from apps.organizations import private_pages

    def database_down(*args, **kwargs):
        raise OperationalError("connection refused")

    client.force_login(reader)
    monkeypatch.setattr(private_pages, "user_may_read", database_down)
    response = client.get("/s/acme/api/v2/summary.json")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert b"Acme Cloud" not in response.content
    _no_secrets(response)


def test_the_export_holds_the_visibility_and_the_tokens_but_no_secret(client, private, owner):
    token, shown = create_page_access_token(private, actor=Member.of(owner, private), name="Cal")
    client.force_login(owner)
    response = client.post("/dashboard/acme/settings/export/")
    body = b"".join(response.streaming_content).decode()
    assert '"visibility":"private"' in body
    assert f'"allowed_email_domains":["{ALLOWED_DOMAIN}"]' in body
    assert token.public_id in body and token.prefix in body
    assert shown not in body and token.hashed_token not in body
