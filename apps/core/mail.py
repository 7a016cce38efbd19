"""Mail printed on the terminal for people to read (the default when EMAIL_URL is not set).

Django's console backend prints the raw MIME message: quoted-printable text, base64 parts and
the HTML alternative, where a link is hard to find and often broken across lines. Under
`make run` the terminal is where sign-up links, invitations and subscriber mail are read, so
this backend prints who, what and the text part, then every link on a line of its own.
Account, invitation and subscriber mail (apps.notifications sends through Django's mail
connection when the backend is not SMTP) all come through here.
"""

from __future__ import annotations

import html
import re
from email.message import EmailMessage as PythonEmailMessage

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend

RULE = "-" * 72
# A URL in plain text ends at whitespace, or at punctuation that closes a sentence around it.
TEXT_URL = re.compile(r"https?://[^\s<>\"')\]]+[^\s<>\"')\].,;:!?]")
HREF = re.compile(r"""href\s*=\s*["'](https?://[^"']+)["']""", re.IGNORECASE)


def links_in(message: EmailMessage) -> list[str]:
    """Every http(s) link of the message, text part first, each once, in order."""
    found = TEXT_URL.findall(str(message.body or ""))
    for content, mimetype in getattr(message, "alternatives", None) or []:
        if mimetype == "text/html" and isinstance(content, str):
            found += [html.unescape(url) for url in HREF.findall(content)]
    return list(dict.fromkeys(found))


def readable(message: EmailMessage) -> str:
    lines = [
        RULE,
        f"From:    {message.from_email}",
        f"To:      {', '.join(message.to)}",
    ]
    if message.cc:
        lines.append(f"Cc:      {', '.join(message.cc)}")
    lines += [f"Subject: {message.subject}", ""]
    body = message.body
    if isinstance(body, PythonEmailMessage):  # not expected from Candor; shown as text
        body = body.get_content()
    if not str(body or "").strip() and isinstance(message, EmailMultiAlternatives):
        body = "(HTML only; its links are below.)"
    lines += [str(body).rstrip(), ""]
    links = links_in(message)
    if links:
        lines += ["Links:", *(f"  {url}" for url in links)]
    lines += [RULE, ""]  # a blank line before the next message's rule
    return "\n".join(lines) + "\n"


class EmailBackend(DjangoConsoleBackend):
    """Prints From, To, Subject and the text part of each message, then its links."""

    def write_message(self, message: EmailMessage) -> None:
        self.stream.write(readable(message))
