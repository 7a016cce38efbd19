"""A tiny SMTP sink on 127.0.0.1 (stdlib only; aiosmtpd is not installed).

Speaks enough SMTP for smtplib and Django's SMTP backend: EHLO/HELO, MAIL, RCPT, DATA, RSET,
NOOP, QUIT, and BDAT when `chunking` is on (RFC 3030). Every accepted message is kept
(recipients and raw bytes). `delay` slows each message's acceptance down, to stretch a run for
fault tests. Also used by benchmarks/notifications_fanout.py.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import socketserver
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from multiprocessing.connection import Connection


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
    # Advertise RFC 2920 PIPELINING (commands are read line by line either way).
    pipelining: bool = True
    # Advertise RFC 3030 CHUNKING (BDAT), as Postfix 3.4+, Exim, Gmail and Exchange Online do.
    chunking: bool = False
    # Advertise RFC 6531 SMTPUTF8 (internationalized addresses).
    smtputf8: bool = True
    # Addresses refused at RCPT with 550.
    refuse: set[str] = field(default_factory=set)
    # Messages to these addresses are rejected after their content (554).
    reject_content: set[str] = field(default_factory=set)
    # After this many messages accepted on one connection, the next command gets 421 and the
    # connection closes (providers cap messages per session).
    close_after: int | None = None
    # Connections after this many are greeted with 421 and closed.
    max_sessions: int | None = None
    # Session number (1 = the first connection) -> messages it accepts before it stops
    # answering (a hung server: it reads on, never replies, until the client hangs up).
    hang_sessions: dict[int, int] = field(default_factory=dict)
    sessions: int = 0
    # A counter shared with another process (SinkProcess), bumped with every accepted message.
    shared_count: object = None

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def recipients(self) -> list[str]:
        with self.lock:
            return [r for m in self.messages for r in m.recipients]


class _Handler(socketserver.BaseRequestHandler):
    """One SMTP session. Replies are held until the sink is about to wait for more input and
    then sent in one write (RFC 2920 §3.1), so pipelined commands get their replies together
    and a client that waits for each reply gets it at once."""

    server: SMTPSink

    def setup(self) -> None:
        self.pending: list[bytes] = []
        self.buffer = b""
        self.position = 0

    def reply(self, line: str) -> None:
        self.pending.append(line.encode("ascii") + b"\r\n")

    def receive(self) -> bool:
        """Send the replies held so far (the client may be waiting for them), then wait for
        more input; False once the client hung up."""
        if self.pending:
            self.request.sendall(b"".join(self.pending))
            self.pending.clear()
        chunk = self.request.recv(1 << 16)
        if not chunk:
            return False
        self.buffer = self.buffer[self.position :] + chunk
        self.position = 0
        return True

    def readline(self) -> bytes:
        while (end := self.buffer.find(b"\n", self.position)) < 0:
            if not self.receive():
                return b""
        line = self.buffer[self.position : end + 1]
        self.position = end + 1
        return line

    def read_data(self) -> bytes | None:
        """The message after DATA, up to CRLF "." CRLF, with dot-stuffing undone."""
        while True:
            if self.buffer.startswith(b".\r\n", self.position):
                self.position += 3
                return b""
            end = self.buffer.find(b"\r\n.\r\n", self.position)
            if end >= 0:
                content = self.buffer[self.position : end + 2]
                self.position = end + 5
                if content.startswith(b".."):
                    content = content[1:]
                return content.replace(b"\r\n..", b"\r\n.")
            if not self.receive():
                return None

    def read_exactly(self, size: int) -> bytes | None:
        """The `size` bytes after a BDAT command (None if the client hung up first)."""
        while len(self.buffer) - self.position < size:
            if not self.receive():
                return None
        data = self.buffer[self.position : self.position + size]
        self.position += size
        return data

    def finish(self) -> None:
        if self.pending:
            with contextlib.suppress(OSError):
                self.request.sendall(b"".join(self.pending))

    @staticmethod
    def bdat_arguments(line: str) -> tuple[int, bool]:
        words = line.split()
        return int(words[1]), len(words) > 2 and words[2].upper() == "LAST"

    def end_message(
        self, sender: str, recipients: list[str], content: bytes, *, hang: bool
    ) -> bool | None:
        """What the server does with a whole message (after DATA's "." or BDAT LAST): True
        accepted (250), False rejected (554), None hung: the replies to the messages before it
        go out (a pipelined group holds several), then it never answers again."""
        if hang:
            self.finish()
            self.pending.clear()
            while self.request.recv(1 << 16):
                pass  # hung: the message is never accepted
            return None
        if set(recipients) & self.server.state.reject_content:
            self.reply("554 5.7.1 Message rejected")
            return False
        self.accept(sender, recipients, content)
        self.reply("250 OK queued")
        return True

    def accept(self, sender: str, recipients: list[str], content: bytes) -> None:
        state = self.server.state
        if state.delay:
            time.sleep(state.delay)
        with state.lock:
            state.messages.append(Accepted(sender, list(recipients), content))
            if state.shared_count is not None:
                with state.shared_count.get_lock():
                    state.shared_count.value += 1

    def handle(self) -> None:
        state = self.server.state
        with state.lock:
            state.sessions += 1
            sessions = state.sessions
        if state.max_sessions is not None and sessions > state.max_sessions:
            self.reply("421 4.7.0 Too many sessions, try again later")
            return
        self.reply("220 sink.localhost ESMTP ready")
        sender, recipients = "", []
        accepted_here = 0
        chunks: list[bytes] = []  # BDAT chunks of the message being received
        while True:
            raw = self.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if state.close_after is not None and accepted_here >= state.close_after:
                self.reply("421 4.3.2 Too many messages in this session")
                return
            if verb == "EHLO":
                self.reply("250-sink.localhost")
                if self.server.state.pipelining:
                    self.reply("250-PIPELINING")
                if self.server.state.chunking:
                    self.reply("250-CHUNKING")
                if self.server.state.smtputf8:
                    self.reply("250-SMTPUTF8")
                self.reply("250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 sink.localhost")
            elif verb == "MAIL":
                sender, recipients = line.split(":", 1)[1].strip().split()[0].strip("<>"), []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipient = line.split(":", 1)[1].strip().split()[0].strip("<>")
                if recipient in self.server.state.refuse:
                    self.reply("550 5.1.1 No such mailbox")
                    continue
                recipients.append(recipient)
                self.reply("250 OK")
            elif verb == "BDAT" and state.chunking:
                size, last = self.bdat_arguments(line)
                chunk = self.read_exactly(size)
                if chunk is None:
                    return  # the client hung up before the end of the message: not accepted
                if not recipients:
                    # RFC 3030 §2: the chunk is read and discarded, the transaction failed.
                    chunks.clear()
                    self.reply("554 5.5.1 No valid recipients")
                    continue
                chunks.append(chunk)
                if not last:
                    self.reply("250 OK chunk received")
                    continue
                content = b"".join(chunks)
                chunks.clear()
                hang = accepted_here >= state.hang_sessions.get(sessions, accepted_here + 1)
                accepted = self.end_message(sender, recipients, content, hang=hang)
                if accepted is None:
                    return
                accepted_here += accepted
                sender, recipients = "", []
            elif verb == "DATA" and not recipients:
                self.reply("554 5.5.1 No valid recipients")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                content = self.read_data()
                if content is None:
                    return  # the client hung up before the end of the message: not accepted
                hang = accepted_here >= state.hang_sessions.get(sessions, accepted_here + 1)
                accepted = self.end_message(sender, recipients, content, hang=hang)
                if accepted is None:
                    return
                accepted_here += accepted
                sender, recipients = "", []
            elif verb == "RSET":
                sender, recipients = "", []
                chunks.clear()
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
    request_queue_size = 128  # socketserver's 5 would drop connections in a burst

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


def _serve_in_child(control: Connection, shared_count, delay: float, chunking: bool) -> None:
    sink = SMTPSink()
    sink.state.shared_count = shared_count
    sink.state.delay = delay
    sink.state.chunking = chunking
    with sink:
        control.send(sink.port)
        while True:
            request = control.recv()
            if request == "recipients":
                control.send(sink.state.recipients())
            else:
                return


class SinkProcess:
    """The same sink in a process of its own, as a real mail server is: it does not share a
    GIL with the code that drives a benchmark or with the clients it is measured against.
    Forked, so call it before opening database connections. `state.count()` and
    `state.recipients()` answer as SMTPSink's do."""

    def __init__(self, delay: float = 0.0, *, chunking: bool = False) -> None:
        context = multiprocessing.get_context("fork")
        self._control, child_end = context.Pipe()
        self._count = context.Value("q", 0)
        self._process = context.Process(
            target=_serve_in_child, args=(child_end, self._count, delay, chunking), daemon=True
        )
        self.port = 0

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def state(self) -> SinkProcess:
        return self

    def count(self) -> int:
        return self._count.value

    def recipients(self) -> list[str]:
        self._control.send("recipients")
        return self._control.recv()

    def __enter__(self) -> SinkProcess:
        self._process.start()
        self.port = self._control.recv()
        return self

    def __exit__(self, *exc) -> None:
        self._control.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
