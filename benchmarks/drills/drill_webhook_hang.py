"""Drill: a webhook receiver that hangs (accepts the connection, never answers).

A worker (2 processes) and beat against a private PostgreSQL and Redis; 45 webhook subscribers
on a local receiver that answers at once, 5 on a server that never answers, and 200 email
subscribers. Expected: the 45 get the incident within seconds (a batch talks to 8 endpoints at
once, so 5 stuck ones do not hold the rest), email is not delayed (its own queue), and each
hanging endpoint's delivery is given up after the 15 s request timeout and scheduled for a
retry (pending with an error), never failed for good at the first try and never blocking a
worker past its time limit.

    .venv/bin/python benchmarks/drills/drill_webhook_hang.py   (or `make drills` for all)
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.drills._services import (
    Checks,
    SilentServer,
    Stack,
    audience,
    open_incident,
    say,
    wait_until,
)

GOOD_HOOKS = 45
HANGING_HOOKS = 5
EMAILS = 200
REQUEST_TIMEOUT = 15.0  # apps/core/http.py TOTAL_TIMEOUT


def main() -> None:
    from tests.notifications.receiver import http_receiver
    from tests.notifications.smtp_sink import SinkProcess

    checks = Checks("webhook_hang")
    stack = Stack("hooks").setup()
    hanging = SilentServer(None)
    try:
        with SinkProcess() as sink, http_receiver() as receiver:
            run(stack, sink, receiver, hanging, checks)
    finally:
        hanging.close()
        stack.teardown()
    checks.finish()


def run(stack: Stack, sink, receiver, hanging: SilentServer, checks: Checks) -> None:
    from apps.notifications.models import Delivery, Subscriber

    org, component, key = audience(EMAILS, receiver.url, GOOD_HOOKS + HANGING_HOOKS)
    stuck = list(
        Subscriber.objects.filter(organization=org, channel="webhook").order_by("id")[
            :HANGING_HOOKS
        ]
    )
    for subscriber in stuck:
        subscriber.url = f"http://127.0.0.1:{hanging.port}/hook/{subscriber.pk}"
    Subscriber.objects.bulk_update(stuck, ["url"])
    env = {"EMAIL_URL": f"smtp://127.0.0.1:{sink.port}"}
    web = stack.web(workers=1)
    stack.worker(concurrency=2, **env)
    stack.beat(**env)

    started = time.monotonic()
    opened = open_incident(web, key.secret, component.public_id, "Elevated API errors")
    checks.check(opened.status == 201, f"incident opened through the API ({opened.status})")
    # Opening an incident sends webhooks two events (incident, component status).
    good_at = wait_until(lambda: len({r.headers.get("webhook-id") for r in receiver.requests})
                         >= 2 * GOOD_HOOKS, timeout=60)  # fmt: skip
    mail_at = wait_until(lambda: sink.count() >= EMAILS, timeout=60)
    say(f"answering receivers: {len(receiver.requests)} requests in "
        f"{good_at and round(good_at, 1)} s; mail: {sink.count()}/{EMAILS} in "
        f"{mail_at and round(mail_at, 1)} s; hanging server holds {hanging.connections} "
        "connections")  # fmt: skip
    checks.check(
        good_at is not None and good_at < 10,
        f"the answering endpoints are served within 10 s ({good_at and round(good_at, 1)} s)",
    )
    checks.check(
        mail_at is not None and mail_at < 10,
        f"email is not held up by hanging webhooks ({mail_at and round(mail_at, 1)} s)",
    )

    def stuck_rows() -> list[Delivery]:
        return list(Delivery.objects.filter(subscriber__in=stuck))

    decided = wait_until(
        lambda: all(row.attempts >= 1 and row.last_error for row in stuck_rows()),
        timeout=REQUEST_TIMEOUT + 20,
        step=0.5,
    )
    rows = stuck_rows()
    statuses = Counter(row.status for row in rows)
    errors = Counter(row.last_error[:60] for row in rows)
    say(f"hanging endpoints: all given up {time.monotonic() - started:.1f} s after the incident "
        f"was opened; deliveries {dict(statuses)}; errors {dict(errors)}")  # fmt: skip
    checks.check(decided is not None, "each hanging delivery times out and records an error")
    checks.check(
        set(statuses) == {"pending"},
        f"and is scheduled for a retry, not failed for good ({dict(statuses)})",
    )


if __name__ == "__main__":
    main()
