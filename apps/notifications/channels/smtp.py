"""Sending pre-rendered messages over an open SMTP connection, pipelined when the server allows.

smtplib's `sendmail` waits for the server after each of MAIL, RCPT, DATA and the message: four
round trips a message. Servers that advertise PIPELINING (RFC 2920: Postfix, Exim, the big
providers' relays) read commands in groups, and "the actual transfer of message content is
explicitly allowed to be the first command in a group" (§3.1). So once the server has said 354
for a message, its content goes out in one write together with the next message's MAIL, RCPT
and DATA, and the four replies come back together: one round trip a message, as Postfix's own
client does.

Servers that also advertise CHUNKING (RFC 3030: Postfix 3.4 and later, Exim, Gmail, Exchange
Online) take a message's content with BDAT, which needs no 354 first: a message is then RSET,
MAIL, RCPT and "BDAT <size> LAST" followed by its bytes (no dot-stuffing), and up to
`CHUNKED_GROUP` messages go out in one write, their replies read together. A client on
loopback spends most of a message's CPU on the system calls and wake-ups of its round trip:
one write and one read per group instead of per message. RSET first makes every transaction
start clean whatever became of the one before it (a refused address, a rejected message)
while the rest of the group was already on its way; it costs one reply line, no round trip.

A message counts as accepted only on the server's 250 after its content. Replies are matched
to messages in order; each message's result is handed back as an `Outcome` once its last reply
has been read (one message later than it was submitted), so the caller marks a delivery sent
only after the provider accepted it. A refused recipient or a rejected message fails alone and
the session goes on; a broken connection raises, and every message whose result was not handed
back is unconfirmed (the caller retries them: at-least-once). Without PIPELINING, or for an
address that needs SMTPUTF8, `sendmail` does the work message by message.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Hashable
from dataclasses import dataclass

CRLF = b"\r\n"
# RFC 5321 §4.5.2 transparency: a line starting with "." gets another one.
LEADING_DOT = re.compile(rb"(?m)^\.")
Reply = tuple[int, bytes]
# Messages written together with BDAT (CHUNKING): each write and read then serves this many.
# A connection that fails loses at most this many unconfirmed messages (sent again: see
# smtp_pool), against two with DATA.
CHUNKED_GROUP = 5


def content_for_data(message: bytes) -> bytes:
    """The bytes to send after 354: dot-stuffed, CRLF-terminated, then the lone "."."""
    stuffed = message
    if message.startswith(b".") or b"\n." in message:
        stuffed = LEADING_DOT.sub(b"..", message)
    if not stuffed.endswith(CRLF):
        stuffed += CRLF
    return stuffed + b"." + CRLF


@dataclass(frozen=True)
class Outcome:
    key: Hashable
    # None: the server accepted the message. Else why not (SMTPRecipientsRefused for a refused
    # address, SMTPSenderRefused or SMTPDataError for a refused transaction or message).
    error: smtplib.SMTPException | None = None


@dataclass(frozen=True)
class _Chunked:
    """A message sent whole with BDAT: four replies due (RSET, MAIL, RCPT, BDAT)."""

    recipient: str


@dataclass
class _Waiting:
    """A message the server said 354 for: its content goes out with the next command group."""

    key: Hashable
    content: bytes


class Session:
    """Sends messages on `smtp` (an open smtplib.SMTP), pipelining across messages when the
    server advertises PIPELINING. `submit()` and `finish()` return the outcomes known so far;
    both raise smtplib.SMTPException or OSError when the connection fails: `drain()` then
    returns the outcomes learnt before the failure, and every other submitted message must be
    treated as not sent."""

    def __init__(self, smtp: smtplib.SMTP, from_address: str) -> None:
        smtp.ehlo_or_helo_if_needed()
        self.smtp = smtp
        self.from_address = from_address
        esmtp = bool(smtp.does_esmtp)
        self.pipelining = esmtp and bool(smtp.has_extn("pipelining"))
        self.announce_size = esmtp and bool(smtp.has_extn("size"))
        self.eight_bit = esmtp and bool(smtp.has_extn("8bitmime"))
        self.chunking = self.pipelining and bool(smtp.has_extn("chunking"))
        # Messages the caller may begin before it reads their replies (see CHUNKED_GROUP).
        self.group_size = CHUNKED_GROUP if self.chunking else 1
        self.waiting: _Waiting | None = None
        self.outcomes: list[Outcome] = []
        # Commands and content `begin` queued for one write (BDAT only): `flush()` sends them.
        self.outbox: list[bytes] = []
        # Replies `begin`/`begin_finish` made due, in order: (key, None) for the reply to a
        # message's content, (key, (recipient, message)) for MAIL, RCPT and DATA, and
        # (key, _Chunked) for a message sent whole with BDAT.
        self.expected: list[tuple[Hashable, tuple[str, bytes] | _Chunked | None]] = []

    def drain(self) -> list[Outcome]:
        outcomes, self.outcomes = self.outcomes, []
        return outcomes

    def submit(self, key: Hashable, recipient: str, message: bytes) -> list[Outcome]:
        if self.begin(key, recipient, message):
            return self.collect()
        return self.drain()

    def replies_due(self) -> bool:
        return bool(self.expected)

    def flush(self) -> None:
        """Write what `begin` queued (BDAT messages), in one write."""
        if self.outbox:
            data = b"".join(self.outbox)
            self.outbox.clear()
            self.smtp.send(data)

    def finish(self) -> list[Outcome]:
        """Send the content still waiting, if any, and return its outcome (and those of
        messages begun with BDAT and not collected yet)."""
        if self.begin_finish() or self.expected:
            return self.collect()
        return self.drain()

    def begin(self, key: Hashable, recipient: str, message: bytes) -> bool:
        """The first half of `submit`: write the waiting content (if any) and this message's
        MAIL, RCPT and DATA in one write, without reading the replies. True when replies are
        due (`collect()` reads them, once the socket is readable); False when the message went
        out at once without pipelining (its outcome is in `drain()`). With CHUNKING the
        message is queued whole and `flush()` (or `collect()`) writes it: up to `group_size`
        messages may be begun before their replies are read."""
        options = []
        if self.announce_size:
            options.append(f"SIZE={len(message)}")
        if not message.isascii() and self.eight_bit:
            # UTF-8 text parts are sent as 8-bit (Django's default): say so where the server
            # understands it (RFC 6152).
            options.append("BODY=8BITMIME")
        if not (self.pipelining and recipient.isascii() and self.from_address.isascii()):
            if self.begin_finish() or self.expected:
                # Every reply due is read before sendmail starts its own; the outcomes stay
                # for drain(), with this message's.
                collected = self.collect()  # (drain() replaces the list: read it first)
                self.outcomes.extend(collected)
            if not (recipient.isascii() and self.from_address.isascii()):
                # An internationalized address (RFC 6531): smtplib then speaks UTF-8, or
                # raises SMTPNotSupportedError if the server cannot take it.
                options.append("SMTPUTF8")
            self.outcomes.append(self._sendmail(key, recipient, message, options))
            return False
        envelope = "".join(f" {option}" for option in options)
        if self.chunking:
            # Ended with CRLF as DATA's content is: the server stores the same bytes either way.
            content = message if message.endswith(CRLF) else message + CRLF
            self.outbox.append(
                f"RSET\r\nMAIL FROM:<{self.from_address}>{envelope}\r\nRCPT TO:<{recipient}>"
                f"\r\nBDAT {len(content)} LAST\r\n".encode("ascii")
            )
            self.outbox.append(content)
            self.expected.append((key, _Chunked(recipient)))
            return True
        group = (
            f"MAIL FROM:<{self.from_address}>{envelope}\r\n"
            f"RCPT TO:<{recipient}>\r\nDATA\r\n".encode("ascii")
        )
        previous, self.waiting = self.waiting, None
        if previous is not None:
            self.smtp.send(previous.content + group)
            self.expected.append((previous.key, None))
        else:
            self.smtp.send(group)
        self.expected.append((key, (recipient, message)))
        return True

    def begin_finish(self) -> bool:
        """The first half of `finish`: write the waiting content; True when its reply is due."""
        previous, self.waiting = self.waiting, None
        if previous is None:
            return False
        self.smtp.send(previous.content)
        self.expected.append((previous.key, None))
        return True

    def collect(self) -> list[Outcome]:
        """Read the replies `begin`/`begin_finish` made due (blocking until they came) and
        return the outcomes known so far."""
        self.flush()
        expected, self.expected = self.expected, []
        for key, envelope in expected:
            if envelope is None:
                self.outcomes.append(self._after_content(key, self._reply()))
            elif isinstance(envelope, _Chunked):
                self.outcomes.append(self._after_chunked(key, envelope.recipient))
            else:
                self._after_envelope(key, *envelope)
        return self.drain()

    def _after_chunked(self, key: Hashable, recipient: str) -> Outcome:
        # RSET's reply says nothing about this message; MAIL's, RCPT's and BDAT's decide. A
        # server discards the content of a transaction it refused (RFC 3030 §2) and answers
        # its BDAT with an error; the next message's RSET starts over.
        _reset, mail, rcpt, bdat = self._reply(), self._reply(), self._reply(), self._reply()
        if mail[0] != 250:
            return Outcome(key, smtplib.SMTPSenderRefused(*mail, self.from_address))
        if rcpt[0] not in (250, 251):
            return Outcome(key, smtplib.SMTPRecipientsRefused({recipient: rcpt}))
        if bdat[0] != 250:
            return Outcome(key, smtplib.SMTPDataError(*bdat))
        return Outcome(key)

    def _after_envelope(self, key: Hashable, recipient: str, message: bytes) -> None:
        mail, rcpt, data = self._reply(), self._reply(), self._reply()
        accepted = mail[0] == 250 and rcpt[0] in (250, 251)
        if data[0] == 354 and accepted:
            self.waiting = _Waiting(key, content_for_data(message))
            return
        if data[0] == 354:
            # A server that wants content after refusing MAIL or RCPT (a conforming one
            # answers DATA with 503/554 instead): end the empty message at once.
            self.smtp.send(b"." + CRLF)
            self._reply()
        if not accepted or data[0] != 354:
            self._reset()
        if mail[0] != 250:
            error: smtplib.SMTPException = smtplib.SMTPSenderRefused(*mail, self.from_address)
        elif rcpt[0] not in (250, 251):
            error = smtplib.SMTPRecipientsRefused({recipient: rcpt})
        else:
            error = smtplib.SMTPDataError(*data)
        self.outcomes.append(Outcome(key, error))

    def _after_content(self, key: Hashable, final: Reply) -> Outcome:
        # After the end of data the transaction is over whatever the reply: no reset needed.
        if final[0] == 250:
            return Outcome(key)
        return Outcome(key, smtplib.SMTPDataError(*final))

    def _sendmail(self, key: Hashable, recipient: str, message: bytes, options) -> Outcome:
        try:
            self.smtp.sendmail(self.from_address, [recipient], message, mail_options=options)
        except (
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPSenderRefused,
            smtplib.SMTPDataError,
            smtplib.SMTPNotSupportedError,  # SMTPUTF8 needed and not offered: this one fails
        ) as exc:
            if self.smtp.sock is None:  # smtplib closed the connection (a 421)
                raise
            return Outcome(key, exc)
        return Outcome(key)

    def _reply(self) -> Reply:
        code, text = self.smtp.getreply()
        if code == 421:  # the server is closing the connection (RFC 5321 §3.8)
            self.smtp.close()
            raise smtplib.SMTPServerDisconnected(f"The server closed the connection: {text!r}")
        return code, text

    def _reset(self) -> None:
        code, text = self.smtp.docmd("RSET")
        if code != 250:
            raise smtplib.SMTPResponseException(code, text)
