from __future__ import annotations

import pytest
from django.urls import reverse

from apps.integrations.models import ApiKey
from apps.organizations.models import AuditEntry
from tests.factories import ApiKeyFactory


def list_url(org) -> str:
    return reverse("integrations:api_keys", args=[org.slug])


def create_url(org) -> str:
    return reverse("integrations:api_key_create", args=[org.slug])


def revoke_url(key) -> str:
    return reverse("integrations:api_key_revoke", args=[key.organization.slug, key.public_id])


def create_key(client, org, name="CI pipeline", scope="write", nonce="nonce-1"):
    return client.post(create_url(org), {"name": name, "scope": scope, "form_nonce": nonce})


def test_the_list_shows_each_keys_name_prefix_scope_creator_and_state(
    client, org, owner, api_key, read_only_key, django_assert_max_num_queries
):
    api_key.created_by = owner
    api_key.save(update_fields=["created_by"])
    ApiKeyFactory.create_batch(5, organization=org, created_by=owner)
    client.force_login(owner)

    with django_assert_max_num_queries(8):
        response = client.get(list_url(org))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Deploy script" in page
    assert f"{api_key.prefix}…" in page
    assert "Dashboard TV" in page
    assert "Read only" in page
    assert "Read &amp; write" in page
    assert owner.get_full_name() in page
    assert "Never" in page
    assert "Active" in page
    assert api_key.secret not in page


def test_an_admin_can_manage_keys(client, org, admin):
    client.force_login(admin)

    assert client.get(list_url(org)).status_code == 200
    assert client.get(create_url(org)).status_code == 200


@pytest.mark.parametrize("member", ["editor", "viewer"])
@pytest.mark.parametrize("page", ["list", "create", "revoke"])
def test_editors_and_viewers_get_403_on_every_api_key_page(
    client, request, org, api_key, member, page
):
    client.force_login(request.getfixturevalue(member))
    url = {"list": list_url(org), "create": create_url(org), "revoke": revoke_url(api_key)}[page]

    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "x", "scope": "write"}).status_code == 403
    assert ApiKey.objects.for_org(org).count() == 1


@pytest.mark.parametrize("page", ["list", "create", "revoke"])
def test_an_outsider_gets_404_on_every_api_key_page(client, org, outsider, api_key, page):
    client.force_login(outsider)
    url = {"list": list_url(org), "create": create_url(org), "revoke": revoke_url(api_key)}[page]

    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "x", "scope": "write"}).status_code == 404
    api_key.refresh_from_db()
    assert api_key.is_active


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, org):
    response = client.get(list_url(org))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_creating_a_key_shows_its_secret_once_and_never_again(client, org, owner):
    client.force_login(owner)

    response = create_key(client, org, scope="read")

    key = ApiKey.objects.for_org(org).get()
    secret = response.context["secret"]
    assert response.status_code == 200
    assert secret.encode() in response.content
    assert b"only time the key is shown" in response.content
    assert "no-store" in response["Cache-Control"]
    assert key.name == "CI pipeline"
    assert key.scope == ApiKey.Scope.READ
    assert key.created_by == owner
    assert key.prefix == secret[:12]
    assert secret.encode() not in client.get(list_url(org)).content
    assert secret.encode() not in client.get(revoke_url(key)).content
    assert secret not in str(dict(client.session))


def test_reloading_the_created_page_does_not_make_a_second_key(client, org, owner):
    client.force_login(owner)
    first = create_key(client, org, nonce="same-form")

    again = create_key(client, org, nonce="same-form")

    assert ApiKey.objects.for_org(org).count() == 1
    assert again.status_code == 302
    assert first.context["secret"].encode() not in client.get(again["Location"]).content


def test_the_create_form_explains_a_missing_name(client, org, owner):
    client.force_login(owner)

    response = create_key(client, org, name="  ")

    assert response.status_code == 200
    assert b"This field is required." in response.content
    assert not ApiKey.objects.for_org(org).exists()


def test_the_revoke_page_asks_before_revoking(client, org, owner, api_key):
    client.force_login(owner)

    response = client.get(revoke_url(api_key))

    api_key.refresh_from_db()
    assert response.status_code == 200
    assert b"Revoke key" in response.content
    assert api_key.is_active


def test_revoking_a_key_stops_it_at_the_next_api_request(client, org, owner, api_key, api):
    client.force_login(owner)

    response = client.post(revoke_url(api_key))

    api_key.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == list_url(org)
    assert not api_key.is_active
    assert AuditEntry.objects.for_org(org).get(action="api_key.revoke").actor == owner
    client.logout()
    assert api(api_key).get("/api/v1/organization/").status_code == 401


def test_a_key_of_another_organization_cannot_be_revoked_through_this_one(
    client, org, owner, other_api_key
):
    client.force_login(owner)
    url = reverse("integrations:api_key_revoke", args=[org.slug, other_api_key.public_id])

    response = client.post(url)

    other_api_key.refresh_from_db()
    assert response.status_code == 404
    assert other_api_key.is_active
