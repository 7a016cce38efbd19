from __future__ import annotations

from django.conf import settings
from django.test import override_settings

URL = "/api/v1/organization/"
TWO_PER_MINUTE = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "2/min"}}


def test_the_default_rate_is_600_requests_a_minute_per_key():
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_key"] == "600/min"


@override_settings(REST_FRAMEWORK=TWO_PER_MINUTE)
def test_a_key_over_its_rate_gets_429_with_retry_after(api, api_key):
    client = api(api_key)
    statuses = [client.get(URL).status_code for _ in range(3)]

    response = client.get(URL)

    assert statuses == [200, 200, 429]
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["detail"].startswith("Request was throttled.")


@override_settings(REST_FRAMEWORK=TWO_PER_MINUTE)
def test_the_rate_is_counted_per_key(api, api_key, read_only_key):
    client = api(api_key)
    for _ in range(3):
        client.get(URL)

    assert api(read_only_key).get(URL).status_code == 200
