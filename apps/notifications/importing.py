"""Email subscribers added as already confirmed, by a trusted importer API key.

`services.subscribe_email` starts a double opt-in: the address is stored unconfirmed and gets a
confirmation mail. A key with `ApiKey.can_import_confirmed` (set by an owner or admin when the
key was made) vouches that the addresses it sends consented elsewhere, e.g. on the status page
they are moving over from; those subscribers are stored confirmed and get no mail at all. Each
one is audited, naming the key.

Kept out of services.py on purpose (it is being reworked for delivery speed); this module only
reads and writes Subscriber rows as `subscribe_email` does, under the same row lock and
uniqueness rule (one email subscriber per address and organization).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Subscriber

if TYPE_CHECKING:
    from apps.integrations.models import ApiKey
    from apps.organizations.models import Organization

AUDIT_ACTION = "subscriber.import_confirmed"

UNTRUSTED_MESSAGE = (
    "This API key is not trusted to import confirmed subscribers. Leave out "
    "`already_confirmed` to send the address a confirmation mail, or have an owner or admin "
    "create a trusted importer key (only for addresses that already consented)."
)
DISABLED_MESSAGE = (
    "This address has a subscription that was stopped (unsubscribed, removed or bouncing). "
    "An import does not restart it: leave out `already_confirmed` to send a confirmation mail, "
    "so its owner decides."
)
RACE_MESSAGE = "Another request subscribed this address at the same moment; try again."


def _components(organization: Organization, component_ids: Iterable[str]) -> list:
    from apps.status.models import Component

    ids = list(component_ids)
    if not ids:
        return []
    # SECURITY: only this organization's components; unknown ids are dropped, not trusted.
    return list(Component.objects.for_org(organization).filter(public_id__in=ids))


@transaction.atomic
def import_confirmed_email(
    organization: Organization,
    *,
    email: str,
    component_ids: Iterable[str] = (),
    api_key: ApiKey,
    actor: str,
) -> Subscriber:
    """Store `email` as a confirmed subscriber of `organization`; no mail is sent.

    An address that already has a subscriber is handled as `subscribe_email` would, minus the
    mail:
    - confirmed and active: left exactly as it is (components too), nothing audited;
    - active and waiting for its confirmation click: confirmed now, with the given components
      (its links stay valid: the same person holds them);
    - stopped (unsubscribed, removed by staff, disabled after bounces): refused with a 409.
      `subscribe_email` restarts the opt-in there, which asks the person again; an import
      vouching for a consent they withdrew here would override their choice.
    """
    # SECURITY: checked here too, not only in the API view, so no caller can skip it. The key
    # must belong to the organization it imports into.
    if not api_key.is_trusted_importer or api_key.organization_id != organization.pk:
        raise PermissionDenied(UNTRUSTED_MESSAGE)
    address = email.strip().lower()
    now = timezone.now()
    subscriber = (
        Subscriber.objects.for_org(organization)
        .select_for_update()
        .filter(channel=Subscriber.Channel.EMAIL, email=address)
        .first()
    )
    if subscriber is not None and subscriber.state != Subscriber.State.ACTIVE:
        raise ValidationError(DISABLED_MESSAGE, code="exists")
    if subscriber is not None and subscriber.confirmed_at is not None:
        return subscriber
    if subscriber is None:
        was = "new"
        try:
            # A savepoint: a concurrent subscribe of the same address (the unique constraint)
            # becomes a 409 to retry, and the caller's transaction stays usable.
            with transaction.atomic():
                subscriber = Subscriber.objects.create(
                    organization=organization,
                    channel=Subscriber.Channel.EMAIL,
                    email=address,
                    confirmed_at=now,
                )
        except IntegrityError as exc:
            raise ValidationError(RACE_MESSAGE, code="conflict") from exc
    else:
        was = "unconfirmed"
        subscriber.confirmed_at = now
        subscriber.save(update_fields=["confirmed_at"])
    components = _components(organization, component_ids)
    subscriber.components.set(components)
    from apps.organizations.models import AuditEntry

    # The same shape as services.remove_subscriber's entry (ids and address in `data`); the
    # actor label names the key too, and `api_key` survives a rename.
    AuditEntry.record(
        organization,
        actor=actor,
        action=AUDIT_ACTION,
        data={
            "subscriber": subscriber.public_id,
            "channel": subscriber.channel,
            "address": address,
            "was": was,
            "components": sorted(component.public_id for component in components),
            "api_key": api_key.public_id,
            "api_key_prefix": api_key.prefix,
        },
    )
    return subscriber
