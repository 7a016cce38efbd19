"""Tunables of the delivery pipeline (settings override them; defaults are the design's)."""

from __future__ import annotations

from django.conf import settings


def _get(name: str, default):
    return getattr(settings, name, default)


def fanout_chunk() -> int:
    # 1,000 subscribers per chunk: one bulk insert and one email batch task each. A batch's
    # fixed cost (claim, load, render, connect) is about a third of 500 sends; at 1,000 the
    # benchmark's email finished in 14 s instead of 24 s (README), and a batch still takes
    # a few seconds, far inside the time budget.
    return _get("NOTIFICATIONS_FANOUT_CHUNK", 1000)


def webhook_batch() -> int:
    # Webhooks go to different hosts (no connection to reuse), and one slow endpoint may take
    # the whole timeout: a batch serves webhook_concurrency() subscribers at once, so a slow
    # one holds up only its own thread's share of the batch.
    return _get("NOTIFICATIONS_WEBHOOK_BATCH", 50)


def webhook_concurrency() -> int:
    """Endpoints a webhook batch talks to at the same time (sender threads per task)."""
    return _get("NOTIFICATIONS_WEBHOOK_CONCURRENCY", 8)


def smtp_connections() -> int:
    """SMTP connections one email batch opens at once (each sent from its own thread).

    One pipelined session still waits a round trip per message; a few at once overlap those
    waits. Every worker process sending a batch opens this many, so the connections a provider
    sees at once are this times the processes consuming the `notifications` queue: keep that
    under its cap (SocketLabs: 10 per account; SendGrid: 10,000 per server).
    """
    return max(1, int(_get("NOTIFICATIONS_SMTP_CONNECTIONS", 4)))


def smtp_messages_per_connection() -> int:
    """Messages sent over one SMTP connection before it is closed (QUIT) and a new one opened;
    0 for no limit. Providers cap a session (SocketLabs 50, ReachMail 25, SendGrid 5,000) and
    a server ending one mid-batch costs a reconnect; 100 is nodemailer's pool default."""
    return max(0, int(_get("NOTIFICATIONS_SMTP_MESSAGES_PER_CONNECTION", 100)))


def batch_time_budget() -> float:
    # A batch stops starting new sends after this many seconds and hands the rest to a new
    # task, so every task ends well inside its time limit and the broker's visibility timeout.
    return _get("NOTIFICATIONS_BATCH_TIME_BUDGET", 15.0)


def threaded_sent_marks() -> bool:
    # True: batches mark deliveries sent from a second thread with its own connection, so the
    # mark's round trip overlaps the next sends (PostgreSQL, outside a transaction only). Off
    # by default: since an email batch drives its SMTP connections from its own thread, the
    # marks written there ten at a time cost less, in CPU (handing marks to the thread and the
    # GIL switches) and in time, than the overlap saved: in process, 10,000 mails took 1.0 CPU-s
    # and 2.0 s with the marks in the batch's thread, 1.3 CPU-s and 2.4-2.7 s with the thread
    # (issue 13, docs/benchmarks.md).
    return _get("NOTIFICATIONS_THREADED_SENT_MARKS", False)


def slack_min_interval() -> float:
    # Slack allows about one message per second per incoming webhook (bursts are tolerated
    # briefly, then it answers 429): sends to one Slack URL are spaced this far apart.
    return float(_get("NOTIFICATIONS_SLACK_MIN_INTERVAL", 1.0))


def lease_heartbeat() -> float:
    """Seconds between renewals of a running batch's lease (apps.notifications.tasks); 0 turns
    renewal off. Renewal needs a second database connection outside the task's transaction, so
    it runs on PostgreSQL only (see lease_renewed)."""
    return float(_get("NOTIFICATIONS_LEASE_HEARTBEAT_SECONDS", 2.0))


def lease_renewed() -> bool:
    from django.db import connection

    return lease_heartbeat() > 0 and connection.vendor == "postgresql"


