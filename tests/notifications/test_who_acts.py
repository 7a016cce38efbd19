"""The notifications staff services check the principal themselves (`subscribers.manage`): a
caller that skips the view's role check or the API's scope check gets the same refusal, with
nothing written, and the audit log names whoever acted."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from apps.notifications import services
from apps.notifications.models import Delivery, NotificationSettings, Subscriber
from apps.organizations.models import AuditEntry
from apps.organizations.principals import System
from tests.factories import ApiKeyFactory, member

from .factories import DeliveryFactory, EmailSubscriberFactory, NotificationEventFactory


def _settings(org):
    return lambda actor: services.set_email_component_changes(org, enabled=True, actor=actor)


def _retry(org):
    event = NotificationEventFactory(organization=org)
    DeliveryFactory(event=event, status=Delivery.Status.FAILED)
    return lambda actor: services.retry_failed_deliveries(event, actor=actor)


def _remove(org):
    subscriber = EmailSubscriberFactory(organization=org)
    return lambda actor: services.remove_subscriber(subscriber, actor=actor)


def _import(org):
    rows = [("new@example.com", [])]
    return lambda actor: services.import_email_subscribers(org, actor=actor, rows=rows)


def _export(org):
    return lambda actor: services.record_subscriber_export(org, actor=actor, count=3)


def _import_confirmed(org):
    key = ApiKeyFactory(organization=org, can_import_confirmed=True)
    return lambda actor: services.import_confirmed_email(
        org, email="reader@example.com", api_key=key, actor=actor
    )


# Each sets up what its service needs and returns the call, to make with an actor.
STAFF_CALLS = {
    "set_email_component_changes": _settings,
    "retry_failed_deliveries": _retry,
    "remove_subscriber": _remove,
    "import_email_subscribers": _import,
    "record_subscriber_export": _export,
    "import_confirmed_email": _import_confirmed,
}


def _written(org) -> dict[str, object]:
    """What a staff service could have changed, to compare before and after a refusal."""
    return {
        "audit": AuditEntry.objects.count(),
        "settings": NotificationSettings.objects.count(),
        "subscribers": sorted(
            Subscriber.objects.for_org(org).values_list("email", "state", "confirmed_at")
        ),
        "deliveries": sorted(Delivery.objects.values_list("id", "status")),
    }


@pytest.mark.parametrize("name", STAFF_CALLS)
def test_a_viewer_calling_a_staff_service_directly_is_refused_and_nothing_is_written(
    org, viewer, name
):
    call = STAFF_CALLS[name](org)
    before = _written(org)

    with pytest.raises(PermissionDenied) as refused:
        call(member(viewer))

    assert str(refused.value) == "Your role in this organization does not allow this."
    assert _written(org) == before


@pytest.mark.parametrize("name", STAFF_CALLS)
def test_a_read_only_key_calling_a_staff_service_directly_is_refused(org, read_only_key, name):
    call = STAFF_CALLS[name](org)
    before = _written(org)

    with pytest.raises(PermissionDenied) as refused:
        call(read_only_key.principal)

    assert str(refused.value) == "This API key is read-only; use a key with write scope."
    assert _written(org) == before


@pytest.mark.parametrize("name", STAFF_CALLS)
def test_a_member_of_another_organization_is_refused(org, outsider, name):
    call = STAFF_CALLS[name](org)
    before = _written(org)

    with pytest.raises(PermissionDenied) as refused:
        call(member(outsider))

    assert str(refused.value) == "This belongs to another organization."
    assert _written(org) == before


@pytest.mark.parametrize("name", STAFF_CALLS)
def test_the_audit_entry_names_the_member_who_acted(org, editor, name):
    STAFF_CALLS[name](org)(member(editor))

    entry = AuditEntry.objects.for_org(org).get()
    assert (entry.actor, entry.actor_label) == (editor, "eddie@acme.test")


def test_the_audit_entry_names_the_api_key_that_acted(org, api_key):
    services.set_email_component_changes(org, enabled=True, actor=api_key.principal)

    entry = AuditEntry.objects.for_org(org).get(action="notifications.settings")
    assert entry.actor is None
    assert entry.actor_label == f"API key “{api_key.name}” ({api_key.prefix}…)"


def test_the_system_may_act_and_is_named_by_its_label(org):
    services.record_subscriber_export(org, actor=System("nightly backup"), count=3)

    entry = AuditEntry.objects.for_org(org).get()
    assert (entry.actor, entry.actor_label) == (None, "nightly backup")
