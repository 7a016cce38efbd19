"""Content-Security-Policy and Permissions-Policy on every page (apps/core/csp.py, issue 14).

Walks every dashboard URL as its owner and every status page URL on the page's own host and
below /s/<slug>/, and checks each HTML answer carries a policy that allows no inline script and
no eval; then the pages outside those walks (sign-in, landing, API docs, errors), the outage
page's one inline script against its hash, and the templates themselves: no inline script, no
inline event handler anywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.admindocs.views import extract_views_from_urlpatterns
from django.urls import get_resolver

from apps.core.csp import PERMISSIONS_POLICY, inline_script, script_hash
from tests.factories import IncidentFactory, MaintenanceFactory
from tests.forum.factories import CommentFactory, ThreadFactory
from tests.tenancy.test_url_walk import PARAM, dashboard_urls, org_objects  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def directives(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"{response.wsgi_request.path}: no Content-Security-Policy"
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def is_html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


def assert_guarded(response, where: str) -> None:
    policy = directives(response)
    script = policy.get("script-src", policy.get("default-src"))
    assert script is not None, f"{where}: no script-src"
    assert "'unsafe-inline'" not in script, f"{where}: script-src allows inline scripts"
    assert "'unsafe-eval'" not in script, f"{where}: script-src allows eval"
    assert not any(source.startswith("'nonce-") for source in script), (
        f"{where}: a nonce (cached pages would carry a stale one)"
    )
    assert all(source == "'self'" or source.startswith("'sha256-") for source in script), (
        f"{where}: scripts from elsewhere: {script}"
    )
    assert policy["object-src"] == ["'none'"], where
    assert policy["base-uri"] == ["'self'"], where
    assert policy["frame-ancestors"] == ["'none'"], where
    assert policy["default-src"] == ["'self'"], where
    assert response.get("Permissions-Policy") == PERMISSIONS_POLICY, where


def test_the_policy_is_django_csp_4s_format():
    # 4.0 reads CONTENT_SECURITY_POLICY = {"DIRECTIVES": ...}; the old CSP_* settings would be
    # silently ignored.
    assert "DIRECTIVES" in settings.CONTENT_SECURITY_POLICY
    assert not [name for name in dir(settings) if name.startswith("CSP_")]


def test_every_dashboard_page_carries_the_policy(client, owner, org_objects):  # noqa: F811
    client.force_login(owner)
    pages = 0
    for route, url, _view in dashboard_urls(org_objects):
        response = client.get(url)
        if response.status_code == 200 and is_html(response):
            assert_guarded(response, f"GET {url} ({route})")
            pages += 1
        else:
            # Redirects and downloads get the same headers: nothing is left out by status.
            assert response.get("Permissions-Policy") == PERMISSIONS_POLICY, url
            assert "Content-Security-Policy" in response, url
    assert pages >= 40


@pytest.fixture
def public_values(org):
    incident = IncidentFactory(organization=org)
    thread = ThreadFactory(incident=incident)
    comment = CommentFactory(thread=thread)
    maintenance = MaintenanceFactory(organization=org)
    return {
        "incident_id": incident.public_id,
        "maintenance_id": maintenance.public_id,
        "comment_id": comment.public_id,
    }


def public_urls(values: dict) -> list[tuple[str, str]]:
    """Every GET-able status page route whose parameters we can fill; routes taking tokens
    (confirm, unsubscribe, mute links) are reached with a made-up token: their error pages must
    carry the policy too."""
    urls = []
    for _view, route, _namespace, _name in extract_views_from_urlpatterns(
        get_resolver(settings.PUBLIC_URLCONF).url_patterns
    ):
        path = PARAM.sub(lambda m: str(values.get(m["name"], "x" * 20)), route)
        urls.append((route, "/" + path))
    return urls


@pytest.mark.parametrize("prefix", ["host", "path"])
def test_every_status_page_url_carries_the_policy(client, org, public_values, prefix):
    host = f"{org.slug}.{settings.STATUS_PAGE_DOMAIN}"
    checked = 0
    for route, path in public_urls(public_values):
        if prefix == "host":
            response = client.get(path, HTTP_HOST=host)
        else:
            response = client.get(f"/s/{org.slug}{path}")
        where = f"GET {path} ({route}, {prefix})"
        assert response.get("Permissions-Policy") == PERMISSIONS_POLICY, where
        if is_html(response):
            assert_guarded(response, where)
            checked += 1
    # The page, history, incident, maintenance, subscribe, sign-in, down, their errors...
    assert checked >= 15


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/api/docs/",
        "/api/redoc/",
        "/no-such-page/",
        "/s/no-such-org/",
    ],
)
def test_pages_outside_the_walks_carry_the_policy(client, url):
    response = client.get(url)
    assert is_html(response), url
    assert_guarded(response, url)


def test_an_unknown_host_and_a_server_error_carry_the_policy(client, org):
    # TenantMiddleware answers an unknown host itself; the CSP middleware is outside it.
    response = client.get("/", HTTP_HOST=f"nobody.{settings.STATUS_PAGE_DOMAIN}")
    assert response.status_code == 404
    assert_guarded(response, "unknown host")


def test_api_responses_carry_permissions_policy(client):
    response = client.get("/api/v1/organization/")
    assert response.status_code == 401
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY


def test_permissions_policy_switches_off_what_no_page_uses():
    features = dict(item.split("=") for item in PERMISSIONS_POLICY.split(", "))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"):
        assert features[feature] == "()"
    # Two-factor sign-in with a security key needs these; they keep their default (self).
    assert "publickey-credentials-get" not in features
    assert "publickey-credentials-create" not in features


def test_the_policy_allows_the_status_page_host_to_hand_over_to_the_application(
    client, org, settings
):
    # Read when the response is made: the browser tests' live server changes SITE_URL.
    settings.SITE_URL = "https://app.candor.test:8443"
    response = client.get("/signin/", HTTP_HOST=f"{org.slug}.{settings.STATUS_PAGE_DOMAIN}")
    assert directives(response)["form-action"] == ["'self'", "https://app.candor.test:8443"]


def test_the_outage_pages_inline_script_is_the_one_the_policy_allows(client, org):
    response = client.get(f"/s/{org.slug}/down/")
    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", html, flags=re.S)
    executable = [body for attrs, body in scripts if "application/json" not in attrs]
    assert len(executable) == 1
    assert executable[0] == inline_script("js/down.js")
    assert script_hash(executable[0]) in directives(response)["script-src"]
    # Nothing rendered goes into the script: it reads the page's address from an attribute.
    assert f'data-embed-json="http://testserver/s/{org.slug}/embed.json"' in html


def test_a_changed_inline_script_would_not_match():
    assert script_hash(inline_script("js/down.js")) != script_hash(
        inline_script("js/down.js") + " "
    )


def test_redoc_gets_its_worker_and_nothing_from_elsewhere(client):
    response = client.get("/api/redoc/")
    assert directives(response)["worker-src"] == ["'self'", "blob:"]
    html = response.content.decode()
    assert "/static/vendor/redoc/redoc.standalone.js" in html
    assert "https://" not in html and "http://" not in html


# The static check: no template may carry a script the policy would refuse.

TEMPLATE_DIRS = [ROOT / "templates", *sorted((ROOT / "apps").glob("*/templates"))]
SCRIPT_TAG = re.compile(r"<script\b(?P<attrs>[^>]*)>", re.I)
# An on*= attribute inside a tag: `<form ... onsubmit="...">`, `<img onerror=...>`.
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I | re.S)
# The outage page must stay one file (apps/public/down.py): its script is static/js/down.js put
# inline, allowed by hash. It is the only one, and it is exactly this tag.
INLINE_ALLOWED = {"status/public/down.html": "<script>{{ down_script }}</script>"}


def templates() -> list[tuple[str, str]]:
    found = []
    for base in TEMPLATE_DIRS:
        for path in sorted(base.rglob("*.html")) + sorted(base.rglob("*.txt")):
            found.append((str(path.relative_to(base)), path.read_text(encoding="utf-8")))
    return found


def test_there_are_templates_to_check():
    assert len(templates()) > 100


def test_no_template_has_an_inline_script():
    offenders = []
    for name, text in templates():
        for match in SCRIPT_TAG.finditer(text):
            attrs = match["attrs"]
            if "src=" in attrs or re.search(r"type=[\"']application/json[\"']", attrs):
                continue
            if name in INLINE_ALLOWED and text.count(INLINE_ALLOWED[name]) == 1:
                continue
            offenders.append(f"{name}: {match.group(0)}")
    assert not offenders, "inline scripts the CSP refuses:\n" + "\n".join(offenders)


def test_no_template_has_an_inline_event_handler_or_javascript_url():
    offenders = []
    for name, text in templates():
        for match in EVENT_HANDLER.finditer(text):
            offenders.append(f"{name}: {match.group(0)[-60:]}")
        if re.search(r"""(href|src|action)=["']?\s*javascript:""", text, re.I):
            offenders.append(f"{name}: javascript: URL")
    assert not offenders, "inline handlers the CSP refuses:\n" + "\n".join(offenders)


