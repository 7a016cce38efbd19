from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.organizations import dns
from apps.organizations.models import AuditEntry, Domain
from tests.factories import DomainFactory

pytestmark = pytest.mark.django_db


def add(client, org, hostname):
    return client.post(reverse("organizations:domains", args=[org.slug]), {"hostname": hostname})


def verify(client, domain):
    url = reverse("organizations:verify_domain", args=[domain.organization.slug, domain.public_id])
    return client.post(url, follow=True)


def test_adding_a_domain_shows_the_records_to_publish(login, org, owner):
    client = login(owner)
    assert add(client, org, "Status.Customer.com.").status_code == 302
    domain = Domain.objects.get(organization=org)
    assert domain.hostname == "status.customer.com"
    assert domain.verified_at is None
    content = client.get(reverse("organizations:domains", args=[org.slug])).content.decode()
    assert domain.txt_record_name in content
    assert domain.txt_record_value in content
    assert "acme.status.localhost" in content
    assert AuditEntry.objects.filter(organization=org, action="domain.add").exists()


def test_a_pasted_url_is_reduced_to_its_hostname(login, org, owner):
    add(login(owner), org, "https://status.customer.com/some/page")
    assert Domain.objects.get().hostname == "status.customer.com"


@pytest.mark.parametrize(
    "hostname",
    [
        "not a hostname",
        "localhost",
        "192.0.2.10",
        "-bad.example.com",
        "bad-.example.com",
        "under_score.example.com",
        "example.123",
        "a" * 64 + ".example.com",
    ],
)
def test_an_invalid_hostname_is_a_form_error(login, org, owner, hostname):
    response = add(login(owner), org, hostname)
    assert response.status_code == 400
    assert response.context["form"].errors["hostname"]
    assert not Domain.objects.exists()


@pytest.mark.parametrize(
    "hostname", ["status.localhost", "acme.status.localhost", "x.y.status.localhost"]
)
def test_a_hostname_under_the_status_page_domain_is_refused(login, org, owner, hostname):
    response = add(login(owner), org, hostname)
    assert "provided by Candor" in response.context["form"].errors["hostname"][0]


def test_an_application_host_is_refused(login, org, owner, settings):
    settings.APP_HOSTS = [*settings.APP_HOSTS, "app.candor.test"]
    response = add(login(owner), org, "app.candor.test")
    assert "Candor itself" in response.context["form"].errors["hostname"][0]


def test_a_hostname_used_by_another_organization_is_refused(login, org, owner, other_org):
    DomainFactory(organization=other_org, hostname="status.customer.com")
    response = add(login(owner), org, "status.customer.com")
    assert "another organization" in response.context["form"].errors["hostname"][0]
    assert not Domain.objects.filter(organization=org).exists()


def test_a_hostname_added_twice_is_refused(login, org, owner):
    DomainFactory(organization=org, hostname="status.customer.com")
    response = add(login(owner), org, "status.customer.com")
    assert "already added" in response.context["form"].errors["hostname"][0]


def test_verify_marks_the_domain_verified_when_the_txt_record_matches(
    login, org, owner, monkeypatch
):
    domain = DomainFactory(organization=org, hostname="status.customer.com")
    asked = []

    def resolve(name):
        asked.append(name)
        return ["v=spf1 -all", domain.txt_record_value]

    monkeypatch.setattr(dns, "resolve_txt", resolve)
    response = verify(login(owner), domain)
    domain.refresh_from_db()
    assert asked == ["_candor-verification.status.customer.com"]
    assert domain.verified_at is not None
    assert b"is verified" in response.content
    assert AuditEntry.objects.filter(organization=org, action="domain.verify").exists()


def test_verify_reports_a_missing_record(login, org, owner, monkeypatch):
    domain = DomainFactory(organization=org, hostname="status.customer.com")
    monkeypatch.setattr(dns, "resolve_txt", lambda name: [])
    response = verify(login(owner), domain)
    domain.refresh_from_db()
    assert domain.verified_at is None
    assert domain.last_checked_at is not None
    assert "No TXT record" in domain.last_check_error
    assert b"not verified yet" in response.content
    assert AuditEntry.objects.filter(organization=org, action="domain.verify_failed").exists()


def test_verify_reports_a_dns_failure(login, org, owner, monkeypatch):
    domain = DomainFactory(organization=org, hostname="status.customer.com")

    def timeout(name):
        raise dns.DNSLookupError("DNS did not answer in time. Please try again.")

    monkeypatch.setattr(dns, "resolve_txt", timeout)
    verify(login(owner), domain)
    domain.refresh_from_db()
    assert domain.verified_at is None
    assert "did not answer" in domain.last_check_error


def test_a_record_with_another_token_does_not_verify(login, org, owner, monkeypatch):
    domain = DomainFactory(organization=org, hostname="status.customer.com")
    monkeypatch.setattr(dns, "resolve_txt", lambda name: ["candor-verification=somebody-else"])
    verify(login(owner), domain)
    domain.refresh_from_db()
    assert domain.verified_at is None


def test_a_verified_domain_routes_to_the_public_page(login, org, owner, monkeypatch, client):
    domain = DomainFactory(organization=org, hostname="status.customer.com")
    monkeypatch.setattr(dns, "resolve_txt", lambda name: [domain.txt_record_value])
    verify(login(owner), domain)
    client.logout()
    response = client.get("/", HTTP_HOST="status.customer.com")
    assert response.status_code == 200
    assert b"Acme Cloud" in response.content


def test_an_unverified_domain_does_not_route(client, org):
    DomainFactory(organization=org, hostname="status.customer.com")
    response = client.get("/", HTTP_HOST="status.customer.com")
    assert response.status_code == 404
    assert b"There is no status page at this address" in response.content


def test_removing_a_domain_stops_routing(login, org, owner, client):
    domain = DomainFactory(
        organization=org, hostname="status.customer.com", verified_at=timezone.now()
    )
    url = reverse("organizations:remove_domain", args=[org.slug, domain.public_id])
    assert login(owner).post(url).status_code == 302
    assert not Domain.objects.exists()
    assert AuditEntry.objects.filter(organization=org, action="domain.remove").exists()
    assert client.get("/", HTTP_HOST="status.customer.com").status_code == 404


def test_another_organizations_domain_cannot_be_verified_or_removed(login, org, owner, other_org):
    domain = DomainFactory(organization=other_org, hostname="status.globex.com")
    client = login(owner)
    verify_url = reverse("organizations:verify_domain", args=[org.slug, domain.public_id])
    remove_url = reverse("organizations:remove_domain", args=[org.slug, domain.public_id])
    assert client.post(verify_url).status_code == 404
    assert client.post(remove_url).status_code == 404
    assert Domain.objects.filter(pk=domain.pk).exists()


def test_an_editor_cannot_see_the_domains_page(login, org, editor):
    assert login(editor).get(reverse("organizations:domains", args=[org.slug])).status_code == 403
