"""Sending pre-rendered messages over an open SMTP connection, pipelined when the server allows.

smtplib's `sendmail` waits for the server after each of MAIL, RCPT, DATA and the message: four
round trips a message. Servers that advertise PIPELINING (RFC 2920: Postfix, Exim, the big
providers' relays) take MAIL, RCPT and DATA in one write and answer them together, so a
message costs two round trips, and fewer system calls on both sides. The replies are checked
in order, exactly as `sendmail` would; a message counts as accepted only on the server's 250
after its content, so a failure anywhere leaves the delivery unsent (and retried), never
marked sent by mistake. Without PIPELINING, or for anything unusual, `sendmail` does the work.
"""

from __future__ import annotations

import contextlib
import re
import smtplib

CRLF = b"\r\n"
# RFC 5321 §4.5.2 transparency: a line starting with "." gets another one.
LEADING_DOT = re.compile(rb"(?m)^\.")


def content_for_data(message: bytes) -> bytes:
    """The bytes to send after 354: dot-stuffed, CRLF-terminated, then the lone "."."""
    stuffed = LEADING_DOT.sub(b"..", message)
    if not stuffed.endswith(CRLF):
        stuffed += CRLF
    return stuffed + b"." + CRLF


class Sender:
    """Sends one message at a time on `smtp` (an smtplib.SMTP that has said EHLO)."""

    def __init__(self, smtp: smtplib.SMTP, from_address: str) -> None:
        smtp.ehlo_or_helo_if_needed()
        self.smtp = smtp
        self.from_address = from_address
        self.pipelining = bool(smtp.does_esmtp and smtp.has_extn("pipelining"))
        self.announce_size = bool(smtp.does_esmtp and smtp.has_extn("size"))
        self.eight_bit = bool(smtp.does_esmtp and smtp.has_extn("8bitmime"))

    def send(self, recipient: str, message: bytes) -> None:
        """Returns once the server accepted the message; raises smtplib's exceptions else
        (SMTPRecipientsRefused for a refused address: the connection stays usable)."""
        options = []
        if self.announce_size:
            options.append(f"SIZE={len(message)}")
        if not message.isascii():
            # UTF-8 text parts are sent as 8-bit (Django's default): say so where the server
            # understands it (RFC 6152), as sendmail would be told with mail_options.
            if not self.eight_bit:
                self.smtp.sendmail(self.from_address, [recipient], message)
                return
            options.append("BODY=8BITMIME")
        if not self.pipelining or not recipient.isascii() or not self.from_address.isascii():
            self.smtp.sendmail(self.from_address, [recipient], message, mail_options=options)
            return
        envelope = "".join(f" {option}" for option in options)
        self.smtp.send(
            f"MAIL FROM:<{self.from_address}>{envelope}\r\n"
            f"RCPT TO:<{recipient}>\r\nDATA\r\n".encode("ascii")
        )
        mail = self.smtp.getreply()
        rcpt = self.smtp.getreply()
        data = self.smtp.getreply()
        if data[0] == 354:
            # The server is waiting for content: after a refused MAIL or RCPT (which a
            # conforming server answers with 503/554 here instead) send none, just the end.
            accepted = mail[0] == 250 and rcpt[0] in (250, 251)
            self.smtp.send(content_for_data(message) if accepted else b"." + CRLF)
            final = self.smtp.getreply()
        else:
            final = None
        if any(reply[0] == 421 for reply in (mail, rcpt, data, final or (0, b""))):
            self.smtp.close()
            raise smtplib.SMTPServerDisconnected("The server closed the connection (421).")
        if mail[0] != 250:
            self._reset()
            raise smtplib.SMTPSenderRefused(mail[0], mail[1], self.from_address)
        if rcpt[0] not in (250, 251):
            self._reset()
            raise smtplib.SMTPRecipientsRefused({recipient: rcpt})
        if data[0] != 354:
            self._reset()
            raise smtplib.SMTPDataError(data[0], data[1])
        if final is None or final[0] != 250:
            self._reset()
            code, text = final or (data[0], data[1])
            raise smtplib.SMTPDataError(code, text)

    def _reset(self) -> None:
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            self.smtp.rset()
