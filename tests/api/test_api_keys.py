from __future__ import annotations

from apps.api.models import IdempotencyKey
from apps.integrations.models import ApiKey
from tests.factories import ApiKeyFactory

URL = "/api/v1/api-keys/"
JSON = "application/json"


def detail(key) -> str:
    return f"{URL}{key.public_id}/"


def test_it_works_create_retrieve_list_revoke(api, admin_key, org, client):
    created = api(admin_key).post(URL, {"name": "Grafana", "scope": "read"}, content_type=JSON)
    body = created.json()
    secret = body["secret"]
    fetched = api(admin_key).get(f"{URL}{body['id']}/")
    listed = api(admin_key).get(URL)
    works = client.get("/api/v1/components/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    revoked = api(admin_key).delete(f"{URL}{body['id']}/")
    after = client.get("/api/v1/components/", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert created.status_code == 201
    assert secret.startswith(body["prefix"])
    assert "secret" not in fetched.json()
    assert fetched.json()["scope"] == "read"
    assert fetched.json()["active"] is True
    assert {row["id"] for row in listed.json()["results"]} == {admin_key.public_id, body["id"]}
    assert "secret" not in listed.content.decode()
    assert works.status_code == 200
    assert revoked.status_code == 204
    assert after.status_code == 401
    assert ApiKey.objects.get(public_id=body["id"]).revoked_at is not None


def test_new_keys_are_read_only_unless_asked(api, admin_key):
    body = api(admin_key).post(URL, {"name": "Dashboard"}, content_type=JSON).json()

    assert body["scope"] == "read"


def test_the_secret_is_never_stored_for_idempotent_replays(api, admin_key):
    client = api(admin_key)
    first = client.post(URL, {"name": "CI"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="ci-key-1")
    replay = client.post(URL, {"name": "CI"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="ci-key-1")

    assert first.json()["secret"].startswith("cnd_")
    assert replay.json()["secret"] is None
    assert replay.json()["id"] == first.json()["id"]
    assert first.json()["secret"] not in IdempotencyKey.objects.get().response_body
    assert ApiKey.objects.filter(name="CI").count() == 1


def test_a_bad_scope_is_a_400_naming_the_field(api, admin_key, org):
    response = api(admin_key).post(URL, {"name": "x", "scope": "root"}, content_type=JSON)

    assert response.status_code == 400
    assert "scope" in response.json()
    assert ApiKey.objects.for_org(org).count() == 1


def test_a_read_only_key_cannot_create_or_revoke(api, read_only_key, admin_key):
    client = api(read_only_key)

    assert client.post(URL, {"name": "x"}, content_type=JSON).status_code == 403
    assert client.delete(detail(admin_key)).status_code == 403
    assert ApiKey.objects.active().count() == 2


def test_keys_of_another_organization_are_invisible(api, admin_key, other_api_key):
    client = api(admin_key)

    assert client.get(detail(other_api_key)).status_code == 404
    assert client.delete(detail(other_api_key)).status_code == 404
    assert other_api_key.public_id not in client.get(URL).content.decode()
    assert ApiKey.objects.get(pk=other_api_key.pk).revoked_at is None


def test_filters_active_keys(api, admin_key, org):
    ApiKeyFactory(organization=org, revoked_at="2026-01-01T00:00:00Z")

    rows = api(admin_key).get(URL, {"active": "true"}).json()["results"]

    assert [row["id"] for row in rows] == [admin_key.public_id]


def test_listing_50_keys_takes_a_constant_number_of_queries(
    api, admin_key, org, django_assert_max_num_queries
):
    ApiKeyFactory.create_batch(49, organization=org)
    client = api(admin_key)

    with django_assert_max_num_queries(4):
        response = client.get(URL)

    assert len(response.json()["results"]) == 50


def test_a_write_key_cannot_see_or_mint_keys(api, api_key, admin_key):
    client = api(api_key)
    created = client.post(URL, {"name": "Backdoor", "scope": "admin"}, content_type=JSON)
    assert created.status_code == 403
    assert "admin scope" in created.json()["detail"]
    assert client.get(URL).status_code == 403
    assert client.delete(detail(admin_key)).status_code == 403
    assert ApiKey.objects.filter(name="Backdoor").exists() is False