def lease_seconds() -> int:
    """How long a claim holds a batch's rows without being renewed.

    With renewal (PostgreSQL), a short lease renewed every lease_heartbeat() seconds while the
    batch runs: a worker that dies (SIGKILL, OOM, lost host, its task cancelled when Redis went
    away) stops renewing, and its rows are free again within this many seconds, for the sweeper
    to hand to a live worker (issue 13: 51-61 s after a worker was killed, now under 15 s).
    Without renewal, the rows are free again shortly *before* a killed worker's message comes
    back from the broker (visibility timeout), so the redelivered task can claim them at once.
    """
    if hasattr(settings, "NOTIFICATIONS_LEASE_SECONDS"):
        return int(settings.NOTIFICATIONS_LEASE_SECONDS)
    if lease_renewed():
        # Four renewals missed in a row before another worker may take the rows.
        return max(2, int(4 * lease_heartbeat()))
    visibility = _get("CELERY_BROKER_TRANSPORT_OPTIONS", {}).get("visibility_timeout", 60)
    return max(2, int(visibility) - 5)


def sweep_grace() -> int:
    # A new delivery becomes "due" for the sweeper this long after creation, in case its batch
    # message was lost (Redis restarted empty): after an outage, mail catches up within this
    # plus the sweep interval. A batch still queued when it comes due is enqueued once more
    # (the claim lets only one of the two send a row), and the sweeper moves each row it
    # enqueues this far ahead again, so a long queue is not re-enqueued on every sweep.
    return _get("NOTIFICATIONS_SWEEP_GRACE_SECONDS", 10)


def unprocessed_event_grace() -> int:
    # An event not fanned out this long after it was written is fanned out again by the sweeper
    # (its message was lost with Redis, or the enqueue failed while Redis was down); at most
    # once per event_requeue_spacing(), so a long fan-out is not restarted over and over.
    return _get("NOTIFICATIONS_EVENT_REQUEUE_AFTER_SECONDS", 10)


def event_requeue_spacing() -> int:
    # Remembered in the cache (Redis): when Redis comes back empty the memory is gone with the
    # lost messages, and the events are fanned out again at the next sweep, as they must be.
    return _get("NOTIFICATIONS_EVENT_REQUEUE_SPACING_SECONDS", 120)


def webhook_retry_schedule() -> list[int]:
    # Standard Webhooks' example schedule after the first attempt: 5 s, 5 min, 30 min, 2 h,
    # 5 h, 10 h, 14 h, 20 h, 24 h (about 3 days in all); jitter is added on top.
    return _get(
        "NOTIFICATIONS_WEBHOOK_RETRY_SCHEDULE",
        [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400],
    )


def email_retry_schedule() -> list[int]:
    # SMTP trouble is usually ours (provider down): retry for about 4 hours.
    return _get("NOTIFICATIONS_EMAIL_RETRY_SCHEDULE", [30, 120, 600, 1800, 3600, 7200])


def disable_after_failures() -> int:
    # Statuspage quarantines a webhook after 10 failed requests; so do we (consecutive ones).
    return _get("NOTIFICATIONS_DISABLE_AFTER_FAILURES", 10)


def from_address() -> str:
    """Address subscriber mail is sent from; the organization's name is the display name.

    Subscription mail uses its own address, apart from account mail (DEFAULT_FROM_EMAIL), as
    Google's subscription guidelines ask (shared/reference/delivery-notes.md §2.1).
    """
    default = f"notifications@{settings.STATUS_PAGE_DOMAIN}"
    return _get("NOTIFICATIONS_FROM_EMAIL", default)


def message_id_domain() -> str:
    return _get("NOTIFICATIONS_MESSAGE_ID_DOMAIN", settings.STATUS_PAGE_DOMAIN)


def waiting_event_minutes() -> float:
    # Events still not fanned out this long after they were written mean no worker consumes the
    # queue (the beat sweeper re-enqueues them, but nobody takes them): the dashboard says so.
    return float(_get("NOTIFICATIONS_WAITING_EVENT_MINUTES", 5))
