"""A few SMTP connections per email batch, each driven by a thread that only speaks SMTP.

One pipelined session (channels/smtp.py) still waits one round trip per message: the server
has to say 354 before the content may follow (RFC 2920 §3.1). On loopback that wait is mostly
the scheduler waking two processes, and it is what kept one batch at about half the machine:
with several sessions at once their waits overlap. The batch's task thread stays the only one
that touches the database: it builds each message, hands (key, recipient, bytes) to the pool
through a queue, and reads every outcome back from another queue to write it to the ledger
(webhook batches are split the same way, channels/webhook.py).

Each sender thread takes the next message from the shared queue (a slow or broken connection
does not hold up the others' messages), keeps its own connection, and:
- ends the session politely (QUIT) after `messages_per_connection` messages and opens a new
  one, so a provider's per-session cap is never hit (SocketLabs allows 50, ReachMail's relay
  25, SendGrid 5,000; see docs/notifications.md);
- when the server drops the session or times out, reports what the server confirmed, sends
  the messages it did not confirm again on a new connection, up to `reconnects` times, and then
  fails those messages (the retry schedule takes them) and stops taking new ones: what is left
  in the queue goes to the other connections;
- when it cannot connect at all, puts its messages back for the other connections and stops.
A message counts as sent only on the server's 250 after its content.
"""

from __future__ import annotations

import logging
import queue
import smtplib
import threading
from collections.abc import Callable, Hashable
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


@dataclass(frozen=True)
class Stopped:
    """A sender thread ended; `error` says why when it gave up (else it ran out of work)."""

    error: str | None = None


_STOP = object()


class Connection:
    """One open SMTP connection and its pipelined session (`open` and `close` are given by the
    caller: Django's SMTP backend does TLS, authentication and timeouts)."""

    def __init__(self, session: smtp.Session, close: Callable[[], None]) -> None:
        self.session = session
        self.close = close


class Pool:
    """`size` sender threads over one work queue. `put()` hands a message over, `results` is
    where outcomes come back (Result per message, one Stopped per thread), `stop()` tells the
    threads no more work is coming; they finish what they hold, then end."""

    def __init__(
        self,
        size: int,
        connect: Callable[[], Connection],
        *,
        messages_per_connection: int,
        reconnects: int,
    ) -> None:
        self.connect = connect
        self.messages_per_connection = messages_per_connection
        self.reconnects = reconnects
        self.work: queue.Queue = queue.Queue()
        self.results: queue.Queue = queue.Queue()
        self.alive = size
        self.threads = [
            threading.Thread(target=self._run, name=f"smtp-sender-{n}", daemon=True)
            for n in range(size)
        ]
        for thread in self.threads:
            thread.start()

    def put(self, message: Message) -> None:
        self.work.put(message)

    def stop(self) -> None:
        for _ in self.threads:
            self.work.put(_STOP)

    def join(self) -> None:
        for thread in self.threads:
            thread.join()

    def unsent(self) -> list[Message]:
        """Messages still queued once every thread ended (all gave up): never handed out."""
        left = []
        while True:
            try:
                item = self.work.get_nowait()
            except queue.Empty:
                return left
            if item is not _STOP:
                left.append(item)

    # --- sender threads ---------------------------------------------------------------------

    def _take(self) -> Message | None:
        item = self.work.get()
        return None if item is _STOP else item

    def _run(self) -> None:
        error: str | None = None
        try:
            error = self._send_all()
        except BaseException as exc:  # never leave the batch waiting for a Stopped
            logger.exception("SMTP sender thread failed")
            error = f"{type(exc).__name__}: {exc}"
        finally:
            self.results.put(Stopped(error))

    def _send_all(self) -> str | None:
        carried: list[Message] = []  # not confirmed by a session that failed: sent again first
        failures = 0
        while True:
            if not carried:
                first = self._take()
                if first is None:
                    return None
                carried = [first]
            try:
                connection = self.connect()
            except (smtplib.SMTPException, OSError) as exc:
                # This connection could not be had (a cap on sessions, the server down): the
                # other senders may still have theirs, so the messages go back to the queue.
                for message in carried:
                    self.work.put(message)
                return f"Could not connect to the mail server: {exc}"
            try:
                carried, more = self._send_on(connection, carried)
            except _Lost as lost:
                failures += 1
                carried = lost.unconfirmed
                _close_quietly(connection)
                if failures > self.reconnects:
                    reason = f"Mail server error: {lost.cause}"
                    for message in carried:
                        self.results.put(Result(message.key, lost=reason))
                    return reason
                logger.info("Mail server ended the session (%s); opening a new one", lost.cause)
                continue
            _close_quietly(connection)
            if not more:
                return None

    def _send_on(self, connection: Connection, first: list[Message]) -> tuple[list[Message], bool]:
        """Send `first`, then messages from the queue, until the queue says stop (returns
        ([], False)) or the connection has carried its share (returns what is left of `first`
        and True: go on on a new connection). Raises _Lost when the connection fails."""
        session = connection.session
        in_flight: dict[Hashable, Message] = {}
        pending = list(first)
        sent = 0
        stopping = False

        def report(outcomes: list[smtp.Outcome]) -> None:
            for outcome in outcomes:
                in_flight.pop(outcome.key)
                self.results.put(Result(outcome.key, outcome.error))

        try:
            while True:
                if pending:
                    message: Message | None = pending.pop(0)
                else:
                    try:
                        item = self.work.get_nowait()
                    except queue.Empty:
                        # Nothing queued: the message waiting in the session goes out now
                        # rather than with the next one, whose arrival may wait on its result
                        # (the batch bounds what is unsettled).
                        report(session.finish())
                        item = self.work.get()
                    message = None if item is _STOP else item
                if message is None:
                    stopping = True
                    report(session.finish())
                    return [], False
                in_flight[message.key] = message
                report(session.submit(message.key, message.recipient, message.content))
                sent += 1
                if self.messages_per_connection and sent >= self.messages_per_connection:
                    report(session.finish())
                    return pending, True
        except (smtplib.SMTPException, OSError) as exc:
            report(session.drain())
            if stopping:
                # The stop was taken and the last content then failed: the stop goes back, so
                # this sender ends once it has sent the unconfirmed messages again.
                self.work.put(_STOP)
            raise _Lost(exc, [*in_flight.values(), *pending]) from exc


class _Lost(Exception):
    """A session failed; `unconfirmed` are its messages the server did not confirm."""

    def __init__(self, cause: BaseException, unconfirmed: list[Message]) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.unconfirmed = unconfirmed


def _close_quietly(connection: Connection) -> None:
    try:
        connection.close()
    except Exception:  # closing a broken connection must not undo what was reported
        logger.warning("Closing the mail connection failed", exc_info=True)
