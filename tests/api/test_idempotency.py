from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from apps.api.idempotency import purge_expired_idempotency_keys
from apps.api.models import IdempotencyKey
from apps.incidents.models import Incident
from apps.status.models import Component, ComponentGroup
from tests.factories import ApiKeyFactory

JSON = "application/json"
URL = "/api/v1/component-groups/"


class InProgressKeyFactory(factory.django.DjangoModelFactory):
    """A claimed key whose first request has not answered yet."""

    class Meta:
        model = IdempotencyKey

    api_key = factory.SubFactory(ApiKeyFactory)
    organization = factory.SelfAttribute("api_key.organization")
    key = "in-flight"
    request_hash = "0" * 64


def test_the_same_key_and_body_returns_the_first_response_and_writes_nothing(api, api_key, org):
    client = api(api_key)

    first = client.post(URL, {"name": "EU"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(URL, {"name": "EU"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ComponentGroup.objects.for_org(org).count() == 1


def test_key_order_and_whitespace_do_not_make_another_body(api, api_key, org):
    client = api(api_key)

    client.post(
        URL, '{"name": "EU", "description": "x"}', content_type=JSON, HTTP_IDEMPOTENCY_KEY="k"
    )
    again = client.post(
        URL, '{ "description":"x","name":"EU" }', content_type=JSON, HTTP_IDEMPOTENCY_KEY="k"
    )

    assert again.status_code == 201
    assert ComponentGroup.objects.for_org(org).count() == 1


def test_the_same_key_with_another_body_is_a_409_and_writes_nothing(api, api_key, org):
    client = api(api_key)

    client.post(URL, {"name": "EU"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="k-2")
    other = client.post(URL, {"name": "US"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="k-2")

    assert other.status_code == 409
    assert "another request" in other.json()["detail"]
    assert ComponentGroup.objects.for_org(org).count() == 1


def test_the_same_key_on_another_endpoint_is_a_409(api, api_key, org):
    client = api(api_key)

    client.post(URL, {"name": "EU"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="k-3")
    other = client.post(
        "/api/v1/components/", {"name": "EU"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="k-3"
    )

    assert other.status_code == 409
    assert Component.objects.for_org(org).count() == 0


def test_a_request_still_running_is_a_409(api, api_key, org):
    InProgressKeyFactory(api_key=api_key)

    response = api(api_key).post(
        URL, {"name": "EU"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="in-flight"
    )

    assert response.status_code == 409
    assert ComponentGroup.objects.for_org(org).count() == 0


def test_keys_are_per_api_key(api, api_key, org):
    second_key = ApiKeyFactory(organization=org)

    api(api_key).post(URL, {"name": "EU"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="shared")
    api(second_key).post(URL, {"name": "EU"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="shared")

    assert ComponentGroup.objects.for_org(org).count() == 2


def test_a_key_older_than_24_hours_runs_the_request_again(api, api_key, org):
    client = api(api_key)
    client.post(URL, {"name": "EU"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))

    again = client.post(URL, {"name": "EU"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="old")

    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert ComponentGroup.objects.for_org(org).count() == 2


def test_a_refused_request_is_replayed_as_refused(api, api_key, org):
    client = api(api_key)

    first = client.post(URL, {"name": ""}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="bad")
    again = client.post(URL, {"name": ""}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="bad")

    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()


def test_action_routes_are_idempotent_too(api, api_key, org):
    client = api(api_key)
    incident_id = client.post("/api/v1/incidents/", {"name": "Outage"}, content_type=JSON).json()[
        "id"
    ]
    url = f"/api/v1/incidents/{incident_id}/updates/"
    update = {"status": "identified", "body": "Found it."}

    first = client.post(url, update, content_type=JSON, HTTP_IDEMPOTENCY_KEY="u-1")
    again = client.post(url, update, content_type=JSON, HTTP_IDEMPOTENCY_KEY="u-1")

    assert first.status_code == again.status_code == 201
    assert Incident.objects.get(public_id=incident_id).updates.count() == 2


def test_a_key_that_is_too_long_is_a_400(api, api_key, org):
    response = api(api_key).post(
        URL, {"name": "EU"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="k" * 300
    )

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert ComponentGroup.objects.for_org(org).count() == 0


def test_expired_keys_are_purged(api, api_key):
    client = api(api_key)
    client.post(URL, {"name": "EU"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="a")
    client.post(URL, {"name": "US"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="b")
    IdempotencyKey.objects.filter(key="a").update(created_at=timezone.now() - timedelta(days=2))

    purged = purge_expired_idempotency_keys()

    assert purged == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["b"]
