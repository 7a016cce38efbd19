from __future__ import annotations

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command

from apps.accounts.models import User
from apps.integrations.models import ApiKey, hash_key
from apps.organizations.models import AuditEntry, Membership, Organization
from apps.organizations.roles import Role


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_organization_creates_a_verified_owner_without_a_password(db):
    out = run(
        "create_organization", "--slug", "initech", "--name", "Initech",
        "--owner-email", "Peter@Initech.test", "--timezone", "Europe/Paris",
    )  # fmt: skip

    organization = Organization.objects.get(slug="initech")
    owner = User.objects.get(email="peter@initech.test")
    assert organization.name == "Initech"
    assert organization.timezone == "Europe/Paris"
    assert Membership.objects.get(organization=organization).user == owner
    assert Membership.objects.get(organization=organization).role == Role.OWNER
    assert not owner.has_usable_password()
    assert EmailAddress.objects.get(user=owner).verified
    assert "/accounts/password/reset/" in out
    assert "no password" in out


def test_create_organization_reuses_an_existing_user(owner):
    out = run(
        "create_organization",
        "--slug",
        "acme-two",
        "--name",
        "Acme 2",
        "--owner-email",
        owner.email,
    )

    owner.refresh_from_db()
    assert "existing user" in out
    assert owner.has_usable_password()
    assert owner.memberships.get(organization__slug="acme-two").role == Role.OWNER


@pytest.mark.parametrize("slug", ["Not A Slug!", "www", "acme"])
def test_create_organization_refuses_an_invalid_reserved_or_taken_slug(org, slug):
    with pytest.raises(CommandError):
        run("create_organization", "--slug", slug, "--name", "X", "--owner-email", "new@x.test")

    assert not User.objects.filter(email="new@x.test").exists()


def test_create_organization_refuses_an_unknown_timezone(db):
    with pytest.raises(CommandError, match=r"[Tt]ime ?zone"):
        run(
            "create_organization", "--slug", "initech", "--name", "Initech",
            "--owner-email", "peter@initech.test", "--timezone", "Mars/Olympus",
        )  # fmt: skip

    assert not Organization.objects.filter(slug="initech").exists()


def test_create_api_key_prints_the_secret_alone_on_the_last_line(org, api):
    out = run("create_api_key", "--org", "acme", "--name", "Provisioning")

    secret = out.splitlines()[-1]
    key = ApiKey.objects.for_org(org).get()
    assert key.hashed_key == hash_key(secret)
    assert key.scope == ApiKey.Scope.WRITE
    assert key.created_by is None
    assert secret not in "\n".join(out.splitlines()[:-1])
    assert (
        AuditEntry.objects.for_org(org)
        .get(action="api_key.create")
        .actor_label.startswith("system")
    )
    key.secret = secret
    assert api(key).get("/api/v1/organization/").json()["slug"] == "acme"


def test_create_api_key_can_make_a_read_only_key(org, api):
    secret = run("create_api_key", "--org", "acme", "--name", "TV", "--read-only").splitlines()[-1]

    key = ApiKey.objects.for_org(org).get()
    key.secret = secret
    assert key.scope == ApiKey.Scope.READ
    assert api(key).post("/api/v1/organization/").status_code == 403


def test_create_api_key_refuses_an_unknown_organization(db):
    with pytest.raises(CommandError, match="No organization"):
        run("create_api_key", "--org", "nope", "--name", "Provisioning")


def test_create_organization_refuses_an_invalid_owner_email(db):
    with pytest.raises(CommandError, match="--owner-email"):
        run("create_organization", "--slug", "initech", "--name", "Initech", "--owner-email", "x")

    assert not Organization.objects.filter(slug="initech").exists()


def test_create_api_key_refuses_a_blank_name(org):
    with pytest.raises(CommandError, match="name"):
        run("create_api_key", "--org", "acme", "--name", "  ")

    assert not ApiKey.objects.for_org(org).exists()


def test_create_api_key_can_make_an_admin_key_that_manages_keys(org):
    from django.test import Client

    secret = run("create_api_key", "--org", "acme", "--name", "Terraform", "--admin").splitlines()[
        -1
    ]

    response = Client().get("/api/v1/api-keys/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert ApiKey.objects.get(name="Terraform").scope == ApiKey.Scope.ADMIN
