"""Which organization a public request is for: host, verified custom domain, or /s/<slug>/."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from ..factories import DomainFactory, OrganizationFactory


def test_path_url_serves_the_organizations_page(client, org):
    response = client.get("/s/acme/")
    assert response.status_code == 200
    assert response.wsgi_request.organization == org


def test_unknown_slug_on_path_url_gets_a_clear_404_page(client, db):
    response = client.get("/s/nobody-here/")
    assert response.status_code == 404
    assert b"There is no status page at this address" in response.content


def test_subdomain_host_serves_the_organizations_page(client, org):
    response = client.get("/", HTTP_HOST="acme.status.localhost")
    assert response.status_code == 200
    assert response.wsgi_request.organization == org


def test_subdomain_host_ignores_case_port_and_trailing_dot(client, org):
    response = client.get("/", HTTP_HOST="ACME.Status.Localhost.:8000")
    assert response.status_code == 200
    assert response.wsgi_request.organization == org


@pytest.mark.parametrize(
    "host",
    [
        "acme.status.localhost.evil.test",  # lookalike: our domain inside someone else's
        "www.acme.status.localhost",  # two labels before the domain
        "acmestatus.localhost",
        "status.localhost",
        "evil.test",
        "acme.status.localhost@evil.test",  # malformed Host header
    ],
)
def test_lookalike_and_unknown_hosts_get_404(client, org, host):
    response = client.get("/", HTTP_HOST=host)
    assert response.status_code == 404
    assert response.wsgi_request.organization is None


def test_verified_custom_domain_routes_to_its_organization(client, org):
    DomainFactory(organization=org, hostname="status.acme-cloud.com", verified_at=timezone.now())
    response = client.get("/", HTTP_HOST="status.acme-cloud.com")
    assert response.status_code == 200
    assert response.wsgi_request.organization == org


def test_unverified_custom_domain_does_not_route(client, org):
    DomainFactory(organization=org, hostname="status.acme-cloud.com", verified_at=None)
    response = client.get("/", HTTP_HOST="status.acme-cloud.com")
    assert response.status_code == 404


def test_links_on_a_path_url_page_keep_the_prefix_and_do_not_leak_after(client, org):
    response = client.get("/s/acme/")
    assert response.status_code == 200
    assert b'href="/s/acme/"' in response.content
    # The script prefix is restored once the response is built.
    assert reverse("landing") == "/"


def test_links_on_a_host_page_have_no_prefix(client, org):
    response = client.get("/", HTTP_HOST="acme.status.localhost")
    assert b'href="/"' in response.content


def test_application_pages_are_not_served_on_status_hosts(client, org):
    response = client.get("/dashboard/", HTTP_HOST="acme.status.localhost")
    assert response.status_code == 404


def test_each_organization_gets_its_own_page(client, org):
    OrganizationFactory(name="Globex", slug="globex")
    assert b"Globex" in client.get("/s/globex/").content
    assert b"Globex" not in client.get("/s/acme/").content


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_checks_answer_on_any_host(client, db, path):
    response = client.get(path, HTTP_HOST="10.0.3.7:8000")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_page_id_host_serves_the_organization_like_statuspage_clients_expect(client, org):
    response = client.get("/api/v2/status.json", HTTP_HOST=f"{org.public_id}.status.localhost")
    assert response.status_code == 200
    assert response.json()["page"]["id"] == org.public_id


def test_a_slug_equal_to_another_organizations_page_id_is_refused(org, owner):
    from django.core.exceptions import ValidationError

    from apps.organizations.services import create_organization

    with pytest.raises(ValidationError, match="already taken"):
        create_organization(actor=owner, name="Shadow", slug=org.public_id)


def test_a_page_seen_before_is_still_served_while_the_database_is_down(client, org, monkeypatch):
    from django.db import OperationalError
    from django.db.backends.base.base import BaseDatabaseWrapper

    assert client.get("/s/acme/").status_code == 200

    def database_down(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(BaseDatabaseWrapper, "cursor", database_down)
        response = client.get("/s/acme/")
        # An organization nobody served can't be routed without the database: a 503 that
        # says to retry, not a 500.
        unknown = client.get("/s/globex-never-seen/")
    assert unknown.status_code == 503
    assert unknown["Retry-After"] == "30"
    assert response.status_code == 200
    assert "Acme Cloud" in response.content.decode()
