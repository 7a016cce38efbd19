"""Drill: the SMTP server refuses (421 at the greeting), then hangs (accepts the connection and
never answers), then comes back.

A worker (2 processes) and beat against a private PostgreSQL and Redis; 100 email and 10
webhook subscribers. EMAIL_TIMEOUT is 5 s here (20 s by default) and the email retry schedule
2 s (30 s, 2 min, ... by default), so the drill fits in a minute. Expected: while the server
refuses or hangs, no mail is marked failed (each attempt is recorded and retried), webhooks on
their own queue still go out at once, and no worker process is stuck past the timeout; once
the server is back (offering CHUNKING: BDAT), every subscriber gets both incidents exactly
once.

    .venv/bin/python benchmarks/drills/drill_smtp.py   (or `make drills` for all)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.drills._services import (
    Checks,
    SilentServer,
    Stack,
    all_sent,
    audience,
    delivery_counts,
    free_port,
    mail_counts,
    open_incident,
    say,
    wait_until,
)

EMAILS = 100
HOOKS = 10
EMAIL_TIMEOUT = 5


def main() -> None:
    from tests.notifications.receiver import http_receiver

    checks = Checks("smtp")
    stack = Stack("smtp").setup()
    try:
        with http_receiver() as receiver:
            run(stack, receiver, checks)
    finally:
        stack.teardown()
    checks.finish()


def email_rows(org_id: int) -> tuple[dict[str, int], int]:
    """(statuses of the email deliveries, attempts recorded on them)."""
    from collections import Counter

    from django.db.models import Sum

    from apps.notifications.models import Delivery

    rows = Delivery.objects.filter(organization_id=org_id, channel="email")
    statuses = dict(Counter(rows.values_list("status", flat=True)))
    return statuses, rows.aggregate(n=Sum("attempts"))["n"] or 0


def run(stack: Stack, receiver, checks: Checks) -> None:
    from tests.notifications.smtp_sink import SMTPSink

    org, component, key = audience(EMAILS, receiver.url, HOOKS)
    addresses = [f"reader{n}@drill.example.com" for n in range(EMAILS)]
    port = free_port()
    refusing = SilentServer(b"421 4.3.2 Service not available, closing channel\r\n", port=port)
    env = {
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "EMAIL_TIMEOUT": str(EMAIL_TIMEOUT),
        "DRILL_EMAIL_RETRY_SCHEDULE": json.dumps([2] * 14),
    }
    web = stack.web(workers=1)
    stack.worker(concurrency=2, **env)
    stack.beat(**env)

    # 1. The server refuses every session.
    opened = open_incident(web, key.secret, component.public_id, "Elevated API errors")
    hooks_at = wait_until(lambda: len(receiver.requests) >= HOOKS, timeout=20)
    time.sleep(6)
    statuses, attempts = email_rows(org.pk)
    say(f"SMTP refuses (421): incident {opened.status}; {refusing.connections} SMTP sessions "
        f"refused in 6 s; email deliveries {statuses}, {attempts} attempts recorded; webhooks "
        f"delivered in {hooks_at and round(hooks_at, 1)} s")  # fmt: skip
    checks.check(
        "failed" not in statuses and "sent" not in statuses and attempts >= EMAILS,
        f"refused mail is retried, not failed ({statuses}, {attempts} attempts)",
    )
    checks.check(hooks_at is not None and hooks_at < 5, "webhooks go out while SMTP refuses")
    refusing.close()

    # 2. The server accepts connections and never answers.
    hanging = SilentServer(None, port=port)
    before = len(receiver.requests)
    second = open_incident(web, key.secret, component.public_id, "Database failover")
    hooks_at = wait_until(lambda: len(receiver.requests) >= before + HOOKS, timeout=20)
    time.sleep(EMAIL_TIMEOUT + 4)
    statuses, attempts_after = email_rows(org.pk)
    say(f"SMTP hangs: incident {second.status}; {hanging.connections} SMTP connections held open; "
        f"email deliveries {statuses}, {attempts_after - attempts} more attempts; webhooks "
        f"delivered in {hooks_at and round(hooks_at, 1)} s")  # fmt: skip
    checks.check(hooks_at is not None and hooks_at < 5, "webhooks go out while SMTP hangs")
    checks.check(
        attempts_after > attempts and "failed" not in statuses,
        f"a hanging server times out after {EMAIL_TIMEOUT} s and is retried "
        f"({attempts_after - attempts} more attempts, none failed)",
    )
    hanging.close()

    # 3. The server is back, offering PIPELINING and CHUNKING as Postfix 3.4+ does: the retried
    # mail goes out with BDAT, five messages a write.
    sink = SMTPSink(port=port)
    sink.state.chunking = True
    with sink:
        back = time.monotonic()
        done = wait_until(lambda: all_sent(org.pk, 2 * (EMAILS + HOOKS)), timeout=60, step=0.25)
        time.sleep(1.0)
        missing, duplicates = mail_counts(sink.state.recipients(), addresses, 2)
        say(f"SMTP back: all delivered {done and round(done, 1)} s later "
            f"({time.monotonic() - back:.1f} s); deliveries {dict(delivery_counts(org.pk))}; "
            f"missing {missing}, duplicates {duplicates}")  # fmt: skip
    checks.check(done is not None, "every delivery sent once the server is back")
    checks.check(missing == 0 and duplicates == 0, f"each subscriber got both incidents once "
                 f"(missing {missing}, duplicates {duplicates})")  # fmt: skip


if __name__ == "__main__":
    main()
