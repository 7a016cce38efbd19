"""A tiny SMTP sink on 127.0.0.1 (stdlib only; aiosmtpd is not installed).

Speaks enough SMTP for smtplib and Django's SMTP backend: EHLO/HELO, MAIL, RCPT, DATA, RSET,
NOOP, QUIT. Every accepted message is kept (recipients and raw bytes). `delay` slows each DATA
answer down, to stretch a run for fault tests. Also used by benchmarks/notifications_fanout.py.
"""

from __future__ import annotations

import socketserver
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message


@dataclass
class Accepted:
    sender: str
    recipients: list[str]
    data: bytes

    def message(self) -> Message:
        return message_from_bytes(self.data)


@dataclass
class SinkState:
    messages: list[Accepted] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay: float = 0.0

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def recipients(self) -> list[str]:
        with self.lock:
            return [r for m in self.messages for r in m.recipients]


class _Handler(socketserver.StreamRequestHandler):
    server: SMTPSink

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        self.reply("220 sink.localhost ESMTP ready")
        sender, recipients = "", []
        while True:
            raw = self.rfile.readline(65536)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-sink.localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                self.wfile.flush()
            elif verb == "HELO":
                self.reply("250 sink.localhost")
            elif verb == "MAIL":
                sender, recipients = line.split(":", 1)[1].strip().split()[0].strip("<>"), []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(line.split(":", 1)[1].strip().split()[0].strip("<>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                chunks = []
                while True:
                    part = self.rfile.readline(1 << 20)
                    if not part or part in (b".\r\n", b".\n"):
                        break
                    chunks.append(part[1:] if part.startswith(b"..") else part)
                if self.server.state.delay:
                    time.sleep(self.server.state.delay)
                with self.server.state.lock:
                    self.server.state.messages.append(
                        Accepted(sender, list(recipients), b"".join(chunks))
                    )
                self.reply("250 OK queued")
                sender, recipients = "", []
            elif verb == "RSET":
                sender, recipients = "", []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")


class SMTPSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.state = SinkState()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def __enter__(self) -> SMTPSink:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