def test_the_static_check_catches_what_it_looks_for():
    assert EVENT_HANDLER.search('<form method="post"\n  onsubmit="return confirm(1)">')
    assert not EVENT_HANDLER.search('<p class="x">Common button</p>')
    assert SCRIPT_TAG.search("<script>alert(1)</script>")


def test_htmx_is_configured_for_the_policy():
    # Without these, htmx injects an inline <style> and evaluates hx-on / js: attributes.
    config = '"includeIndicatorStyles":false,"allowEval":false'
    loading = [(name, text) for name, text in templates() if "htmx.min.js" in text]
    assert {name for name, _ in loading} >= {"base.html", "status/public/incident.html"}
    for name, text in loading:
        assert config in text, f"{name} loads htmx without the CSP settings"
    for name, text in templates():
        assert not re.search(r"\shx-on[:-]", text), f"{name}: hx-on needs eval"


def test_confirm_questions_are_data_attributes(client, owner, org):
    from tests.factories import DomainFactory

    DomainFactory(organization=org, hostname="status.acme-cloud.com")
    client.force_login(owner)
    html = client.get(f"/dashboard/{org.slug}/domains/").content.decode()
    assert 'data-confirm="Remove status.acme-cloud.com? It stops serving' in html
    assert "onsubmit" not in html
    assert "/static/js/confirm.js" in html
