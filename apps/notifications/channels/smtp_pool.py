"""A few SMTP connections per email batch, all driven from the batch's own thread.

One pipelined session (channels/smtp.py) still waits one round trip per message: the server
has to say 354 before the content may follow (RFC 2920 §3.1). On loopback that wait is mostly
the scheduler waking two processes; with several sessions at once their waits overlap. The
sessions are driven by one loop in the batch's task thread (`poll` on their sockets): each
connection writes its next message as soon as the replies to the previous one came back, and
the loop reads the replies of whichever connection answered first. No thread per connection:
handing every message and every outcome between threads through queues (and the GIL between
them) cost more CPU than the SMTP work itself, and on a busy machine the time follows the CPU
(docs/benchmarks.md, issue 13). The database stays in the same thread: `take()` builds each
message (while the server works on the previous ones, so that a connection whose replies came
back writes again at once), `settle()` records each outcome. Only opening and closing
connections (TCP, TLS, authentication, QUIT: round trips with nothing to overlap) run on a
small thread pool, so a connection being replaced does not stop the others.

Each connection:
- ends the session politely (QUIT) after `messages_per_connection` messages, and a new one is
  opened when there is more to send, so a provider's per-session cap is never hit (SocketLabs
  allows 50, ReachMail's relay 25, SendGrid 5,000; see docs/notifications.md);
- when the server drops the session or does not answer within the socket's timeout, reports
  what the server confirmed, gives the messages it did not confirm back (sent again first, on
  whichever connection is free) and opens a new session, up to `reconnects` times; then it
  fails its unconfirmed messages (the retry schedule takes them) and stops, the others go on;
- when it cannot connect at all, stops; the others take the rest.
At most two messages per connection are unconfirmed at any time (one whose content waits to
travel with the next command group, one whose replies are due); with BDAT (a server offering
CHUNKING), up to smtp.CHUNKED_GROUP, written together. A message counts as sent only on the
server's 250 after its content.
"""

from __future__ import annotations

import logging
import math
import select
import smtplib
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from . import smtp

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    key: Hashable
    recipient: str
    content: bytes


@dataclass(frozen=True)
class Result:
    """What became of one message: `error` None when the server accepted it, an
    smtplib.SMTPException when it refused this message (the session went on), or `lost` (a
    str) when the connection failed before the server confirmed it."""

    key: Hashable
    error: smtplib.SMTPException | None = None
    lost: str | None = None


class Connection:
    """One open SMTP connection and its pipelined session (`open` and `close` are given by the
    caller: Django's SMTP backend does TLS, authentication and timeouts)."""

    def __init__(self, session: smtp.Session, close: Callable[[], None]) -> None:
        self.session = session
        self.close = close

    def fileno(self) -> int:
        sock = self.session.smtp.sock
        if sock is None:  # smtplib closed it (a 421): never selected, the slot is lost first
            raise smtplib.SMTPServerDisconnected("The connection is closed.")
        return sock.fileno()

    def timeout(self) -> float | None:
        sock = self.session.smtp.sock
        return None if sock is None else sock.gettimeout()


class _Slot:
    """One of the pool's connections over the batch: opened, replaced, given up."""

    def __init__(self) -> None:
        self.connection: Connection | None = None
        self.opening: Future[Connection] | None = None
        self.in_flight: dict[Hashable, Message] = {}  # written, not yet confirmed
        self.sent = 0  # messages on the current connection
        self.failures = 0
        self.due_since: float | None = None  # replies are due since then (monotonic)
        self.rotating = False  # its share is sent: closed once its last reply came
        self.stopped = False

    def fileno(self) -> int:
        assert self.connection is not None
        return self.connection.fileno()

    def group_size(self) -> int:
        return 1 if self.connection is None else self.connection.session.group_size


