from __future__ import annotations

from django.test import override_settings

from tests.factories import DomainFactory

URL = "/api/v1/organization/"


@override_settings(SITE_URL="https://candor.example.com")
def test_it_returns_the_keys_organization(api, api_key, org):
    response = api(api_key).get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "id": org.public_id,
        "name": "Acme Cloud",
        "slug": "acme",
        "timezone": "UTC",
        "default_language": "en",
        "languages": ["en", "de", "fr", "es", "ja"],
        "page_url": "https://candor.example.com/s/acme/",
        "created_at": org.created_at.isoformat().replace("+00:00", "Z"),
    }


def test_the_page_url_is_the_verified_custom_domain(api, api_key, org):
    DomainFactory(organization=org, hostname="status.acme.test", verified_at=org.created_at)

    response = api(api_key).get(URL)

    assert response.json()["page_url"].endswith("://status.acme.test/")


def test_a_key_of_another_organization_sees_only_that_organization(api, other_api_key, org):
    response = api(other_api_key).get(URL)

    assert response.json()["slug"] == "globex"
    assert org.public_id not in response.content.decode()


def test_a_read_only_key_can_read(api, read_only_key):
    assert api(read_only_key).get(URL).status_code == 200


def test_a_read_only_key_gets_403_on_a_write(api, read_only_key):
    response = api(read_only_key).post(URL, {}, content_type="application/json")

    assert response.status_code == 403
    assert response.json() == {"detail": "This API key is read-only; use a key with write scope."}


def test_an_unknown_api_path_is_a_json_404(api, api_key):
    response = api(api_key).get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_an_api_path_without_its_trailing_slash_says_so(api, api_key):
    response = api(api_key).get("/api/v1/organization")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found. API paths end with a slash."}
