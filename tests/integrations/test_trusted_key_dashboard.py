"""Trusted importer keys (ApiKey.can_import_confirmed): the dashboard, the management command,
the service and the database constraint."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.urls import reverse

from apps.integrations.models import ApiKey
from apps.integrations.services import create_api_key
from apps.organizations.models import AuditEntry
from apps.organizations.principals import System
from tests.factories import ApiKeyFactory

LABEL = "Trusted importer"


def list_url(org) -> str:
    return reverse("integrations:api_keys", args=[org.slug])


def create_url(org) -> str:
    return reverse("integrations:api_key_create", args=[org.slug])


def create_key(client, org, *, scope="write", trusted=True, nonce="nonce-1"):
    data = {"name": "Statuspage migration", "scope": scope, "form_nonce": nonce}
    if trusted:
        data["can_import_confirmed"] = "on"
    return client.post(create_url(org), data)


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- dashboard ------------------------------------------------------------------------------


def test_the_create_form_offers_the_trusted_importer_checkbox_unchecked(client, org, owner):
    client.force_login(owner)

    response = client.get(create_url(org))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'type="checkbox" name="can_import_confirmed"' in page
    assert 'name="can_import_confirmed" id="id_can_import_confirmed" checked' not in page
    assert f"<strong>{LABEL}:</strong> may add email subscribers as already confirmed" in page
    assert "e.g. a migration from another status page." in page


@pytest.mark.parametrize("member", ["owner", "admin"])
def test_owners_and_admins_can_create_a_trusted_key(client, request, org, member):
    user = request.getfixturevalue(member)
    client.force_login(user)

    response = create_key(client, org)

    key = ApiKey.objects.for_org(org).get()
    entry = AuditEntry.objects.for_org(org).get(action="api_key.create")
    assert response.status_code == 200
    assert key.can_import_confirmed is True
    assert key.scope == ApiKey.Scope.WRITE
    assert entry.actor == user
    assert entry.data["can_import_confirmed"] is True
    assert b"trusted importer" in response.content


def test_a_key_is_not_trusted_when_the_box_is_left_unchecked(client, org, owner):
    client.force_login(owner)

    create_key(client, org, trusted=False)

    key = ApiKey.objects.for_org(org).get()
    assert key.can_import_confirmed is False
    assert AuditEntry.objects.for_org(org).get().data["can_import_confirmed"] is False


@pytest.mark.parametrize("member", ["editor", "viewer"])
def test_editors_and_viewers_cannot_create_a_trusted_key(client, request, org, member):
    client.force_login(request.getfixturevalue(member))

    response = create_key(client, org)

    assert response.status_code == 403
    assert not ApiKey.objects.for_org(org).exists()


def test_an_outsider_cannot_create_a_trusted_key_in_another_organization(client, org, outsider):
    client.force_login(outsider)

    response = create_key(client, org)

    assert response.status_code == 404
    assert not ApiKey.objects.exists()


def test_a_read_only_key_cannot_be_trusted(client, org, owner):
    client.force_login(owner)

    response = create_key(client, org, scope="read")

    assert response.status_code == 200
    assert "cannot be a trusted importer" in response.content.decode()
    assert not ApiKey.objects.for_org(org).exists()


def test_the_key_list_marks_trusted_keys(client, org, owner, api_key):
    ApiKeyFactory(organization=org, name="Statuspage migration", can_import_confirmed=True)
    client.force_login(owner)

    response = client.get(list_url(org))

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count(f">{LABEL}</span>") == 1
    assert page.index("Statuspage migration") < page.index(f">{LABEL}</span>")


# --- management command ---------------------------------------------------------------------


@pytest.mark.parametrize(("scope_flag", "scope"), [((), "write"), (("--admin",), "admin")])
def test_create_api_key_trusted_makes_a_trusted_importer(org, scope_flag, scope):
    out = run("create_api_key", "--org", "acme", "--name", "Migration", "--trusted", *scope_flag)

    key = ApiKey.objects.for_org(org).get()
    assert key.can_import_confirmed is True
    assert key.scope == scope
    assert "trusted to import confirmed subscribers" in out
    assert AuditEntry.objects.for_org(org).get().data["can_import_confirmed"] is True


def test_create_api_key_is_not_trusted_without_the_flag(org):
    run("create_api_key", "--org", "acme", "--name", "CI")

    assert ApiKey.objects.for_org(org).get().can_import_confirmed is False


def test_create_api_key_refuses_a_trusted_read_only_key(org):
    with pytest.raises(CommandError, match="read-only"):
        run("create_api_key", "--org", "acme", "--name", "TV", "--read-only", "--trusted")

    assert not ApiKey.objects.for_org(org).exists()


# --- service and database -------------------------------------------------------------------


def test_the_service_refuses_a_trusted_read_only_key(org):
    with pytest.raises(ValidationError) as info:
        create_api_key(
            org, actor=System("test"), name="TV", scope="read", can_import_confirmed=True
        )

    assert info.value.code == "read_only_trusted"
    assert not ApiKey.objects.for_org(org).exists()


def test_the_database_refuses_a_trusted_read_only_key_whatever_writes_it(org):
    with pytest.raises(IntegrityError):
        ApiKeyFactory(organization=org, scope="read", can_import_confirmed=True)