class Pool:
    """Up to `size` SMTP connections, driven from the caller's thread by `run()`."""

    def __init__(
        self,
        size: int,
        connect: Callable[[], Connection],
        *,
        messages_per_connection: int,
        reconnects: int,
    ) -> None:
        self.size = size
        self.connect = connect
        self.messages_per_connection = messages_per_connection
        self.reconnects = reconnects
        self.slots = [_Slot() for _ in range(size)]
        self.again: deque[Message] = deque()  # taken and not sent yet, or sent and lost: first
        self.exhausted = False
        self.error: str | None = None

    def run(
        self, take: Callable[[], Message | None], settle: Callable[[Result], None]
    ) -> str | None:
        """Send every message `take()` gives until it gives None, and hand each outcome to
        `settle()` as soon as it is known; both are called from this thread only. Returns None
        once everything taken was settled; else why every connection gave up (every message
        taken was settled, the unsent ones as lost, and `take()` is not called again)."""
        self._take = take
        self._settle = settle
        self.helpers = ThreadPoolExecutor(self.size, thread_name_prefix="smtp-connect")
        try:
            for slot in self.slots:
                if self._has_work():
                    self._open(slot)
            self._loop()
        finally:
            for slot in self.slots:
                if slot.opening is not None:
                    slot.opening.add_done_callback(_close_when_opened)
                self._close(slot)
            self.helpers.shutdown(wait=True)
        if all(slot.stopped for slot in self.slots):
            error = self.error or "Could not connect to the mail server."
            while self.again:
                self._settle(Result(self.again.popleft().key, lost=error))
            return error
        return None

    # --- the loop, in the caller's thread ----------------------------------------------------

    def _loop(self) -> None:
        while True:
            live = [slot for slot in self.slots if not slot.stopped]
            if not live:
                return
            for slot in live:
                if slot.opening is not None and slot.opening.done():
                    self._opened(slot)
            for slot in live:
                if slot.connection is not None and slot.due_since is None:
                    self._next(slot)
            due = [slot for slot in live if slot.due_since is not None]
            opening = [slot.opening for slot in live if slot.opening is not None]
            if due:
                # While the server works, build the messages the answering connections will
                # send next: a connection whose replies came back writes again at once.
                self._build_ahead(sum(slot.group_size() for slot in due))
                ready = self._answered(due, self._wait_time(due, bool(opening)))
                for slot in ready:
                    self._collect(slot)
                self._time_out(slot for slot in due if slot not in ready)
            elif opening:
                wait(opening, return_when=FIRST_COMPLETED)
            elif not any(slot.connection is not None for slot in live):
                if not self._has_work():
                    return
                self._open(next(slot for slot in live if slot.connection is None))

    def _answered(self, due: list[_Slot], wait_time: float | None) -> list[_Slot]:
        """The connections among `due` with replies (or an error) to read, waiting up to
        `wait_time` seconds (None: until one has). poll, not select: no limit on the file
        descriptor's number in a long-lived worker process."""
        poller = select.poll()
        by_fd = {slot.fileno(): slot for slot in due}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        timeout = None if wait_time is None else max(0, math.ceil(wait_time * 1000))
        return [by_fd[fd] for fd, _ in poller.poll(timeout)]

    def _wait_time(self, due: list[_Slot], opening: bool) -> float | None:
        """How long poll may wait: until the first due reply times out; briefly while a
        connection is being opened (its future has no file descriptor to wait on)."""
        limits = [0.005] if opening else []
        now = time.monotonic()
        for slot in due:
            timeout = slot.connection.timeout() if slot.connection is not None else None
            if timeout is not None and slot.due_since is not None:
                limits.append(max(0.0, slot.due_since + timeout - now))
        return min(limits) if limits else None

    def _time_out(self, waiting: Iterable[_Slot]) -> None:
        now = time.monotonic()
        for slot in waiting:
            if slot.connection is None or slot.due_since is None:
                continue
            timeout = slot.connection.timeout()
            if timeout is not None and now - slot.due_since >= timeout:
                self._lost(slot, TimeoutError("timed out"))

    def _build_ahead(self, count: int) -> None:
        while len(self.again) < count and not self.exhausted:
            message = self._take()
            if message is None:
                self.exhausted = True
            else:
                self.again.append(message)

    def _has_work(self) -> bool:
        if self.again:
            return True
        if self.exhausted:
            return False
        message = self._take()
        if message is None:
            self.exhausted = True
            return False
        self.again.append(message)
        return True

    def _next(self, slot: _Slot) -> None:
        """An open connection with no reply due: its next step."""
        assert slot.connection is not None
        if slot.rotating:
            # Its share is sent and confirmed: QUIT, and a new session if more is to be sent.
            self._close(slot)
            if self._has_work():
                self._open(slot)
            return
        session = slot.connection.session
        try:
            if not self._has_work():
                if session.begin_finish():
                    slot.due_since = time.monotonic()
                    slot.rotating = True  # closed once the last content is confirmed
                else:
                    self._close(slot)
                return
            # One message, or with BDAT (CHUNKING) up to the session's group in one write.
            begun = 0
            while begun < session.group_size and not self._share_sent(slot):
                if begun and not self._has_work():
                    break
                message = self.again.popleft()
                slot.in_flight[message.key] = message
                slot.sent += 1
                begun += 1
                if not session.begin(message.key, message.recipient, message.content):
                    # Sent at once without pipelining: it and every reply due before it were
                    # read (its outcome and theirs are in drain()).
                    self._report(slot, session.drain())
            session.flush()
            if session.replies_due():
                slot.due_since = time.monotonic()
            if self._share_sent(slot):
                slot.rotating = True
                if slot.due_since is None and session.begin_finish():
                    slot.due_since = time.monotonic()
        except (smtplib.SMTPException, OSError) as exc:
            self._lost(slot, exc)

    def _share_sent(self, slot: _Slot) -> bool:
        return bool(self.messages_per_connection) and slot.sent >= self.messages_per_connection

    def _collect(self, slot: _Slot) -> None:
        assert slot.connection is not None
        session = slot.connection.session
        slot.due_since = None
        try:
            self._report(slot, session.collect())
            if slot.rotating and session.begin_finish():
                # The share's last content goes out alone: its reply is due.
                slot.due_since = time.monotonic()
        except (smtplib.SMTPException, OSError) as exc:
            self._lost(slot, exc)

    def _report(self, slot: _Slot, outcomes: list[smtp.Outcome]) -> None:
        for outcome in outcomes:
            slot.in_flight.pop(outcome.key)
            self._settle(Result(outcome.key, outcome.error))

    def _lost(self, slot: _Slot, cause: BaseException) -> None:
        """The session failed: report what it confirmed; send the rest again or fail it."""
        assert slot.connection is not None
        self._report(slot, slot.connection.session.drain())
        unconfirmed = list(slot.in_flight.values())
        slot.in_flight.clear()
        self._close(slot)
        slot.failures += 1
        if slot.failures > self.reconnects:
            reason = f"Mail server error: {cause}"
            for message in unconfirmed:
                self._settle(Result(message.key, lost=reason))
            self._stop(slot, reason)
            return
        logger.info("Mail server ended the session (%s); opening a new one", cause)
        self.again.extendleft(reversed(unconfirmed))
        if self._has_work():
            self._open(slot)

    # --- opening and closing, on the helper threads ------------------------------------------

    def _open(self, slot: _Slot) -> None:
        slot.sent = 0
        slot.opening = self.helpers.submit(self.connect)

    def _opened(self, slot: _Slot) -> None:
        assert slot.opening is not None
        opening, slot.opening = slot.opening, None
        try:
            slot.connection = opening.result()
        except (smtplib.SMTPException, OSError) as exc:
            # This connection could not be had (a cap on sessions, the server down): the
            # others may still have theirs and take the rest.
            self._stop(slot, f"Could not connect to the mail server: {exc}")
        except Exception as exc:  # a bug or bad settings: this connection gives up, as above
            logger.exception("Opening an SMTP connection failed")
            self._stop(slot, f"{type(exc).__name__}: {exc}")

    def _close(self, slot: _Slot) -> None:
        connection, slot.connection = slot.connection, None
        slot.due_since = None
        slot.rotating = False
        if connection is not None:
            self.helpers.submit(_close_quietly, connection)

    def _stop(self, slot: _Slot, error: str) -> None:
        slot.stopped = True
        self.error = error


def _close_when_opened(opening: Future[Connection]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        _close_quietly(opening.result())


def _close_quietly(connection: Connection) -> None:
    try:
        connection.close()
    except Exception:  # closing a broken connection must not undo what was reported
        logger.warning("Closing the mail connection failed", exc_info=True)
