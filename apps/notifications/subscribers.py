"""Subscribers: subscribing (public page, dashboard, API), confirming, leaving, staff removal,
imports and exports, and the per-organization notification settings.

Nothing here sends anything except the one-off mails (confirmation, already subscribed), which
are enqueued by name on commit (apps.notifications.enqueue).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core import http, i18n
from apps.organizations.models import AuditEntry

from .enqueue import enqueue_on_commit
from .models import (
    DEFAULT_UPDATE_CADENCE_MINUTES,
    MAX_UPDATE_CADENCE_MINUTES,
    MIN_UPDATE_CADENCE_MINUTES,
    Delivery,
    NotificationSettings,
    Subscriber,
    new_manage_nonce,
    new_webhook_secret,
)

if TYPE_CHECKING:
    from apps.api.credentials import ApiCredential
    from apps.organizations.models import Organization
    from apps.organizations.principals import Principal

logger = logging.getLogger(__name__)

Channel = Subscriber.Channel
# The component model subscribers follow, without importing the app that defines it (it is
# on a higher floor: docs/architecture.md). Typed loosely for the same reason: its manager's
# for_org is declared up there.
Component: Any = Subscriber._meta.get_field("components").related_model


def following_components(
    subscribers: QuerySet[Subscriber], component_ids: Sequence[str]
) -> QuerySet[Subscriber]:
    """Those who follow a component among `component_ids` or every component; all of them
    when `component_ids` is empty (a page-wide event). The default audience of a kind."""
    if not component_ids:
        return subscribers
    follows = Subscriber.components.through.objects.filter(subscriber_id=OuterRef("pk"))
    touched = follows.filter(component__public_id__in=list(component_ids))
    return subscribers.filter(~Exists(follows) | Exists(touched))


# Staff actions here (settings, removal, imports, exports, retries) need this permission of
# apps/organizations/roles.py, checked in each service with `actor.require`: the dashboard's
# views and the API's scopes ask the same question before they call (org_view, HasApiKeyScope).
MANAGE = "subscribers.manage"


# --- settings -------------------------------------------------------------------------------


def email_component_changes(organization_id: int) -> bool:
    """Whether the organization mails its email subscribers component-only changes."""
    return bool(
        NotificationSettings.objects.filter(organization_id=organization_id)
        .values_list("email_component_changes", flat=True)
        .first()
    )


@transaction.atomic
def set_email_component_changes(
    organization: Organization, *, enabled: bool, actor: Principal
) -> bool:
    """Staff switch (dashboard, API). Returns True when the value changed; audited then."""
    actor.require(MANAGE, organization)
    settings_row, _ = NotificationSettings.objects.select_for_update().get_or_create(
        organization=organization
    )
    if settings_row.email_component_changes == enabled:
        return False
    settings_row.email_component_changes = enabled
    settings_row.save(update_fields=["email_component_changes", "updated_at"])
    AuditEntry.record(
        organization,
        actor=actor,
        action="notifications.settings",
        data={"email_component_changes": enabled},
    )
    return True


def update_cadence_minutes(organization: Organization) -> int:
    """How many minutes after an update the next one is promised by default."""
    found = (
        NotificationSettings.objects.filter(organization=organization)
        .values_list("update_cadence_minutes", flat=True)
        .first()
    )
    return found or DEFAULT_UPDATE_CADENCE_MINUTES


def check_update_cadence(minutes: int) -> int:
    """The cadence, or a ValidationError saying the bounds (zero, negative or years refused)."""
    if not MIN_UPDATE_CADENCE_MINUTES <= minutes <= MAX_UPDATE_CADENCE_MINUTES:
        raise ValidationError(
            f"Choose between {MIN_UPDATE_CADENCE_MINUTES} minutes and "
            f"{MAX_UPDATE_CADENCE_MINUTES // 60} hours ({MAX_UPDATE_CADENCE_MINUTES} minutes) "
            f"between updates; {minutes} minutes cannot be promised.",
            code="cadence_bounds",
        )
    return minutes


@transaction.atomic
def set_update_reminders(
    organization: Organization,
    *,
    actor: Principal,
    cadence_minutes: int | None = None,
    staff_slack_url: str | None = None,
) -> list[str]:
    """Staff settings of update promises: the default cadence and the staff Slack webhook
    (empty removes it). None leaves a value as it is. Returns the names of the fields that
    changed (audited then); invalid values raise ValidationError and nothing is written."""
    actor.require(MANAGE, organization)
    if cadence_minutes is not None:
        check_update_cadence(cadence_minutes)
    if staff_slack_url:
        staff_slack_url = validate_hook_url(staff_slack_url, Channel.SLACK)
    settings_row, _ = NotificationSettings.objects.select_for_update().get_or_create(
        organization=organization
    )
    changed: list[str] = []
    if cadence_minutes is not None and cadence_minutes != settings_row.update_cadence_minutes:
        settings_row.update_cadence_minutes = cadence_minutes
        changed.append("update_cadence_minutes")
    if staff_slack_url is not None and staff_slack_url.strip() != settings_row.staff_slack_url:
        settings_row.staff_slack_url = staff_slack_url.strip()
        changed.append("staff_slack_url")
    if not changed:
        return changed
    settings_row.save(update_fields=[*changed, "updated_at"])
    data: dict[str, Any] = {}
    if "update_cadence_minutes" in changed:
        data["update_cadence_minutes"] = cadence_minutes
    if "staff_slack_url" in changed:
        # SECURITY: the webhook URL is a credential: the audit log says only whether it is set.
        data["staff_slack"] = "set" if settings_row.staff_slack_url else "removed"
    AuditEntry.record(organization, actor=actor, action="notifications.settings", data=data)
    return changed


# --- subscribing (public page, dashboard) ---------------------------------------------------

SLACK_HOOK_PREFIX = "https://hooks.slack.com/"


def _components_for(organization: Organization, component_ids: Iterable[str]) -> list:
    ids = list(component_ids)
    if not ids:
        return []
    # SECURITY: only this organization's components; unknown ids are dropped, not trusted.
    return list(Component.objects.for_org(organization).filter(public_id__in=ids))


def _send_confirmation_on_commit(subscriber: Subscriber) -> None:
    enqueue_on_commit(
        "notifications.send_confirmation",
        subscriber.pk,
        what=f"the confirmation mail of {subscriber.pk}",
    )


def _send_already_subscribed_on_commit(subscriber: Subscriber) -> None:
    enqueue_on_commit(
        "notifications.send_already_subscribed",
        subscriber.pk,
        what=f"the already-subscribed mail of {subscriber.pk}",
    )


@transaction.atomic
def subscribe_email(
    organization: Organization,
    *,
    email: str,
    component_ids: Iterable[str] = (),
    notify_if_subscribed: bool = False,
    language: str | None = None,
) -> Subscriber:
    """Start a double opt-in: store the unconfirmed address and mail a confirmation link.

    Nothing else is ever sent before the link is clicked. An address still waiting for its
    click gets the confirmation again (with new links). An address that is already confirmed
    keeps its subscription as it is; with `notify_if_subscribed` (the public form) it gets a
    mail saying so, with its manage link, so the form's "check your inbox" is true for every
    address while the page still reveals nothing about who is subscribed.

    `language` is the one their mail is written in (the public form passes the page's; the
    API and the dashboard leave it to the organization's default). An already subscribed
    address keeps its own: the "already subscribed" mail is in the language they chose.
    """
    address = email.strip().lower()
    language = subscriber_language(organization, language)
    subscriber = (
        Subscriber.objects.for_org(organization)
        .select_for_update()
        .filter(channel=Channel.EMAIL, email=address)
        .first()
    )
    if subscriber is not None and subscriber.is_active:
        if notify_if_subscribed:
            _send_already_subscribed_on_commit(subscriber)
        return subscriber
    if subscriber is None:
        subscriber = Subscriber.objects.create(
            organization=organization, channel=Channel.EMAIL, email=address, language=language
        )
    else:
        # Someone unsubscribed earlier (or never confirmed): start over, with new links, in
        # the language they ask in now.
        subscriber.state = Subscriber.State.ACTIVE
        subscriber.confirmed_at = None
        subscriber.disabled_reason = ""
        subscriber.manage_nonce = new_manage_nonce()
        subscriber.language = language
        subscriber.save(
            update_fields=["state", "confirmed_at", "disabled_reason", "manage_nonce", "language"]
        )
    subscriber.components.set(_components_for(organization, component_ids))
    _send_confirmation_on_commit(subscriber)
    return subscriber


def subscriber_language(organization: Organization, language: str | None) -> str:
    """The language to store for a new subscriber: `language` (the page's, when they signed
    up on it) if Candor has it, else the organization's default."""
    primary = (language or "").strip().lower().replace("_", "-").split("-")[0]
    if primary in i18n.codes():
        return primary
    return organization.default_language or settings.LANGUAGE_CODE


def set_language(subscriber: Subscriber, language: str) -> bool:
    """The subscriber chose the language of their mail (manage page). `language` must be one
    the organization offers (the form checks); True when it changed."""
    if language not in subscriber.organization.offered_languages:
        raise ValidationError(_("Choose one of the languages offered."), code="language")
    updated = (
        Subscriber.objects.filter(pk=subscriber.pk)
        .exclude(language=language)
        .update(language=language)
    )
    subscriber.language = language
    return updated == 1


def confirm_subscriber(subscriber: Subscriber) -> bool:
    """Idempotent: True the first time."""
    updated = Subscriber.objects.filter(pk=subscriber.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now()
    )
    subscriber.refresh_from_db(fields=["confirmed_at"])
    return updated == 1


def validate_hook_url(url: str, channel: str) -> str:
    """Raise ValidationError unless the URL is fit for the channel (checked again at send)."""
    url = url.strip()
    if channel == Channel.SLACK and not url.startswith(SLACK_HOOK_PREFIX):
        # Shown on the public subscribe form (in the reader's language) and in the API (English).
        raise ValidationError(
            _("Use a Slack incoming-webhook URL (it starts with %(prefix)s).")
            % {"prefix": SLACK_HOOK_PREFIX},
            code="not_slack",
        )
    if channel == Channel.WEBHOOK and url.startswith(SLACK_HOOK_PREFIX):
        raise ValidationError(_("For Slack, use the Slack subscription instead."), code="slack")
    try:
        http.validate_url(url)
    except http.UnsafeURLError as exc:
        raise ValidationError(str(exc), code="unsafe") from exc
    except http.OutboundError as exc:
        raise ValidationError(str(exc), code="unresolvable") from exc
    return url


@transaction.atomic
def subscribe_hook(
    organization: Organization,
    *,
    channel: str,
    url: str,
    email: str = "",
    component_ids: Iterable[str] = (),
    language: str | None = None,
) -> Subscriber:
    """Add a webhook (with a failure-notice address) or Slack subscriber, active at once.

    `language`: as for `subscribe_email` (the failure notice and anything human-readable the
    hook gets are written in it)."""
    url = validate_hook_url(url, channel)
    language = subscriber_language(organization, language)
    existing = (
        Subscriber.objects.for_org(organization)
        .select_for_update()
        .filter(channel=channel, url=url)
        .first()
    )
    if existing is not None and existing.state == Subscriber.State.ACTIVE:
        # SECURITY: never hand an existing endpoint's signing secret or manage link to whoever
        # types its URL; the owner has the manage link from when they added it.
        raise ValidationError(
            _(
                "This endpoint is already subscribed. Use the manage link you got when you "
                "added it to change or remove it."
            ),
            code="exists",
        )
    if existing is None:
        subscriber = Subscriber.objects.create(
            organization=organization,
            channel=channel,
            url=url,
            email=email.strip().lower(),
            confirmed_at=timezone.now(),
            language=language,
        )
    else:
        # A disabled endpoint added again starts over: new secret and links (the old owner's
        # copies stop working), failure count reset.
        subscriber = existing
        subscriber.email = email.strip().lower()
        subscriber.state = Subscriber.State.ACTIVE
        subscriber.disabled_reason = ""
        subscriber.consecutive_failures = 0
        subscriber.confirmed_at = timezone.now()
        subscriber.webhook_secret = new_webhook_secret()
        subscriber.manage_nonce = new_manage_nonce()
        subscriber.language = language
        subscriber.save()
    subscriber.components.set(_components_for(organization, component_ids))
    return subscriber


def set_components(subscriber: Subscriber, component_ids: Iterable[str]) -> None:
    subscriber.components.set(_components_for(subscriber.organization, component_ids))


@transaction.atomic
def unsubscribe(subscriber: Subscriber) -> bool:
    """Stop everything for this subscriber now (idempotent). Pending deliveries are skipped."""
    updated = Subscriber.objects.filter(pk=subscriber.pk, state=Subscriber.State.ACTIVE).update(
        state=Subscriber.State.DISABLED,
        disabled_reason="Unsubscribed.",
        disabled_at=timezone.now(),
    )
    Delivery.objects.filter(subscriber_id=subscriber.pk, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SKIPPED, last_error="Unsubscribed.", leased_until=None
    )
    subscriber.refresh_from_db(fields=["state", "disabled_reason", "disabled_at"])
    return updated == 1


# --- staff dashboard: remove, import, export ------------------------------------------------

REMOVED_REASON = "Removed by staff."

# Path segments at least this long are shown shortened: they are usually tokens.
_LONG_SEGMENT = 20


def display_url(url: str) -> str:
    """A webhook or Slack URL fit to show staff: no credentials, query string or fragment, and
    no path tokens.

    SECURITY: the URL often *is* the subscriber's secret (Slack's last path segment, `?token=`
    query strings, `user:pass@`). Staff need to recognise an endpoint, not to call it.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(unreadable URL)"
    netloc = f"{host}:{port}" if port else host
    segments = parts.path.split("/")
    if url.startswith(SLACK_HOOK_PREFIX):
        # /services/T…/B…/<token>: the workspace and channel ids help, the token must not show.
        segments = [*segments[:4], "…"] if len(segments) > 4 else segments
    else:
        segments = [
            f"{segment[:4]}…" if len(segment) >= _LONG_SEGMENT else segment for segment in segments
        ]
    shown = f"{parts.scheme}://{netloc}{'/'.join(segments)}"
    if parts.query:
        shown += "?…"
    return shown


def display_address(subscriber: Subscriber) -> str:
    return subscriber.email if subscriber.is_email else display_url(subscriber.url)


@transaction.atomic
def set_discussion_events(subscriber: Subscriber, *, enabled: bool, actor: Principal) -> bool:
    """Staff choose whether a webhook or Slack subscriber also receives discussion events (new
    comments, flags, many people affected). True when it changed; audited then."""
    actor.require(MANAGE, subscriber.organization)
    if subscriber.is_email:
        raise ValidationError(
            "Discussion events go to webhooks and Slack only; people get their own replies "
            "by mail.",
            code="email",
        )
    updated = Subscriber.objects.filter(pk=subscriber.pk, discussion_events=not enabled).update(
        discussion_events=enabled
    )
    subscriber.discussion_events = enabled
    if updated:
        # SECURITY: no `target=subscriber`: its str() is the full URL, secrets included.
        AuditEntry.record(
            subscriber.organization,
            actor=actor,
            action="subscriber.discussion_events",
            data={
                "subscriber": subscriber.public_id,
                "address": display_address(subscriber),
                "discussion_events": enabled,
            },
        )
    return updated == 1


@transaction.atomic
def remove_subscriber(subscriber: Subscriber, *, actor: Principal) -> bool:
    """Stop every notification to this subscriber now, as the API's DELETE does: the row stays
    (state disabled, "Removed by staff.") so past deliveries keep their history. Pending
    deliveries are skipped. Idempotent: False when it was already disabled.
    """
    actor.require(MANAGE, subscriber.organization)
    updated = Subscriber.objects.filter(pk=subscriber.pk, state=Subscriber.State.ACTIVE).update(
        state=Subscriber.State.DISABLED,
        disabled_reason=REMOVED_REASON,
        disabled_at=timezone.now(),
    )
    Delivery.objects.filter(subscriber_id=subscriber.pk, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SKIPPED, last_error="Subscriber removed.", leased_until=None
    )
    subscriber.refresh_from_db(fields=["state", "disabled_reason", "disabled_at"])
    if updated:
        # SECURITY: no `target=subscriber`: its str() is the full URL, secrets included.
        AuditEntry.record(
            subscriber.organization,
            actor=actor,
            action="subscriber.remove",
            data={
                "subscriber": subscriber.public_id,
                "channel": subscriber.channel,
                "address": display_address(subscriber),
            },
        )
    return updated == 1


@transaction.atomic
def import_email_subscribers(
    organization: Organization, *, actor: Principal, rows: Sequence[tuple[str, Sequence[str]]]
) -> list[Subscriber]:
    """Invite every new (address, component ids) row: all or nothing, in one transaction.

    The same double opt-in as `subscribe_email`, in bulk: rows are stored unconfirmed, with
    components resolved by `_components_for` (this organization's only), and each gets the
    confirmation mail through `_send_confirmation_on_commit`, the task the public form uses.
    Nothing else is sent before its owner clicks. Not one `subscribe_email` call per row:
    that took 33 s for 5,000 addresses on PostgreSQL (a savepoint, a locking read and three
    writes each), this takes a few bulk statements.

    Addresses that already have a subscriber (any state) are left alone: an import never
    restarts an opt-in or re-subscribes someone who left. The caller
    (apps.notifications.csv_import) reports those; a concurrent subscribe that lands between
    that check and the insert raises IntegrityError and the whole import rolls back.
    """
    actor.require(MANAGE, organization)
    wanted: dict[str, Sequence[str]] = {}
    for email, component_ids in rows:
        wanted.setdefault(email.strip().lower(), component_ids)
    taken = set(
        Subscriber.objects.for_org(organization)
        .filter(channel=Channel.EMAIL, email__in=list(wanted))
        .values_list("email", flat=True)
    )
    fresh = [address for address in wanted if address not in taken]
    components = {
        component.public_id: component
        for component in _components_for(
            organization, {cid for address in fresh for cid in wanted[address]}
        )
    }
    now = timezone.now()
    subscribers = Subscriber.objects.bulk_create(
        [
            Subscriber(
                organization=organization,
                channel=Channel.EMAIL,
                email=address,
                created_at=now,
                # An import does not know what each person reads: the page's default language.
                language=subscriber_language(organization, None),
            )
            for address in fresh
        ],
        batch_size=1000,
    )
    follows = Subscriber.components.through
    follows.objects.bulk_create(
        [
            follows(subscriber_id=subscriber.pk, component_id=components[cid].pk)
            for subscriber in subscribers
            for cid in dict.fromkeys(wanted[subscriber.email])
            if cid in components
        ],
        batch_size=1000,
    )
    for subscriber in subscribers:
        _send_confirmation_on_commit(subscriber)
    AuditEntry.record(
        organization,
        actor=actor,
        action="subscribers.import",
        data={"invited": len(subscribers)},
    )
    return subscribers


def record_subscriber_export(organization: Organization, *, actor: Principal, count: int) -> None:
    """An export hands out every address: the audit log says who took a copy, and when.

    Called before the first row is streamed, so a refusal here hands out nothing."""
    actor.require(MANAGE, organization)
    AuditEntry.record(
        organization, actor=actor, action="subscribers.export", data={"subscribers": count}
    )


# --- trusted imports (API) ------------------------------------------------------------------
# Email subscribers added as already confirmed by a trusted importer API key
# (`ApiKey.can_import_confirmed`, set by an owner or admin when the key was made): the key
# vouches that the addresses consented elsewhere, e.g. on the status page they are moving
# from, so they are stored confirmed and get no mail at all. Each one is audited, naming the
# key. Same row lock and uniqueness rule as `subscribe_email`.

IMPORT_AUDIT_ACTION = "subscriber.import_confirmed"


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


@transaction.atomic
def import_confirmed_email(
    organization: Organization,
    *,
    email: str,
    component_ids: Iterable[str] = (),
    api_key: ApiCredential,
    actor: Principal,
    language: str | None = None,
) -> Subscriber:
    """Store `email` as a confirmed subscriber of `organization`; no mail is sent.

    A new subscriber's mail is written in `language` (the organization's default without one).

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
    # must belong to the organization it imports into, and the one acting may add subscribers.
    actor.require(MANAGE, organization)
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
                    language=subscriber_language(organization, language),
                )
        except IntegrityError as exc:
            raise ValidationError(RACE_MESSAGE, code="conflict") from exc
    else:
        was = "unconfirmed"
        subscriber.confirmed_at = now
        subscriber.save(update_fields=["confirmed_at"])
    components = _components_for(organization, component_ids)
    subscriber.components.set(components)
    # The same shape as services.remove_subscriber's entry (ids and address in `data`); the
    # actor label names the key too, and `api_key` survives a rename.
    AuditEntry.record(
        organization,
        actor=actor,
        action=IMPORT_AUDIT_ACTION,
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
