"""Trusted importer keys: `already_confirmed` on POST /api/v1/subscribers/, and the flag on
/api/v1/api-keys/."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from apps.api.models import IdempotencyKey
from apps.incidents.services import open_incident
from apps.integrations.models import ApiKey
from apps.notifications.models import Subscriber
from apps.notifications.services import import_confirmed_email
from apps.organizations.models import AuditEntry
from apps.organizations.principals import System
from tests.factories import ApiKeyFactory, ComponentFactory
from tests.notifications.factories import EmailSubscriberFactory, WebhookSubscriberFactory

URL = "/api/v1/subscribers/"
KEYS_URL = "/api/v1/api-keys/"
JSON = "application/json"


@pytest.fixture
def trusted_key(org):
    return ApiKeyFactory(organization=org, name="Statuspage migration", can_import_confirmed=True)


@pytest.fixture
def other_trusted_key(other_org):
    return ApiKeyFactory(organization=other_org, name="Globex migration", can_import_confirmed=True)


def import_address(client, email="reader@example.com", **extra):
    body = {"channel": "email", "email": email, "already_confirmed": True, **extra}
    return client.post(URL, body, content_type=JSON)


# --- subscribers: trusted keys --------------------------------------------------------------


def test_a_trusted_key_adds_a_confirmed_subscriber_without_any_mail(
    api, trusted_key, org, django_capture_on_commit_callbacks
):
    component = ComponentFactory(organization=org)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = import_address(
            api(trusted_key), "Reader@Example.com", components=[component.public_id]
        )

    body = response.json()
    subscriber = Subscriber.objects.for_org(org).get()
    assert response.status_code == 201
    assert body["confirmed"] is True
    assert body["email"] == "reader@example.com"
    assert body["components"] == [component.public_id]
    assert "already_confirmed" not in body
    assert subscriber.confirmed_at is not None
    assert subscriber.is_active
    assert callbacks == []
    assert mail.outbox == []


def test_the_audit_entry_says_which_key_imported_the_address_as_confirmed(api, trusted_key, org):
    created = import_address(api(trusted_key)).json()

    entry = AuditEntry.objects.for_org(org).get(action="subscriber.import_confirmed")
    assert entry.actor_label == f"API key “Statuspage migration” ({trusted_key.prefix}…)"
    assert entry.data["subscriber"] == created["id"]
    assert entry.data["address"] == "reader@example.com"
    assert entry.data["api_key"] == trusted_key.public_id
    assert entry.data["was"] == "new"


def test_an_imported_subscriber_hears_about_the_next_incident(
    api, trusted_key, org, django_capture_on_commit_callbacks
):
    import_address(api(trusted_key), "reader@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        open_incident(
            org,
            actor=System("test"),
            name="Elevated API errors",
            status="investigating",
            body="We are looking into it.",
        )

    assert [message.to for message in mail.outbox] == [["reader@example.com"]]
    assert mail.outbox[0].subject == "[Acme Cloud] Investigating: Elevated API errors"
    assert "We are looking into it." in mail.outbox[0].body


def test_an_address_waiting_for_its_confirmation_click_becomes_confirmed(
    api, trusted_key, org, django_capture_on_commit_callbacks
):
    pending = EmailSubscriberFactory(
        organization=org, email="reader@example.com", confirmed_at=None
    )
    component = ComponentFactory(organization=org)

    with django_capture_on_commit_callbacks(execute=True):
        response = import_address(api(trusted_key), components=[component.public_id])

    pending.refresh_from_db()
    assert response.status_code == 201
    assert response.json()["id"] == pending.public_id
    assert pending.confirmed_at is not None
    assert list(pending.components.all()) == [component]
    assert Subscriber.objects.for_org(org).count() == 1
    assert mail.outbox == []
    assert AuditEntry.objects.for_org(org).get().data["was"] == "unconfirmed"


def test_an_address_already_confirmed_is_left_as_it_is(api, trusted_key, org):
    component = ComponentFactory(organization=org)
    confirmed = EmailSubscriberFactory(organization=org, email="reader@example.com")
    confirmed_at = confirmed.confirmed_at

    response = import_address(api(trusted_key), components=[component.public_id])

    confirmed.refresh_from_db()
    assert response.status_code == 201
    assert response.json()["id"] == confirmed.public_id
    assert confirmed.confirmed_at == confirmed_at
    assert list(confirmed.components.all()) == []
    assert not AuditEntry.objects.for_org(org).exists()
    assert mail.outbox == []


def test_an_address_that_unsubscribed_is_not_resubscribed_by_an_import(api, trusted_key, org):
    left = EmailSubscriberFactory(
        organization=org,
        email="reader@example.com",
        state=Subscriber.State.DISABLED,
        disabled_reason="Unsubscribed.",
    )

    response = import_address(api(trusted_key))

    left.refresh_from_db()
    assert response.status_code == 409
    assert "confirmation mail" in response.json()["detail"]
    assert left.state == Subscriber.State.DISABLED
    assert not AuditEntry.objects.for_org(org).exists()
    assert mail.outbox == []


def test_a_retry_with_the_same_idempotency_key_imports_once(api, trusted_key, org):
    client = api(trusted_key)
    body = {"channel": "email", "email": "reader@example.com", "already_confirmed": True}

    first = client.post(URL, body, content_type=JSON, HTTP_IDEMPOTENCY_KEY="row-1")
    again = client.post(URL, body, content_type=JSON, HTTP_IDEMPOTENCY_KEY="row-1")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Subscriber.objects.for_org(org).count() == 1
    assert AuditEntry.objects.for_org(org).filter(action="subscriber.import_confirmed").count() == 1


def test_already_confirmed_false_is_the_ordinary_double_opt_in(
    api, trusted_key, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = import_address(api(trusted_key), already_confirmed=False)

    assert response.status_code == 201
    assert response.json()["confirmed"] is False
    assert len(mail.outbox) == 1
    assert not AuditEntry.objects.for_org(org).exists()


def test_already_confirmed_must_be_a_boolean(api, trusted_key, org):
    response = import_address(api(trusted_key), already_confirmed="yes")

    assert response.status_code == 400
    assert response.json()["already_confirmed"] == ["Must be true or false."]
    assert not Subscriber.objects.exists()


def test_unknown_fields_are_still_refused(api, trusted_key):
    response = import_address(api(trusted_key), confirmed_at="2024-01-01T00:00:00Z")

    assert response.status_code == 400
    assert "confirmed_at" in response.json()
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize(
    ("channel", "url"),
    [
        ("webhook", "https://hooks.example.com/candor"),
        ("slack", "https://hooks.slack.com/services/T0/B0/abc"),
    ],
)
def test_already_confirmed_on_a_webhook_or_slack_subscriber_is_a_400(
    api, trusted_key, channel, url
):
    response = api(trusted_key).post(
        URL, {"channel": channel, "url": url, "already_confirmed": True}, content_type=JSON
    )

    assert response.status_code == 400
    assert "active at once" in response.json()["already_confirmed"][0]
    assert not Subscriber.objects.exists()


# --- subscribers: keys that are not trusted -------------------------------------------------


@pytest.mark.parametrize("key_fixture", ["api_key", "admin_key"])
def test_an_untrusted_key_gets_a_403_and_nothing_is_stored_or_sent(
    api, request, org, key_fixture, django_capture_on_commit_callbacks
):
    key = request.getfixturevalue(key_fixture)

    with django_capture_on_commit_callbacks(execute=True):
        response = import_address(api(key))

    assert response.status_code == 403
    assert "not trusted to import confirmed subscribers" in response.json()["detail"]
    assert not Subscriber.objects.exists()
    assert not AuditEntry.objects.for_org(org).exists()
    assert mail.outbox == []


def test_an_untrusted_key_cannot_confirm_a_pending_address(api, api_key, org):
    pending = EmailSubscriberFactory(
        organization=org, email="reader@example.com", confirmed_at=None
    )

    response = import_address(api(api_key))

    pending.refresh_from_db()
    assert response.status_code == 403
    assert pending.confirmed_at is None


def test_a_trusted_key_that_was_revoked_is_a_401(api, trusted_key):
    trusted_key.revoked_at = trusted_key.created_at
    trusted_key.save(update_fields=["revoked_at"])

    response = import_address(api(trusted_key))

    assert response.status_code == 401
    assert not Subscriber.objects.exists()


def test_a_read_only_key_gets_a_403(api, read_only_key):
    response = import_address(api(read_only_key))

    assert response.status_code == 403
    assert not Subscriber.objects.exists()


def test_the_import_function_refuses_an_untrusted_key_whoever_calls_it(api_key, org):
    with pytest.raises(PermissionDenied):
        import_confirmed_email(
            org, email="reader@example.com", api_key=api_key, actor=api_key.principal
        )

    assert not Subscriber.objects.exists()


# --- cross-organization -----------------------------------------------------------------------


def test_a_trusted_key_imports_into_its_own_organization_only(api, trusted_key, org, other_org):
    theirs = EmailSubscriberFactory(
        organization=other_org, email="reader@example.com", confirmed_at=None
    )

    response = import_address(api(trusted_key))

    theirs.refresh_from_db()
    ours = Subscriber.objects.get(public_id=response.json()["id"])
    assert response.status_code == 201
    assert ours.organization == org
    assert theirs.confirmed_at is None
    assert not AuditEntry.objects.for_org(other_org).exists()


def test_a_trusted_key_cannot_use_another_organizations_components(api, trusted_key, other_org):
    theirs = ComponentFactory(organization=other_org)

    response = import_address(api(trusted_key), components=[theirs.public_id])

    assert response.status_code == 400
    assert theirs.public_id in response.json()["components"][0]
    assert not Subscriber.objects.exists()


def test_a_trusted_key_cannot_see_or_remove_another_organizations_subscribers(
    api, trusted_key, other_org
):
    theirs = WebhookSubscriberFactory(organization=other_org)

    fetched = api(trusted_key).get(f"{URL}{theirs.public_id}/")
    removed = api(trusted_key).delete(f"{URL}{theirs.public_id}/")

    theirs.refresh_from_db()
    assert fetched.status_code == removed.status_code == 404
    assert theirs.state == Subscriber.State.ACTIVE


def test_the_import_function_refuses_a_key_of_another_organization(other_trusted_key, org):
    with pytest.raises(PermissionDenied):
        import_confirmed_email(
            org, email="reader@example.com", api_key=other_trusted_key, actor=System("test")
        )

    assert not Subscriber.objects.exists()


# --- the flag on /api/v1/api-keys/ ----------------------------------------------------------


@pytest.mark.parametrize("scope", ["write", "admin"])
def test_an_admin_key_can_create_a_trusted_key_that_imports(api, admin_key, org, scope):
    created = api(admin_key).post(
        KEYS_URL,
        {"name": "Migration", "scope": scope, "can_import_confirmed": True},
        content_type=JSON,
    )
    new_key = ApiKey.objects.get(public_id=created.json()["id"])
    new_key.secret = created.json()["secret"]

    imported = import_address(api(new_key))

    entry = AuditEntry.objects.for_org(org).get(action="api_key.create")
    assert created.status_code == 201
    assert created.json()["can_import_confirmed"] is True
    assert new_key.can_import_confirmed is True
    assert entry.data["can_import_confirmed"] is True
    assert imported.status_code == 201
    assert imported.json()["confirmed"] is True


def test_keys_are_not_trusted_unless_asked(api, admin_key):
    created = api(admin_key).post(KEYS_URL, {"name": "CI", "scope": "write"}, content_type=JSON)

    assert created.json()["can_import_confirmed"] is False
    assert ApiKey.objects.get(public_id=created.json()["id"]).can_import_confirmed is False


def test_the_key_list_shows_which_keys_are_trusted(api, admin_key, trusted_key):
    listed = api(admin_key).get(KEYS_URL).json()["results"]

    assert {row["id"]: row["can_import_confirmed"] for row in listed} == {
        admin_key.public_id: False,
        trusted_key.public_id: True,
    }


def test_a_read_only_key_cannot_be_trusted(api, admin_key, org):
    response = api(admin_key).post(
        KEYS_URL,
        {"name": "TV", "scope": "read", "can_import_confirmed": True},
        content_type=JSON,
    )

    assert response.status_code == 400
    assert "read-only" in response.json()["can_import_confirmed"][0]
    assert ApiKey.objects.for_org(org).count() == 1


def test_a_trusted_write_key_cannot_mint_trusted_keys(api, trusted_key, org):
    response = api(trusted_key).post(
        KEYS_URL,
        {"name": "Copy", "scope": "write", "can_import_confirmed": True},
        content_type=JSON,
    )

    assert response.status_code == 403
    assert ApiKey.objects.for_org(org).count() == 1


def test_the_flag_cannot_be_set_with_another_request_later(api, admin_key, api_key):
    response = api(admin_key).patch(
        f"{KEYS_URL}{api_key.public_id}/", {"can_import_confirmed": True}, content_type=JSON
    )

    api_key.refresh_from_db()
    assert response.status_code == 405
    assert api_key.can_import_confirmed is False


def test_an_idempotent_replay_of_a_trusted_key_creation_makes_one_key(api, admin_key, org):
    client = api(admin_key)
    body = {"name": "Migration", "scope": "write", "can_import_confirmed": True}

    first = client.post(KEYS_URL, body, content_type=JSON, HTTP_IDEMPOTENCY_KEY="mig-1")
    again = client.post(KEYS_URL, body, content_type=JSON, HTTP_IDEMPOTENCY_KEY="mig-1")

    assert again.json()["id"] == first.json()["id"]
    assert again.json()["secret"] is None
    assert ApiKey.objects.for_org(org).filter(can_import_confirmed=True).count() == 1
    assert first.json()["secret"] not in IdempotencyKey.objects.get().response_body
