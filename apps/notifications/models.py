from __future__ import annotations

import base64
import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from apps.core.ids import PublicIdField
from apps.organizations.models import OrgOwnedModel, OrgQuerySet


class NotificationEvent(OrgOwnedModel):
    """Outbox row: written by `apps.notifications.pipeline.emit` in the same transaction as
    the change it announces.

    The notification pipeline (fan-out, deliveries) reads unprocessed events; new features add
    kinds and register their renderers (apps.notifications.registry), never delivery code.
    """

    public_id = PublicIdField()
    # A kind the emitting app defines and registers with its label (apps/incidents/
    # notifications.py, apps/status/notifications.py): a plain string here, no choices, so the
    # pipeline names no kind of another app. Its label: `registry.kind_label(kind)`.
    kind = models.CharField(max_length=40)
    # What the event is about, named generically (the pipeline never imports the apps that
    # emit): the model's label (`incidents.incident`, `status.component`) and its public id.
    subject_type = models.CharField(max_length=60, blank=True)
    subject_id = models.CharField(max_length=40, blank=True)
    # What the event says, as JSON, written by the emitting app when it emits: the renderer of
    # its kind (apps.notifications.registry) reads it, and the event list shows its names.
    snapshot = models.JSONField(default=dict, blank=True)
    # Public ids of the components the event touches; empty means page-wide.
    component_ids = models.JSONField(default=list, blank=True)
    # False for updates posted with "don't notify": kept for the record, never delivered.
    deliver = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="event_unprocessed",
                condition=models.Q(processed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.public_id})"


