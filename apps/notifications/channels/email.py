"""Subscriber mail: a few SMTP connections per batch (or one provider connection), one thread
per subject.

Headers per shared/reference/delivery-notes.md §2.1:
- From: the organization's name at the notifications address (apart from account mail);
- Message-ID stable per (event, subscriber), so a resend after a crash is the same message;
  In-Reply-To/References point at the thread's root id (Discourse's pattern; the renderer
  names the thread, an incident's for incident mail), so mail clients keep one thread each;
- Subject: from the renderer (incidents: `[Organization] Status: Incident name`);
- List-Unsubscribe (HTTPS, opaque token) + List-Unsubscribe-Post (RFC 8058 one-click), List-Id.

Every mail is written in its subscriber's language (`Subscriber.language`, read through
`i18n.supported`): an event's mail is built and rendered once per language of the batch, inside
`translation.override`, subject included.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Callable, Sequence
from email.utils import formataddr
from typing import Any, TypeVar

from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address
from django.db import DatabaseError
from django.db.models import Model
from django.db.models.base import ModelState
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from apps.core import i18n
from apps.core.validators import strip_control_characters

from .. import conf, ledger, registry, tokens
from ..models import Delivery, NotificationEvent, Subscriber
from . import smtp, smtp_pool
from .base import Batch

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=Model)

# Values that appear verbatim in the MIME bytes (ASCII, no spaces or characters that headers
# or an 8-bit body would encode), so they can be substituted into a pre-rendered message.
SUBSTITUTABLE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.@:<>\[\]-]{1,900}$")
PLACEHOLDER_TO = "subscriber-address@placeholder.invalid"
PLACEHOLDER_MESSAGE_ID = "<message-id-placeholder@placeholder.invalid>"
PLACEHOLDER_UNSUBSCRIBE = "https://placeholder.invalid/unsubscribe-link-placeholder/"
PLACEHOLDER_MANAGE = "https://placeholder.invalid/manage-link-placeholder/"
PLACEHOLDERS = re.compile(
    b"("
    + b"|".join(
        re.escape(p.encode())
        for p in (
            PLACEHOLDER_TO,
            PLACEHOLDER_MESSAGE_ID,
            PLACEHOLDER_UNSUBSCRIBE,
            PLACEHOLDER_MANAGE,
        )
    )
    + b")"
)


def thread_root_id(thread: str) -> str:
    return f"<{thread}@{conf.message_id_domain()}>"


def header_text(text: str) -> str:
    """Text for a mail header (Subject, From's name, List-Id): one line, without control
    characters. Input refuses those (apps/core/validators.py); a row stored before the rule
    must still not put an escape sequence into a header."""
    return " ".join(strip_control_characters(text).split())


def list_name(organization_name: str) -> str:
    """The name as a quoted-string phrase: one line, without quotes or backslashes."""
    return header_text(organization_name.replace('"', "").replace("\\", ""))


def from_header(organization_name: str) -> str:
    # formataddr quotes and RFC 2047-encodes the name (commas, non-ASCII) correctly.
    return formataddr((header_text(organization_name), conf.from_address()))


class EventMail:
    """Everything about one event's mail in one language that does not depend on the
    subscriber: the kind's renderer (apps.notifications.registry) says what it reads; this
    class makes it a message. Built, and its templates rendered, under `language`."""

    def __init__(self, event: NotificationEvent, language: str = settings.LANGUAGE_CODE) -> None:
        self.event = event
        self.language = i18n.supported(language)
        self.organization = event.organization
        self.base_url = self.organization.public_url
        with translation.override(self.language):
            rendered = registry.renderer_for(event).mail(event)
            # str() now: a lazy subject must not be read later in another language.
            self.subject = header_text(str(rendered.subject))
            # Translators: the mailing list's name in mail headers (List-Id), e.g. "Acme status".
            default_label = _("%(organization)s status") % {
                "organization": list_name(self.organization.name)
            }
            self.list_label = str(rendered.list_label or default_label)
        self.thread = rendered.thread
        self.text_template = rendered.text_template
        self.html_template = rendered.html_template
        self.context: dict[str, Any] = rendered.context
        self.links = rendered.links
        self._raw_template: list[bytes] | None = None
        self._raw_slots: list[tuple[int, int]] = []
        self._message_id_prefix = self._message_id_suffix = ""

    def message_id(self, subscriber: Subscriber) -> str:
        return self._message_id_for(subscriber.public_id)

    def _message_id_for(self, subscriber_public_id: str) -> str:
        domain = conf.message_id_domain()
        if self.thread is not None:
            return f"<{self.thread}/{self.event.public_id}.{subscriber_public_id}@{domain}>"
        return f"<event/{self.event.public_id}.{subscriber_public_id}@{domain}>"

    def message(self, subscriber: Subscriber, connection=None) -> EmailMultiAlternatives:
        if self.links is not None:
            unsubscribe_url, manage_url = self.links(subscriber)
        else:
            unsubscribe_url = tokens.unsubscribe_url(subscriber, self.base_url)
            manage_url = tokens.manage_url(subscriber, self.base_url)
        return self._build(
            to=subscriber.email,
            message_id=self.message_id(subscriber),
            unsubscribe_url=unsubscribe_url,
            manage_url=manage_url,
            subscriber=subscriber,
            connection=connection,
        )

    def _build(
        self,
        *,
        to: str,
        message_id: str,
        unsubscribe_url: str,
        manage_url: str,
        subscriber: Subscriber | None = None,
        connection=None,
    ) -> EmailMultiAlternatives:
        context = {
            **self.context,
            "subscriber": subscriber,
            "unsubscribe_url": unsubscribe_url,
            "manage_url": manage_url,
            "language": self.language,
        }
        headers = {
            "Message-ID": message_id,
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f'"{list_name(self.list_label)}" '
            f"<{self.organization.slug}.{conf.message_id_domain()}>",
            "Auto-Submitted": "auto-generated",
        }
        if self.thread is not None:
            root = thread_root_id(self.thread)
            headers["In-Reply-To"] = root
            headers["References"] = root
        with translation.override(self.language):
            text = render_to_string(self.text_template, context)
            html = render_to_string(self.html_template, context)
        message = EmailMultiAlternatives(
            subject=self.subject,
            body=text,
            from_email=from_header(self.organization.name),
            to=[to],
            headers=headers,
            connection=connection,
        )
        message.attach_alternative(html, "text/html")
        return message

    def raw_message(self, subscriber: Subscriber) -> bytes | None:
        """The message as SMTP bytes, from a rendering made once per event.

        Rendering and MIME-encoding each of 10,000 messages costs more than sending them, and
        only the address, Message-ID and the two links differ. None when a value could be
        changed by MIME encoding (non-ASCII address, unusual URL): the caller then builds the
        message normally.
        """
        if self.links is not None:
            return None  # the emitting app's own links: built message by message
        if self._raw_template is None:
            self._raw_template = self._split_template()
        if not self._raw_template:
            return None
        token = tokens.make_token(subscriber)  # one HMAC for both links
        values = (
            subscriber.email,
            f"{self.base_url}unsubscribe/{token}/",
            f"{self.base_url}manage/{token}/",
            f"{self._message_id_prefix}{subscriber.public_id}{self._message_id_suffix}",
        )
        match = SUBSTITUTABLE.match
        if not (match(values[0]) and match(values[1]) and match(values[2]) and match(values[3])):
            return None
        # The pre-split template with the four values put in their places: one join, no pass
        # over the whole message.
        encoded = [value.encode("ascii") for value in values]
        parts = self._raw_template.copy()
        for index, value in self._raw_slots:
            parts[index] = encoded[value]
        return b"".join(parts)

    def _split_template(self) -> list[bytes]:
        """The event's message rendered once with placeholders, split around them: literal
        bytes at even indexes, placeholder names at odd ones. Empty when placeholders could be
        split by a transfer encoding (quoted-printable or base64 parts, for very long lines):
        this event's mail is then built message by message."""
        raw = (
            self._build(
                to=PLACEHOLDER_TO,
                message_id=PLACEHOLDER_MESSAGE_ID,
                unsubscribe_url=PLACEHOLDER_UNSUBSCRIBE,
                manage_url=PLACEHOLDER_MANAGE,
            )
            .message()
            .as_bytes(linesep="\r\n")
        )
        if b"quoted-printable" in raw.lower() or b"base64" in raw.lower():
            return []
        parts = PLACEHOLDERS.split(raw)
        # Odd indexes hold placeholders: where each of raw_message's four values goes.
        order = [
            PLACEHOLDER_TO,
            PLACEHOLDER_UNSUBSCRIBE,
            PLACEHOLDER_MANAGE,
            PLACEHOLDER_MESSAGE_ID,
        ]
        self._raw_slots = [
            (index, order.index(parts[index].decode("ascii"))) for index in range(1, len(parts), 2)
        ]
        # message_id() around the subscriber's public id, worked out once.
        marker = "SUBSCRIBER-PUBLIC-ID"
        prefix, _, suffix = self._message_id_for(marker).partition(marker)
        self._message_id_prefix, self._message_id_suffix = prefix, suffix
        return parts


# Servers may end a session after so many messages (421) or drop it: a connection is opened
# again and goes on with what was not confirmed, this many times.
RECONNECTS = 3
# A connection beyond the first is worth opening (TCP, TLS, authentication) for this many
# messages of the batch: a batch of 10 uses one connection, a batch of 1,000 the full pool.
MESSAGES_PER_EXTRA_CONNECTION = 100


def send_batch(delivery_ids: Sequence[int], *, owner: str) -> list[int]:
    """Send the batch's deliveries: over a few SMTP connections at once (Django's SMTP
    backend), or one by one through another mail backend (a provider's API via anymail).
    Returns ids handed over (time budget)."""
    batch = Batch(delivery_ids, owner=owner)
    if not batch.claimed:
        return []
    rows = load_rows(batch.claimed)
    connection = get_connection(fail_silently=False)
    marker = ledger.sent_marker()
    try:
        if isinstance(connection, SMTPBackend):
            _send_over_smtp(batch, rows, marker)
        else:
            _send_through_backend(batch, rows, connection, marker)
    finally:
        marker.close()  # every accepted delivery is marked before the task returns
    return batch.left_over


class _Mails:
    """Each event's EventMail per language, built once per batch (in the task's thread: it may
    query). A batch of one language builds (and pre-renders) each event's mail once, as before;
    each further language of the batch costs one more."""

    def __init__(self) -> None:
        self.by_event: dict[tuple[int, str], EventMail] = {}
        # Stored code -> the language we render it in (supported() maps an unknown one to
        # English): worked out once per distinct code, not per delivery.
        self.languages: dict[str, str] = {}

    def __call__(self, delivery: Delivery) -> EventMail:
        stored = delivery.subscriber.language
        language = self.languages.get(stored)
        if language is None:
            language = self.languages[stored] = i18n.supported(stored)
        key = (delivery.event_id, language)
        mail = self.by_event.get(key)
        if mail is None:
            mail = self.by_event[key] = EventMail(delivery.event, language)
        return mail


def _prepare(
    delivery: Delivery, mails: _Mails, build: Callable[[EventMail, Subscriber], Any]
) -> Any:
    """`build(mail, subscriber)` for one delivery, or None after recording why it cannot be sent (an
    inactive subscriber is skipped; a message that cannot be built fails alone)."""
    if not delivery.subscriber.is_active:
        ledger.mark_skipped([delivery.pk], "Unsubscribed, unconfirmed or disabled.")
        return None
    try:
        return build(mails(delivery), delivery.subscriber)
    except DatabaseError:
        raise  # the task's autoretry handles a database hiccup
    except registry.SubjectGone as exc:
        ledger.mark_skipped([delivery.pk], str(exc))
        return None
    except Exception as exc:
        # One message that cannot be built (an odd address, say) must not hold up the rest of
        # the batch: it fails on its own and follows the retry schedule.
        logger.exception("Could not build delivery %s", delivery.pk)
        ledger.record_failure(delivery, f"{type(exc).__name__}: {exc}")
        return None


def smtp_bytes(mail: EventMail, subscriber: Subscriber) -> tuple[str, bytes]:
    """(envelope recipient, message bytes) for one subscriber: completed from the event's
    pre-rendered message when its values allow, else built and encoded as Django's SMTP
    backend would (sanitize_address, CRLF line ends)."""
    raw = mail.raw_message(subscriber)
    if raw is not None:
        return subscriber.email, raw
    message = mail.message(subscriber)
    encoding = message.encoding or settings.DEFAULT_CHARSET
    recipient = sanitize_address(subscriber.email, encoding)
    return recipient, message.message().as_bytes(linesep="\r\n")


def _connect_smtp() -> smtp_pool.Connection:
    """A new connection through Django's SMTP backend (host, TLS, credentials, timeout from
    settings) with a pipelined session on it. Runs on the pool's helper thread: no database
    here."""
    backend = get_connection(fail_silently=False)
    backend.open()
    if backend.connection is None:  # pragma: no cover (open() raises with fail_silently off)
        raise smtplib.SMTPServerDisconnected("The mail backend opened no connection.")
    try:
        session = smtp.Session(backend.connection, conf.from_address())
    except BaseException:
        _close_quietly(backend)
        raise
    return smtp_pool.Connection(session, backend.close)


def _send_over_smtp(batch: Batch, rows: list[Delivery], marker: ledger.Marker) -> None:
    """Send the batch's messages over a pool of SMTP connections and record every outcome,
    all in this thread (smtp_pool drives the connections from here): messages are built just
    ahead of the connections that will send them, at most two a connection are unconfirmed,
    and a killed worker resends at most those plus the marks not yet written."""
    size = max(1, min(conf.smtp_connections(), -(-len(rows) // MESSAGES_PER_EXTRA_CONNECTION)))
    mails = _Mails()
    dispatched: dict[int, Delivery] = {}
    position = 0

    def take() -> smtp_pool.Message | None:
        nonlocal position
        while position < len(rows):
            # Checked only once something was handed over, so every batch makes progress.
            if position and batch.out_of_time():
                batch.hand_over(rows[position:])
                position = len(rows)
                return None
            delivery = rows[position]
            position += 1
            prepared = _prepare(delivery, mails, smtp_bytes)
            if prepared is not None:
                dispatched[delivery.pk] = delivery
                recipient, content = prepared
                return smtp_pool.Message(delivery.pk, recipient, content)
        return None

    def settle(item: smtp_pool.Result) -> None:
        delivery = dispatched.pop(item.key)
        if item.lost is not None:
            ledger.record_failure(delivery, item.lost)
        elif item.error is None:
            marker.mark(delivery.pk)
        elif isinstance(item.error, smtplib.SMTPRecipientsRefused):
            ledger.record_failure(delivery, f"Address refused: {item.error}", permanent=True)
        else:
            ledger.record_failure(delivery, f"Mail server refused it: {item.error}")

    pool = smtp_pool.Pool(
        size,
        _connect_smtp,
        messages_per_connection=conf.smtp_messages_per_connection(),
        reconnects=RECONNECTS,
    )
    error = pool.run(take, settle)
    if error is not None:
        # Every connection gave up: the rest waits for the retry schedule.
        _fail_from(rows, position, error)


def _fail_from(rows: list[Delivery], index: int, error: str) -> None:
    for delivery in rows[index:]:
        ledger.record_failure(delivery, error)


def _send_through_backend(
    batch: Batch, rows: list[Delivery], connection: Any, marker: ledger.Marker
) -> None:
    """One message at a time through a mail backend that is not SMTP (django-anymail's
    providers): normal EmailMessages, each marked once the backend accepted it."""
    mails = _Mails()
    try:
        connection.open()
    except Exception as exc:
        for delivery in rows:
            ledger.record_failure(delivery, f"Could not connect to the mail server: {exc}")
        return
    try:
        for index, delivery in enumerate(rows):
            if index and batch.out_of_time():
                batch.hand_over(rows[index:])
                return
            message = _prepare(
                delivery, mails, lambda mail, subscriber: mail.message(subscriber, connection)
            )
            if message is None:
                continue
            try:
                accepted = connection.send_messages([message])
            except (smtplib.SMTPRecipientsRefused, AnymailRecipientsRefused) as exc:
                ledger.record_failure(delivery, f"Address refused: {exc}", permanent=True)
            except AnymailError as exc:
                if isinstance(exc, OSError):
                    _fail_from(rows, index, f"Mail server error: {exc}")
                    return
                # The provider refused this one message (invalid payload, its own rules): it
                # fails alone and follows the retry schedule.
                ledger.record_failure(delivery, f"Mail provider refused it: {exc}")
            except (smtplib.SMTPException, OSError) as exc:
                # The backend's connection or the provider's API is gone: this message and the
                # rest wait for the retry schedule.
                _fail_from(rows, index, f"Mail server error: {exc}")
                return
            else:
                if accepted:
                    marker.mark(delivery.pk)
                else:
                    ledger.record_failure(delivery, "The mail backend did not accept the message.")
    finally:
        _close_quietly(connection)


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # closing a broken connection must not undo the marks above
        logger.warning("Closing the mail connection failed", exc_info=True)


SUBSCRIBER_FIELDS = (
    "id",
    "organization_id",
    "public_id",
    "channel",
    "email",
    "manage_nonce",
    "state",
    "confirmed_at",
    "language",
)


DELIVERY_FIELDS = (
    "id",
    "organization_id",
    "event_id",
    "subscriber_id",
    "channel",
    "status",
    "attempts",
)


def load_rows(delivery_ids: Sequence[int]) -> list[Delivery]:
    """The batch's deliveries with the subscriber fields mail needs, and each event once.

    `Batch.rows()` joins the event and organization onto every row: for 500 rows of one event
    that was a fifth of the batch's time spent building the same objects. The rows come as
    tuples and become instances without Model.__init__ (see `_loaded`): building 2,000
    instances the ORM's way was a quarter of an email batch's CPU.
    """
    queryset = (
        Delivery.objects.filter(ledger.id_in(delivery_ids))
        .order_by("id")
        .values_list(*DELIVERY_FIELDS, *(f"subscriber__{name}" for name in SUBSCRIBER_FIELDS))
    )
    values = list(queryset)
    events = NotificationEvent.objects.select_related("organization").in_bulk(
        {row[DELIVERY_FIELDS.index("event_id")] for row in values}
    )
    split = len(DELIVERY_FIELDS)
    rows = []
    for row in values:
        delivery = _loaded(Delivery, DELIVERY_FIELDS, row[:split], queryset.db)
        cached = delivery._state.fields_cache
        cached["subscriber"] = _loaded(Subscriber, SUBSCRIBER_FIELDS, row[split:], queryset.db)
        cached["event"] = events[delivery.event_id]
        rows.append(delivery)
    return rows


def _loaded(model: type[ModelT], names: Sequence[str], values: Sequence[Any], db: str) -> ModelT:
    """An instance of `model` with the given fields loaded from the database, as
    `Model.from_db` with `.only(names)` makes it (the other fields deferred: read on access),
    minus Model.__init__'s per-field descriptor walk and its pre/post_init signals (no
    receiver for Delivery or Subscriber)."""
    instance = model.__new__(model)
    instance.__dict__.update(zip(names, values, strict=True))
    state = instance._state = ModelState()
    state.adding = False
    state.db = db
    return instance


# --- one-off mail (not batched) -------------------------------------------------------------


def _send_to_subscriber(
    subscriber: Subscriber,
    *,
    subject: Callable[[], str],
    template: str,
    links: dict[str, str],
) -> None:
    """A one-off mail to one subscriber: text and HTML from `template`.txt/.html, with the
    organization, its page and `links` in the context, all in the subscriber's language.

    These are sent by a task (the worker's language is English) or, in tests, during the
    reader's request (the page's language): either way their stored language decides.
    `subject` is called inside it."""
    organization = subscriber.organization
    language = i18n.supported(subscriber.language)
    context = {
        "organization": organization,
        "page_url": organization.public_url,
        "language": language,
        **links,
    }
    with translation.override(language):
        message = EmailMultiAlternatives(
            subject=header_text(subject()),
            body=render_to_string(f"{template}.txt", context),
            from_email=from_header(organization.name),
            to=[subscriber.email],
            headers={"Auto-Submitted": "auto-generated"},
        )
        message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    message.send()


def send_confirmation(subscriber: Subscriber) -> None:
    """Double opt-in: the only mail an unconfirmed address ever gets."""
    name = subscriber.organization.name
    _send_to_subscriber(
        subscriber,
        subject=lambda: (
            _("Confirm your subscription to %(organization)s status updates")
            % {"organization": name}
        ),
        template="notifications/email/confirm",
        links={"confirm_url": tokens.confirm_url(subscriber)},
    )


def send_already_subscribed(subscriber: Subscriber) -> None:
    """Someone asked to subscribe an address that already is: say so, with its manage link."""
    name = subscriber.organization.name
    _send_to_subscriber(
        subscriber,
        subject=lambda: (
            _("You are already subscribed to %(organization)s status updates")
            % {"organization": name}
        ),
        template="notifications/email/already_subscribed",
        links={"manage_url": tokens.manage_url(subscriber)},
    )


def send_disabled_notice(subscriber: Subscriber) -> None:
    """A webhook or Slack subscription stopped after repeated failures: its owner is told, in
    their language, at the failure-notice address."""
    organization = subscriber.organization
    language = i18n.supported(subscriber.language)
    context = {
        "organization": organization,
        "subscriber": subscriber,
        "page_url": organization.public_url,
        "manage_url": tokens.manage_url(subscriber),
        "language": language,
    }
    with translation.override(language):
        if subscriber.channel == Subscriber.Channel.SLACK:
            subject = _("Your Slack subscription to %(organization)s status was disabled")
        else:
            subject = _("Your Webhook subscription to %(organization)s status was disabled")
        message = EmailMultiAlternatives(
            subject=header_text(subject % {"organization": organization.name}),
            body=render_to_string("notifications/email/disabled.txt", context),
            from_email=from_header(organization.name),
            to=[subscriber.email],
            headers={"Auto-Submitted": "auto-generated"},
        )
    message.send()


__all__ = [
    "Delivery",
    "EventMail",
    "send_already_subscribed",
    "send_batch",
    "send_confirmation",
    "send_disabled_notice",
]
