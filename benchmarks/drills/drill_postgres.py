"""Drill: PostgreSQL stopped (a crash: `pg_ctl stop -m immediate`) and started again.

Against granian (1 worker, so "the process that served the page before" is unambiguous), a
private PostgreSQL cluster and a private Redis. Expected while PostgreSQL is down:
- the management API answers 503 JSON `{"detail": ...}` with Retry-After (never HTML 500);
- the status page and summary.json answer 200 from the last good copy in Redis, also after
  the web process is restarted during the outage (needs the host/slug -> organization mapping
  kept in the cache: apps/organizations/middleware.py, another branch of issue 13);
- an unknown slug answers 503, not 500 (same branch);
and once PostgreSQL is back, the API answers 200 again within seconds.

    .venv/bin/python benchmarks/drills/drill_postgres.py   (or `make drills` for all)
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.drills._services import Checks, Stack, say, wait_until

CALLS = 20


def main() -> None:
    checks = Checks("postgres")
    stack = Stack("pg").setup()
    try:
        run(stack, checks)
    finally:
        stack.teardown()
    checks.finish()


def run(stack: Stack, checks: Checks) -> None:
    from tests.factories import ApiKeyFactory, ComponentFactory, OrganizationFactory

    org = OrganizationFactory(name="Drill Cloud", slug="drill")
    for name in ("API", "Web", "Database"):
        ComponentFactory(organization=org, name=name)
    key = ApiKeyFactory(organization=org)
    auth = {"Authorization": f"Bearer {key.secret}"}
    web = stack.web(workers=1)
    page, summary = "/s/drill/", "/s/drill/api/v2/summary.json"

    def statuses(path: str, **headers: str) -> Counter:
        return Counter(web.get(path, **headers).status for _ in range(CALLS))

    # Before: everything answers, and the process has served (cached) the public resources.
    before = {
        "api": statuses("/api/v1/organization/", **auth),
        "page": statuses(page),
        "summary": statuses(summary),
    }
    say(f"before the outage: {dict((k, dict(v)) for k, v in before.items())}")
    assert stack.postgres is not None
    stack.postgres.stop("immediate")
    down = time.monotonic()
    say("PostgreSQL stopped (immediate: clients cut off, no checkpoint)")

    answers = [web.get("/api/v1/organization/", **auth) for _ in range(CALLS)]
    api = Counter(a.status for a in answers)
    json_503 = sum(
        1
        for a in answers
        if a.status == 503
        and a.content_type.startswith("application/json")
        and "detail" in a.json()  # type: ignore[operator]
        and a.headers.get("retry-after")
    )
    say(f"API during the outage: {dict(api)}; 503 JSON with detail and Retry-After: {json_503}")
    checks.check(json_503 == CALLS, f"API answers 503 JSON + Retry-After ({json_503}/{CALLS})")

    served = statuses(page)
    served_summary = statuses(summary)
    say(f"status page: {dict(served)}; summary.json: {dict(served_summary)}")
    checks.check(served[200] == CALLS, f"status page from the last copy ({served[200]}/{CALLS})")
    checks.check(
        served_summary[200] == CALLS,
        f"summary.json from the last copy ({served_summary[200]}/{CALLS})",
    )

    web.stop()
    web.start()
    say("web process restarted during the outage")
    after_restart = statuses(page)
    after_restart_summary = statuses(summary)
    unknown = statuses("/s/no-such-page/")
    say(f"after the restart: status page {dict(after_restart)}, summary.json "
        f"{dict(after_restart_summary)}, unknown slug {dict(unknown)}")  # fmt: skip
    checks.check(
        after_restart[200] == CALLS,
        f"status page after a web restart during the outage ({after_restart[200]}/{CALLS}; "
        "needs the slug mapping in the cache, apps/organizations/middleware.py)",
    )
    checks.check(
        after_restart_summary[200] == CALLS,
        "summary.json after a web restart during the outage "
        f"({after_restart_summary[200]}/{CALLS})",
    )
    checks.check(unknown[503] == CALLS, f"unknown slug during the outage is 503 ({dict(unknown)})")
    api_after_restart = Counter(web.get("/api/v1/organization/", **auth).status for _ in range(5))
    checks.check(
        api_after_restart[503] == 5, f"API after the restart still 503 ({dict(api_after_restart)})"
    )

    say(f"outage lasted {time.monotonic() - down:.1f} s; starting PostgreSQL")
    stack.postgres.start()
    back = wait_until(
        lambda: web.get("/api/v1/organization/", **auth).status == 200, timeout=30, step=0.2
    )
    say(f"API answered 200 again {back if back is None else round(back, 1)} s after PostgreSQL")
    checks.check(back is not None and back < 5, "API back within 5 s of PostgreSQL")
    recovered = statuses(page)
    checks.check(recovered[200] == CALLS, f"status page after recovery ({dict(recovered)})")


if __name__ == "__main__":
    main()