# --- subscribers and deliveries --------------------------------------------------------------

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def new_webhook_secret() -> str:
    """A Standard Webhooks symmetric secret: `whsec_` + base64 of 32 random bytes."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_manage_nonce() -> str:
    return secrets.token_urlsafe(18)


class SubscriberQuerySet(OrgQuerySet):
    def active(self) -> SubscriberQuerySet:
        return self.filter(state=Subscriber.State.ACTIVE, confirmed_at__isnull=False)


class PageSubscriberManager(models.Manager.from_queryset(SubscriberQuerySet)):  # type: ignore[misc]
    """`Subscriber.objects`: the status page's subscribers only. A person's own mail (forum
    replies) goes through `Subscriber.people`, so no status fan-out, subscriber list, count,
    export or manage link ever includes those rows."""

    def get_queryset(self) -> SubscriberQuerySet:
        return super().get_queryset().filter(scope="page")


class PersonSubscriberManager(models.Manager.from_queryset(SubscriberQuerySet)):  # type: ignore[misc]
    """`Subscriber.people`: one row per (organization, account) that receives its own mail."""

    def get_queryset(self) -> SubscriberQuerySet:
        return super().get_queryset().filter(scope="person")


class Subscriber(OrgOwnedModel):
    """Someone who hears about an organization's incidents: an address, a webhook or Slack.

    Links in mail (manage, unsubscribe) carry a token derived from `manage_nonce` with an HMAC
    keyed by SECRET_KEY (see apps.notifications.tokens): the token itself is never stored, and
    rotating the nonce revokes every link sent so far.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"
        SLACK = "slack", "Slack"

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"

    class Scope(models.TextChoices):
        # Subscribed to the status page: status fan-outs, lists, counts, manage links.
        PAGE = "page", "Status page subscriber"
        # One signed-in person's own mail (an app above addresses it to them, e.g. replies to
        # their forum comments); reached only through `Subscriber.people`.
        PERSON = "person", "A person's own mail"

    public_id = PublicIdField()
    scope = models.CharField(max_length=6, choices=Scope.choices, default=Scope.PAGE)
    # The account a `person` row mails (its address is copied into `email` when mail is due).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    # Webhook and Slack subscribers that opted in also receive discussion events (a new
    # comment, a flag, a thread passing the affected threshold).
    discussion_events = models.BooleanField(
        "Also send discussion events (new comments, flags, many people affected)",
        default=False,
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # The address mail goes to (email channel), or where failure notices go (webhook channel).
    email = models.EmailField(blank=True)
    # Webhook endpoint or Slack incoming-webhook URL.
    url = models.URLField(max_length=2000, blank=True)
    webhook_secret = models.CharField(max_length=100, default=new_webhook_secret)
    # Double opt-in: nothing is sent to an address before it is confirmed. Webhook and Slack
    # subscribers are confirmed when created.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    manage_nonce = models.CharField(max_length=32, default=new_manage_nonce)
    # The language their mail is written in (apps/core/i18n.py): the page's language when they
    # subscribed, changed on the manage page; imports and the API give the page's default.
    # Read through `i18n.supported()`, so a code that is no longer offered falls back safely.
    language = models.CharField(max_length=8, default="en", db_default="en")
    # Empty means every component (and page-wide events).
    components = models.ManyToManyField("status.Component", related_name="+", blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Failed attempts in a row (webhook/Slack); reset by a success, disables at a threshold.
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    # The first manager is the default one: page subscribers. Foreign keys (a delivery's
    # subscriber) and cascades use the plain base manager and see every row.
    objects = PageSubscriberManager()
    people = PersonSubscriberManager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=models.Q(channel="email", scope="page"),
                name="one_email_subscriber_per_address",
            ),
            models.UniqueConstraint(
                fields=["organization", "channel", "url"],
                condition=models.Q(channel__in=["webhook", "slack"], scope="page"),
                name="one_hook_subscriber_per_url",
            ),
            models.UniqueConstraint(
                fields=["organization", "user"],
                condition=models.Q(scope="person"),
                name="one_person_subscriber_per_user",
            ),
        ]
        indexes = [models.Index(fields=["organization", "state", "id"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.email if self.is_email else self.url}"

    @property
    def is_email(self) -> bool:
        return self.channel == self.Channel.EMAIL

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE and self.confirmed_at is not None


class Delivery(OrgOwnedModel):
    """One event to one subscriber. Unique per (event, subscriber): a re-run fan-out is harmless.

    A batch task claims pending rows by setting `leased_until`/`lease_owner` in one conditional
    UPDATE, sends, and marks each row sent right after the provider accepted it. A retry is a
    pending row whose lease is pushed to `next_attempt_at`: retries are scheduled in the
    database and picked up by the `retry_due_deliveries` beat task, never by long countdowns.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    # No index of its own: (event, subscriber) and (event, status) both lead with it, and every
    # index is one more entry written per row inserted, claimed or marked (10,000 a fan-out).
    event = models.ForeignKey(
        NotificationEvent, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    # Copied from the subscriber so batches can be routed without a join.
    channel = models.CharField(max_length=10, choices=Subscriber.Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the sweeper should (re)send this row if nobody holds a lease on it.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    leased_until = models.DateTimeField(null=True, blank=True)
    # The Celery task id holding the lease; a redelivered task (same id) may reclaim its rows.
    lease_owner = models.CharField(max_length=64, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "subscriber"], name="one_delivery_per_event")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["event", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.subscriber_id}: {self.status}"


# The bounds of the default update cadence: a promise every 5 minutes at most, every day at
# least (zero would promise an update that is always overdue; years would promise nothing).
DEFAULT_UPDATE_CADENCE_MINUTES = 30
MIN_UPDATE_CADENCE_MINUTES = 5
MAX_UPDATE_CADENCE_MINUTES = 24 * 60


class NotificationSettings(models.Model):
    """Per-organization notification choices, created the first time staff change one.

    An organization without a row has the defaults (every field's default).
    """

    organization = models.OneToOneField(
        "organizations.Organization",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    # Component-only status changes always go to webhooks and Slack; to email only when on.
    email_component_changes = models.BooleanField(
        "Email subscribers when a component's status changes without an incident",
        default=False,
    )
    # How soon staff promise the next update of an active incident by default (apps.incidents
    # pre-fills "next update by" with it, and beat reminds the responders before and after).
    update_cadence_minutes = models.PositiveIntegerField(
        "Default time until the next update (minutes)",
        default=DEFAULT_UPDATE_CADENCE_MINUTES,
        db_default=DEFAULT_UPDATE_CADENCE_MINUTES,
        validators=[
            MinValueValidator(MIN_UPDATE_CADENCE_MINUTES),
            MaxValueValidator(MAX_UPDATE_CADENCE_MINUTES),
        ],
    )
    # Where staff reminders ("an update is due") go besides mail: a Slack incoming webhook of
    # the team's own channel. Never sent to subscribers. Sent through apps.core.http.
    staff_slack_url = models.URLField(
        "Staff Slack webhook URL", max_length=500, blank=True, default="", db_default=""
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"Notification settings of {self.organization_id}"

    @classmethod
    def for_org(cls, organization) -> NotificationSettings:
        """The organization's settings (unsaved defaults when it has no row yet)."""
        found = cls.objects.filter(organization=organization).first()
        return found or cls(organization=organization)
