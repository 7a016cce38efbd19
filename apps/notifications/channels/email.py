"""Subscriber mail: one SMTP (or provider) connection per batch, one thread per subject.

Headers per shared/reference/delivery-notes.md §2.1:
- From: the organization's name at the notifications address (apart from account mail);
- Message-ID stable per (event, subscriber), so a resend after a crash is the same message;
  In-Reply-To/References point at the thread's root id (Discourse's pattern; the renderer
  names the thread, an incident's for incident mail), so mail clients keep one thread each;
- Subject: from the renderer (incidents: `[Organization] Status: Incident name`);
- List-Unsubscribe (HTTPS, opaque token) + List-Unsubscribe-Post (RFC 8058 one-click), List-Id.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Sequence
from email.utils import formataddr
from typing import Any

from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import DatabaseError
from django.template.loader import render_to_string

from apps.core.validators import strip_control_characters

from .. import conf, ledger, registry, tokens
from ..models import Delivery, NotificationEvent, Subscriber
from . import smtp
from .base import Batch

logger = logging.getLogger(__name__)

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
    """Everything about one event's mail that does not depend on the subscriber: the kind's
    renderer (apps.notifications.registry) says what it reads; this class makes it a message."""

    def __init__(self, event: NotificationEvent) -> None:
        self.event = event
        self.organization = event.organization
        self.base_url = self.organization.public_url
        rendered = registry.renderer_for(event).mail(event)
        self.subject = header_text(rendered.subject)
        self.thread = rendered.thread
        self.text_template = rendered.text_template
        self.html_template = rendered.html_template
        self.context: dict[str, Any] = rendered.context
        self.links = rendered.links
        self.list_label = rendered.list_label or f"{list_name(self.organization.name)} status"
        self._raw_template: list[bytes] | None = None

    def message_id(self, subscriber: Subscriber) -> str:
        domain = conf.message_id_domain()
        if self.thread is not None:
            return f"<{self.thread}/{self.event.public_id}.{subscriber.public_id}@{domain}>"
        return f"<event/{self.event.public_id}.{subscriber.public_id}@{domain}>"

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
        message = EmailMultiAlternatives(
            subject=self.subject,
            body=render_to_string(self.text_template, context),
            from_email=from_header(self.organization.name),
            to=[to],
            headers=headers,
            connection=connection,
        )
        message.attach_alternative(render_to_string(self.html_template, context), "text/html")
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
        token = tokens.make_token(subscriber)  # one HMAC for both links
        unsubscribe = f"{self.base_url}unsubscribe/{token}/"
        manage = f"{self.base_url}manage/{token}/"
        message_id = self.message_id(subscriber)
        values = (subscriber.email, unsubscribe, manage, message_id)
        if not all(SUBSTITUTABLE.match(value) for value in values):
            return None
        if self._raw_template is None:
            self._raw_template = self._split_template()
        if not self._raw_template:
            return None
        substitutes = {
            PLACEHOLDER_UNSUBSCRIBE: unsubscribe,
            PLACEHOLDER_MANAGE: manage,
            PLACEHOLDER_MESSAGE_ID: message_id,
            PLACEHOLDER_TO: subscriber.email,
        }
        # One join over the pre-split template instead of four passes over the whole message.
        return b"".join(
            part if index % 2 == 0 else substitutes[part.decode("ascii")].encode("ascii")
            for index, part in enumerate(self._raw_template)
        )

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
        return PLACEHOLDERS.split(raw)


# Servers may end a session after so many messages (421) or drop it: a batch opens a new
# connection and goes on with what was not confirmed, this many times.
RECONNECTS = 3


def send_batch(delivery_ids: Sequence[int], *, owner: str) -> list[int]:
    """Send the batch's deliveries over one connection (a new one if the server ends it).
    Returns ids handed over (time budget)."""
    batch = Batch(delivery_ids, owner=owner)
    if not batch.claimed:
        return []
    rows = load_rows(batch.claimed)
    mails: dict[int, EventMail] = {}
    connection = get_connection(fail_silently=False)
    marker = ledger.sent_marker()
    in_flight: dict[int, Delivery] = {}  # submitted to the session, outcome not known yet
    done: set[int] = set()

    def settle(outcomes: list[smtp.Outcome]) -> None:
        for outcome in outcomes:
            delivery = in_flight.pop(outcome.key)
            done.add(delivery.pk)
            if outcome.error is None:
                marker.mark(delivery.pk)
            elif isinstance(outcome.error, smtplib.SMTPRecipientsRefused):
                error = f"Address refused: {outcome.error}"
                ledger.record_failure(delivery, error, permanent=True)
            else:
                ledger.record_failure(delivery, f"Mail server refused it: {outcome.error}")

    def send(todo: list[Delivery], session: smtp.Session | None, first: bool) -> None:
        for index, delivery in enumerate(todo):
            # Checked only once something was sent, so every batch makes progress.
            if (index or not first) and batch.out_of_time():
                if session is not None:
                    settle(session.finish())
                batch.hand_over(todo[index:])
                done.update(d.pk for d in todo[index:])
                return
            subscriber = delivery.subscriber
            if not subscriber.is_active:
                ledger.mark_skipped([delivery.pk], "Unsubscribed, unconfirmed or disabled.")
                done.add(delivery.pk)
                continue
            try:
                mail = mails.get(delivery.event_id)
                if mail is None:
                    mail = mails[delivery.event_id] = EventMail(delivery.event)
                raw = mail.raw_message(subscriber) if session is not None else None
                message = mail.message(subscriber, connection) if raw is None else None
            except DatabaseError:
                raise  # the task's autoretry handles a database hiccup
            except registry.SubjectGone as exc:
                ledger.mark_skipped([delivery.pk], str(exc))
                done.add(delivery.pk)
                continue
            except Exception as exc:
                # One message that cannot be built (an odd address, say) must not hold up the
                # rest of the batch: it fails on its own and follows the retry schedule.
                logger.exception("Could not build delivery %s", delivery.pk)
                ledger.record_failure(delivery, f"{type(exc).__name__}: {exc}")
                done.add(delivery.pk)
                continue
            if session is not None and raw is not None:
                in_flight[delivery.pk] = delivery
                settle(session.submit(delivery.pk, subscriber.email, raw))
                continue
            if session is not None:
                settle(session.finish())  # the connection is needed in step for this one
            try:
                accepted = connection.send_messages([message])
            except (smtplib.SMTPRecipientsRefused, AnymailRecipientsRefused) as exc:
                accepted = None
                ledger.record_failure(delivery, f"Address refused: {exc}", permanent=True)
            except AnymailError as exc:
                if isinstance(exc, OSError):
                    raise  # the provider's API cannot be reached: handled like a lost connection
                # The provider refused this one message (invalid payload, its own rules): it
                # fails alone and follows the retry schedule.
                accepted = None
                ledger.record_failure(delivery, f"Mail provider refused it: {exc}")
            else:
                if accepted:
                    marker.mark(delivery.pk)
                else:
                    error = "The mail backend did not accept the message."
                    ledger.record_failure(delivery, error)
            done.add(delivery.pk)
        if session is not None:
            settle(session.finish())

    def fail_the_rest(error: str) -> None:
        for delivery in rows:
            if delivery.pk not in done:
                ledger.record_failure(delivery, error)
                done.add(delivery.pk)

    try:
        for attempt in range(RECONNECTS + 1):
            todo = [delivery for delivery in rows if delivery.pk not in done]
            if not todo:
                break
            session: smtp.Session | None = None
            try:
                connection.open()
                # Django's SMTP backend: pre-rendered bytes go straight onto its connection.
                # Any other backend (a provider's API via django-anymail) gets EmailMessages.
                if isinstance(connection, SMTPBackend) and connection.connection is not None:
                    session = smtp.Session(connection.connection, conf.from_address())
            except (smtplib.SMTPException, OSError) as exc:
                fail_the_rest(f"Could not connect to the mail server: {exc}")
                break
            try:
                send(todo, session, first=attempt == 0)
                break
            except (smtplib.SMTPException, OSError) as exc:
                # The connection is gone: what the server confirmed counts; the messages it
                # did not confirm go again, on a new connection or with a later retry.
                if session is not None:
                    settle(session.drain())
                in_flight.clear()
                _close_quietly(connection)
                if attempt == RECONNECTS or batch.out_of_time():
                    fail_the_rest(f"Mail server error: {exc}")
                    break
                logger.info("Mail server ended the session (%s); opening a new one", exc)
    finally:
        _close_quietly(connection)
        marker.close()  # every accepted delivery is marked before the task returns
    return batch.left_over


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
)


def load_rows(delivery_ids: Sequence[int]) -> list[Delivery]:
    """The batch's deliveries with the subscriber fields mail needs, and each event once.

    `Batch.rows()` joins the event and organization onto every row: for 500 rows of one event
    that was a fifth of the batch's time spent building the same objects.
    """
    rows = list(
        Delivery.objects.filter(pk__in=list(delivery_ids))
        .select_related("subscriber")
        .only(
            "id",
            "organization_id",
            "event_id",
            "subscriber_id",
            "channel",
            "status",
            "attempts",
            *(f"subscriber__{name}" for name in SUBSCRIBER_FIELDS),
        )
        .order_by("id")
    )
    events = NotificationEvent.objects.select_related("organization").in_bulk(
        {delivery.event_id for delivery in rows}
    )
    for delivery in rows:
        delivery.event = events[delivery.event_id]
    return rows


# --- one-off mail (not batched) -------------------------------------------------------------


def _send_to_subscriber(
    subscriber: Subscriber, *, subject: str, template: str, links: dict[str, str]
) -> None:
    """A one-off mail to one subscriber: text and HTML from `template`.txt/.html, with the
    organization, its page and `links` in the context."""
    organization = subscriber.organization
    context = {"organization": organization, "page_url": organization.public_url, **links}
    message = EmailMultiAlternatives(
        subject=header_text(subject),
        body=render_to_string(f"{template}.txt", context),
        from_email=from_header(organization.name),
        to=[subscriber.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    message.send()


def send_confirmation(subscriber: Subscriber) -> None:
    """Double opt-in: the only mail an unconfirmed address ever gets."""
    _send_to_subscriber(
        subscriber,
        subject=f"Confirm your subscription to {subscriber.organization.name} status updates",
        template="notifications/email/confirm",
        links={"confirm_url": tokens.confirm_url(subscriber)},
    )


def send_already_subscribed(subscriber: Subscriber) -> None:
    """Someone asked to subscribe an address that already is: say so, with its manage link."""
    _send_to_subscriber(
        subscriber,
        subject=f"You are already subscribed to {subscriber.organization.name} status updates",
        template="notifications/email/already_subscribed",
        links={"manage_url": tokens.manage_url(subscriber)},
    )


def send_disabled_notice(subscriber: Subscriber) -> None:
    organization = subscriber.organization
    context = {
        "organization": organization,
        "subscriber": subscriber,
        "page_url": organization.public_url,
        "manage_url": tokens.manage_url(subscriber),
    }
    EmailMultiAlternatives(
        subject=header_text(
            f"Your {subscriber.get_channel_display()} subscription to "
            f"{organization.name} status was disabled"
        ),
        body=render_to_string("notifications/email/disabled.txt", context),
        from_email=from_header(organization.name),
        to=[subscriber.email],
        headers={"Auto-Submitted": "auto-generated"},
    ).send()


__all__ = [
    "Delivery",
    "EventMail",
    "send_already_subscribed",
    "send_batch",
    "send_confirmation",
    "send_disabled_notice",
]
