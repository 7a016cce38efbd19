"""Bad input of every kind gets a 4xx with a useful `detail`, never a 500, and writes nothing."""

from __future__ import annotations

import base64

from django.conf import settings
from django.test import override_settings

from apps.status.models import Component
from tests.factories import ComponentFactory, IncidentFactory

URL = "/api/v1/components/"
JSON = "application/json"


def test_malformed_json_is_a_400(api, api_key):
    response = api(api_key).post(URL, '{"name": ', content_type=JSON)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def test_a_form_body_is_a_415(api, api_key):
    response = api(api_key).post(URL, "name=x", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert "application/x-www-form-urlencoded" in response.json()["detail"]


def test_a_body_over_the_size_limit_is_a_413(api, api_key):
    huge = '{"name": "' + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + '"}'

    response = api(api_key).post(URL, huge, content_type=JSON)

    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert Component.objects.count() == 0


def test_a_body_over_the_size_limit_with_an_idempotency_key_is_a_413(api, api_key):
    huge = '{"name": "' + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + '"}'

    response = api(api_key).post(URL, huge, content_type=JSON, HTTP_IDEMPOTENCY_KEY="big")

    assert response.status_code == 413


def test_deeply_nested_json_is_a_400(api, api_key):
    response = api(api_key).post(URL, "[" * 100_000, content_type=JSON)

    assert response.status_code == 400


def test_an_unpaired_surrogate_is_a_400(api, api_key):
    response = api(api_key).post(URL, '{"name": "\\ud800"}', content_type=JSON)

    assert response.status_code == 400
    assert Component.objects.count() == 0


def test_a_nul_character_anywhere_in_the_body_is_a_400(api, api_key):
    client = api(api_key)

    in_a_value = client.post(URL, {"name": "a\u0000b"}, content_type=JSON)
    in_a_key = client.post(
        "/api/v1/incidents/",
        {"name": "x", "components": {"ab\u0000": "major_outage"}},
        content_type=JSON,
    )

    assert in_a_value.status_code == in_a_key.status_code == 400
    assert "NUL" in in_a_value.json()["detail"]
    assert Component.objects.count() == 0


def test_a_list_instead_of_an_object_is_a_400(api, api_key):
    response = api(api_key).post(URL, ["name"], content_type=JSON)

    assert response.status_code == 400
    assert "Expected a dictionary" in response.json()["detail"]


def test_wrong_types_are_400s_naming_the_field(api, api_key):
    response = api(api_key).post(
        URL, {"name": {"nested": True}, "showcase": "maybe", "group_id": 12}, content_type=JSON
    )

    assert response.status_code == 400
    assert {"name", "showcase", "group_id"} <= set(response.json())


def test_unknown_fields_are_400s_naming_them(api, api_key):
    response = api(api_key).post(URL, {"name": "API", "colour": "red"}, content_type=JSON)

    assert response.status_code == 400
    assert response.json() == {"detail": "colour: Unknown field.", "colour": ["Unknown field."]}
    assert Component.objects.count() == 0


def test_malformed_ids_in_a_component_map_are_400s_not_500s(api, api_key, org):
    response = api(api_key).post(
        "/api/v1/incidents/",
        {"name": "x", "components": {"x; DROP TABLE": "major_outage", "": "major_outage"}},
        content_type=JSON,
    )

    assert response.status_code == 400
    assert "components" in response.json()


def test_no_key_is_a_401_on_every_resource(client, db):
    response = client.get("/api/v1/incidents/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_an_unsupported_method_is_a_405_on_your_own_object(api, api_key, org):
    incident = IncidentFactory(organization=org)

    response = api(api_key).put(f"/api/v1/incidents/{incident.public_id}/", {}, content_type=JSON)

    assert response.status_code == 405


def test_an_unsupported_method_on_another_organizations_object_is_a_404(api, other_api_key, org):
    incident = IncidentFactory(organization=org)

    response = api(other_api_key).put(
        f"/api/v1/incidents/{incident.public_id}/", {}, content_type=JSON
    )

    assert response.status_code == 404


def test_an_invalid_cursor_is_a_400(api, api_key):
    response = api(api_key).get(URL, {"cursor": "not-base64!"})

    assert response.status_code == 400
    assert "cursor" in response.json()


def test_a_forged_cursor_position_is_a_400_not_a_crash(api, api_key, org):
    ComponentFactory(organization=org)
    forged = base64.b64encode(b"p=not-a-number").decode()

    response = api(api_key).get(URL, {"cursor": forged, "ordering": "position"})

    assert response.status_code == 400
    assert "cursor" in response.json()


def test_a_bad_page_size_is_a_400(api, api_key):
    client = api(api_key)

    assert client.get(URL, {"limit": "0"}).status_code == 400
    assert client.get(URL, {"limit": "lots"}).status_code == 400
    assert client.get(URL, {"limit": "1000"}).json()["limit"] == [
        "Ensure this value is less than or equal to 200."
    ]


def test_values_of_the_wrong_json_type_are_not_coerced(api, api_key, org):
    response = api(api_key).post(
        URL, {"name": 42, "showcase": "yes", "description": False}, content_type=JSON
    )

    assert response.status_code == 400
    assert response.json()["name"] == ["Must be a string."]
    assert response.json()["showcase"] == ["Must be true or false."]
    assert response.json()["description"] == ["Must be a string."]
    assert Component.objects.count() == 0


@override_settings(
    REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "1/min"}}
)
def test_too_many_requests_is_a_429_with_retry_after(api, api_key, org):
    ComponentFactory(organization=org)
    client = api(api_key)
    client.get(URL)

    response = client.post(URL, {"name": "x"}, content_type=JSON)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert Component.objects.count() == 1


