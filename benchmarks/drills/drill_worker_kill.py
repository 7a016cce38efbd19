"""Drill: the Celery worker SIGKILLed mid fan-out (its whole process group: a lost machine or
the OOM killer), a new one started at once.

granian, a worker (2 processes) and beat against a private PostgreSQL and Redis; 1,000 email
subscribers through a local SMTP sink that takes 5 ms per message and 50 webhook subscribers
through a local receiver. Expected: every subscriber gets the incident, within 15 s of the new
worker being ready (not the broker's 60 s visibility timeout), duplicates within the documented
bound (docs/notifications.md: per batch the killed worker ran, its 10 unmarked sends plus the
one in flight).

    .venv/bin/python benchmarks/drills/drill_worker_kill.py   (or `make drills` for all)
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.drills._services import (
    Checks,
    Stack,
    all_sent,
    audience,
    delivery_counts,
    mail_counts,
    open_incident,
    say,
    wait_until,
)

EMAILS = 1000
HOOKS = 50
CATCH_UP_SECONDS = 15.0


def main() -> None:
    from tests.notifications.receiver import http_receiver
    from tests.notifications.smtp_sink import SinkProcess

    checks = Checks("worker_kill")
    stack = Stack("worker").setup()
    try:
        with SinkProcess(delay=0.005) as sink, http_receiver() as receiver:
            run(stack, sink, receiver, checks)
    finally:
        stack.teardown()
    checks.finish()


def run(stack: Stack, sink, receiver, checks: Checks) -> None:
    org, component, key = audience(EMAILS, receiver.url, HOOKS)
    addresses = [f"reader{n}@drill.example.com" for n in range(EMAILS)]
    smtp = {"EMAIL_URL": f"smtp://127.0.0.1:{sink.port}"}
    web = stack.web(workers=1)
    first = stack.worker(concurrency=2, supervise=False, **smtp)
    stack.beat(**smtp)

    opened = open_incident(web, key.secret, component.public_id, "Elevated API errors")
    checks.check(opened.status == 201, f"incident opened through the API ({opened.status})")
    wait_until(lambda: sink.count() >= EMAILS * 0.3, timeout=60, step=0.02)
    first.kill()
    say(f"worker SIGKILLed (process group) with {sink.count()}/{EMAILS} mails and "
        f"{len(receiver.requests)}/{HOOKS} webhooks delivered; "
        f"deliveries {dict(delivery_counts(org.pk))}")  # fmt: skip
    stack.worker(concurrency=2, **smtp)
    ready = time.monotonic()
    say(f"new worker ready; mails at the sink: {sink.count()}")
    caught_up = wait_until(lambda: all_sent(org.pk, EMAILS + HOOKS), timeout=120, step=0.25)
    time.sleep(1.0)  # a late duplicate, if any, reaches the sink
    missing, duplicate_mails = mail_counts(sink.recipients(), addresses, 1)
    # Opening the incident sends webhooks two events (incident and component status), each
    # with its own webhook-id: a duplicate is the same webhook-id twice.
    hooks = Counter(request.path for request in receiver.requests)
    sends = Counter(request.headers.get("webhook-id") for request in receiver.requests)
    duplicate_hooks = sum(count - 1 for count in sends.values())
    say(f"deliveries: {dict(delivery_counts(org.pk))}; sink {sink.count()} messages, missing "
        f"{missing}, duplicate mails {duplicate_mails}; webhooks {len(hooks)}/{HOOKS} endpoints, "
        f"duplicates {duplicate_hooks}")  # fmt: skip
    say(f"all delivered {caught_up if caught_up is None else round(caught_up, 1)} s after the "
        f"new worker was ready ({time.monotonic() - ready:.1f} s ago)")  # fmt: skip
    checks.check(
        caught_up is not None and caught_up <= CATCH_UP_SECONDS,
        f"caught up within {CATCH_UP_SECONDS:.0f} s of the new worker "
        f"({caught_up and round(caught_up, 1)} s)",
    )
    checks.check(missing == 0 and len(hooks) == HOOKS, f"nobody missed ({missing} mails, "
                 f"{HOOKS - len(hooks)} webhooks)")  # fmt: skip
    checks.check(
        duplicate_mails + duplicate_hooks <= 22,
        f"duplicates within the bound of 2 processes x 11 ({duplicate_mails + duplicate_hooks})",
    )


if __name__ == "__main__":
    main()
