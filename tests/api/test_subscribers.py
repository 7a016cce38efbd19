from __future__ import annotations

import pytest
from django.core import mail

from apps.notifications.models import Subscriber
from config.celery import app as celery_app
from tests.factories import ComponentFactory
from tests.notifications.factories import EmailSubscriberFactory

URL = "/api/v1/subscribers/"
JSON = "application/json"


@pytest.fixture(autouse=True)
def _eager_celery():
    """The confirmation mail is a Celery task: run it in-process, even when REDIS_URL is set."""
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


def detail(subscriber) -> str:
    return f"{URL}{subscriber.public_id}/"


def test_it_works_create_retrieve_list_unsubscribe(
    api, api_key, org, django_capture_on_commit_callbacks
):
    component = ComponentFactory(organization=org)
    client = api(api_key)

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            URL,
            {
                "channel": "email",
                "email": "Reader@Example.com",
                "components": [component.public_id],
            },
            content_type=JSON,
        )
    subscriber_id = created.json()["id"]
    fetched = client.get(f"{URL}{subscriber_id}/")
    listed = client.get(URL)
    removed = client.delete(f"{URL}{subscriber_id}/")

    assert created.status_code == 201
    assert fetched.json()["email"] == "reader@example.com"
    assert fetched.json()["confirmed"] is False
    assert fetched.json()["components"] == [component.public_id]
    assert len(mail.outbox) == 1
    assert [row["id"] for row in listed.json()["results"]] == [subscriber_id]
    assert removed.status_code == 204
    assert Subscriber.objects.get(public_id=subscriber_id).state == "disabled"


def test_a_component_of_another_organization_is_a_400_and_nothing_is_written(
    api, api_key, other_org
):
    theirs = ComponentFactory(organization=other_org)

    response = api(api_key).post(
        URL,
        {"channel": "email", "email": "a@example.com", "components": [theirs.public_id]},
        content_type=JSON,
    )

    assert response.status_code == 400
    assert theirs.public_id in response.json()["components"][0]
    assert Subscriber.objects.count() == 0


def test_a_webhook_to_a_private_address_is_a_400(api, api_key):
    response = api(api_key).post(
        URL, {"channel": "webhook", "url": "http://127.0.0.1:8000/hook"}, content_type=JSON
    )

    assert response.status_code == 400
    assert Subscriber.objects.count() == 0


def test_bad_enums_and_missing_fields_are_400s_naming_the_field(api, api_key):
    client = api(api_key)

    bad_channel = client.post(URL, {"channel": "pigeon"}, content_type=JSON)
    no_email = client.post(URL, {"channel": "email"}, content_type=JSON)

    assert "channel" in bad_channel.json()
    assert "email" in no_email.json()
    assert Subscriber.objects.count() == 0


def test_a_read_only_key_cannot_write(api, read_only_key, org):
    subscriber = EmailSubscriberFactory(organization=org)
    client = api(read_only_key)

    create = client.post(URL, {"channel": "email", "email": "a@example.com"}, content_type=JSON)

    assert create.status_code == 403
    assert client.delete(detail(subscriber)).status_code == 403
    assert Subscriber.objects.get(pk=subscriber.pk).state == "active"


def test_another_organizations_key_gets_404_and_an_empty_list(api, other_api_key, org):
    subscriber = EmailSubscriberFactory(organization=org)
    client = api(other_api_key)

    assert client.get(detail(subscriber)).status_code == 404
    assert client.delete(detail(subscriber)).status_code == 404
    assert client.get(URL).json()["results"] == []
    assert Subscriber.objects.get(pk=subscriber.pk).state == "active"


def test_filters_by_component_and_state(api, api_key, org):
    component = ComponentFactory(organization=org)
    follower = EmailSubscriberFactory(organization=org, components=[component])
    EmailSubscriberFactory(organization=org, state="disabled")
    client = api(api_key)

    by_component = client.get(URL, {"component": component.public_id}).json()["results"]
    active = client.get(URL, {"state": "active"}).json()["results"]

    assert [row["id"] for row in by_component] == [follower.public_id]
    assert [row["id"] for row in active] == [follower.public_id]


def test_listing_50_subscribers_takes_a_constant_number_of_queries(
    api, api_key, org, django_assert_max_num_queries
):
    component = ComponentFactory(organization=org)
    EmailSubscriberFactory.create_batch(50, organization=org, components=[component])
    client = api(api_key)

    with django_assert_max_num_queries(4):
        response = client.get(URL)

    assert len(response.json()["results"]) == 50


def test_a_webhook_gets_its_signing_secret_once_and_a_second_add_is_a_409(api, api_key, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    client = api(api_key)
    body = {"channel": "webhook", "url": "http://127.0.0.1:9/hook", "email": "ops@example.com"}

    created = client.post(URL, body, content_type=JSON)
    again = client.post(URL, body, content_type=JSON)

    assert created.status_code == 201
    assert created.json()["webhook_secret"].startswith("whsec_")
    assert "webhook_secret" not in client.get(detail_url(created.json()["id"])).json()
    assert again.status_code == 409
    assert "already subscribed" in again.json()["detail"]
    assert Subscriber.objects.count() == 1


def detail_url(subscriber_id: str) -> str:
    return f"{URL}{subscriber_id}/"


def test_a_subscriber_added_with_a_language_gets_mail_in_it(
    api, api_key, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = api(api_key).post(
            URL,
            {"channel": "email", "email": "leser@example.com", "language": "de"},
            content_type=JSON,
        )
    html, _mimetype = mail.outbox[0].alternatives[0]

    assert created.status_code == 201
    assert created.json()["language"] == "de"
    assert '<html lang="de">' in html


def test_a_subscriber_added_without_a_language_gets_the_organizations_default(api, api_key, org):
    org.default_language = "es"
    org.save(update_fields=["default_language"])

    created = api(api_key).post(
        URL, {"channel": "email", "email": "lector@example.com"}, content_type=JSON
    )

    assert created.json()["language"] == "es"


def test_a_language_the_page_does_not_offer_is_a_400_naming_the_field(api, api_key, org):
    org.languages = ["en", "de"]
    org.save(update_fields=["languages"])

    response = api(api_key).post(
        URL,
        {"channel": "email", "email": "reader@example.com", "language": "ja"},
        content_type=JSON,
    )

    assert response.status_code == 400
    assert "language" in response.json()
    assert not Subscriber.objects.filter(email="reader@example.com").exists()