def test_an_id_that_cannot_exist_in_the_url_is_a_404_without_a_query(api, api_key, org):
    incident = IncidentFactory(organization=org)
    client = api(api_key)

    assert client.get("/api/v1/components/a%00b/").status_code == 404
    assert client.get(f"/api/v1/incidents/{incident.public_id}/updates/x%00y/").status_code == 404


def test_a_nul_character_in_a_filter_is_a_400(api, api_key):
    response = api(api_key).get("/api/v1/audit-log/", {"action": "a\u0000b"})

    assert response.status_code == 400
    assert "action" in response.json()


def test_an_empty_filter_parameter_is_a_400(api, api_key):
    response = api(api_key).get(URL, {"status": "", "ordering": "name"})

    assert response.status_code == 400
    assert response.json()["status"] == ["Give a value, or leave the parameter out."]


def test_a_malformed_id_gets_the_same_404_as_a_missing_one(api, api_key):
    client = api(api_key)

    malformed = client.get("/api/v1/components/NOT-AN-ID!/")
    missing = client.get("/api/v1/components/zzzzzzzzzzzz/")

    assert malformed.status_code == missing.status_code == 404
    assert malformed.json() == missing.json()


def test_an_object_deleted_while_a_request_was_working_on_it_is_a_404(
    api, api_key, org, monkeypatch
):
    from apps.incidents import services as incident_services
    from apps.incidents.models import Incident

    from ..factories import IncidentFactory, IncidentUpdateFactory

    incident = IncidentFactory(organization=org)
    IncidentUpdateFactory(incident=incident)
    real = incident_services.post_update

    def deleted_meanwhile(target, **kwargs):
        # Another request deletes the incident after this one looked it up.
        Incident.objects.filter(pk=target.pk).delete()
        return real(target, **kwargs)

    monkeypatch.setattr(incident_services, "post_update", deleted_meanwhile)
    response = api(api_key).post(
        f"/api/v1/incidents/{incident.public_id}/updates/",
        {"status": "identified", "body": "Found it."},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response.json()["detail"] == "It no longer exists."


def test_an_unrelated_does_not_exist_is_a_bug_and_a_500_not_a_404(
    api, client, api_key, org, monkeypatch
):
    from apps.incidents import services as incident_services
    from apps.incidents.models import IncidentTemplate

    from ..factories import IncidentFactory

    incident = IncidentFactory(organization=org)

    def buggy(*args, **kwargs):
        raise IncidentTemplate.DoesNotExist("IncidentTemplate matching query does not exist.")

    monkeypatch.setattr(incident_services, "post_update", buggy)
    client.raise_request_exception = False
    response = api(api_key).post(
        f"/api/v1/incidents/{incident.public_id}/updates/",
        {"status": "identified", "body": "Found it."},
        content_type="application/json",
    )
    assert response.status_code == 500
