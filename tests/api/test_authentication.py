from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.integrations.models import ApiKey

URL = "/api/v1/organization/"


def test_a_request_without_a_key_gets_401_with_a_detail(client, db):
    response = client.get(URL)

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_an_unknown_key_gets_401(client, api_key):
    response = client.get(URL, HTTP_AUTHORIZATION="Bearer cnd_not-a-real-key")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked API key."}


def test_a_key_sent_with_another_scheme_gets_401(client, api_key):
    response = client.get(URL, HTTP_AUTHORIZATION=f"Token {api_key.secret}")

    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


def test_the_hash_itself_is_not_a_key(client, api_key):
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {api_key.hashed_key}")

    assert response.status_code == 401


def test_a_revoked_key_gets_401(api, api_key):
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])

    response = api(api_key).get(URL)

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked API key."}


def test_a_request_records_when_the_key_was_last_used(api, api_key):
    before = timezone.now()

    assert api(api_key).get(URL).status_code == 200

    api_key.refresh_from_db()
    assert api_key.last_used_at >= before


def test_last_used_is_written_at_most_once_a_minute(api, api_key, django_assert_num_queries):
    recently = timezone.now() - timedelta(seconds=10)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=recently)
    client = api(api_key)

    # key lookup (with the organization), custom-domain lookup for page_url; no UPDATE
    with django_assert_num_queries(2):
        assert client.get(URL).status_code == 200

    api_key.refresh_from_db()
    assert api_key.last_used_at == recently
