"""Fault drill: the web process killed behind the front cache (issue 13).

A private PostgreSQL and Redis, a small demo organization, Candor's production server and nginx
with deploy/nginx/candor.conf in front of it (benchmarks/frontcache.py). The drill:

1. warms the cache: the status page, summary.json and the incident page in progress, gzipped
   and plain, through nginx;
2. SIGKILLs the web process (master and workers) and waits until its copies are past s-maxage;
3. fetches each of them through nginx REPEAT times per encoding: every answer must be a 200
   with the last copy's bytes (X-Cache-Status STALE); the page's stylesheets too;
4. restarts the web process, posts an incident update through the management API (via nginx)
   and waits until readers see it through nginx (at most VISIBLE_WITHIN seconds).

Prints what it did and counted; exits 1 if anything failed. About a minute (mostly the
migrations and the demo data).

    .venv/bin/python benchmarks/drills/drill_front_cache.py [--server gunicorn|granian]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from benchmarks.frontcache import SERVERS, Stack, fetch, port_open, visible_after

REPEAT = 20
# s-maxage=1 (nginx counts whole seconds) + one revalidation + polling: well under this.
VISIBLE_WITHIN = 5.0
GZIP = {"Accept-Encoding": "gzip"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=SERVERS, default="granian")
    args = parser.parse_args()
    failures: list[str] = []
    stack = Stack(server=args.server, workers=2, demo_args=("--incidents", "20"))
    try:
        print("drill: web process killed behind the front cache")
        stack.start(say=lambda line: print(f"  setup: {line}", flush=True))
        credentials = stack.api_key()
        paths = {
            "status page": f"/s/{stack.slug}/",
            "summary.json": f"/s/{stack.slug}/api/v2/summary.json",
            "incident page": f"/s/{stack.slug}/incidents/{credentials['incident']}/",
        }
        last: dict[tuple[str, str], bytes] = {}
        for name, path in paths.items():
            for encoding, headers in (("gzip", GZIP), ("plain", {})):
                answer = fetch(stack.nginx.port, path, headers)
                if answer.status != 200:
                    failures.append(f"warming {name} ({encoding}): {answer.status}")
                last[(name, encoding)] = answer.body
        # The page's stylesheet, as a browser fetches it: a reader who arrives while the web
        # process is down must get a styled page, not bare HTML.
        page = fetch(stack.nginx.port, paths["status page"]).body.decode()
        styles = re.findall(r'href="(/static/[^"]+\.css)"', page)
        if not styles:
            failures.append("the status page links no stylesheet under /static/")
        for style in styles:
            answer = fetch(stack.nginx.port, style, GZIP)
            if answer.status != 200:
                failures.append(f"warming {style}: {answer.status}")
            last[(style, "gzip")] = answer.body
        print(f"  warmed {len(last)} copies through nginx on :{stack.nginx.port}")

        stack.web.kill()
        if port_open(stack.web.port):
            failures.append("the web process still answers after SIGKILL")
        time.sleep(2.1)  # past s-maxage=1: what nginx serves now is a stale copy
        print(f"  killed the web process (port {stack.web.port} closed), waited 2.1 s")

        for name, path in paths.items():
            for encoding, headers in (("gzip", GZIP), ("plain", {})):
                counts: Counter[str] = Counter()
                for _ in range(REPEAT):
                    answer = fetch(stack.nginx.port, path, headers)
                    same = answer.status == 200 and answer.body == last[(name, encoding)]
                    counts["200 last copy" if same else f"{answer.status} other"] += 1
                    counts[f"X-Cache-Status {answer.cache or '-'}"] += 1
                print(f"  web down, {name} ({encoding}) x{REPEAT}: {dict(counts)}")
                if counts["200 last copy"] != REPEAT:
                    failures.append(f"{name} ({encoding}) with web down: {dict(counts)}")
        for style in styles:
            answer = fetch(stack.nginx.port, style, GZIP)
            kept = answer.status == 200 and answer.body == last[(style, "gzip")]
            print(f"  web down, stylesheet {style}: {answer.status} ({answer.cache or '-'})")
            if not kept:
                failures.append(f"stylesheet {style} with web down: {answer.status}")
        never = fetch(stack.nginx.port, f"/s/{stack.slug}/history/")
        print(f"  web down, a page never fetched before: {never.status} (no copy to serve)")

        stack.web.start()
        marker = f"Front cache drill {time.time():.0f}"
        started = time.monotonic()
        posted = stack.post_update(credentials, marker)
        if posted.status != 201:
            failures.append(f"posting an update after the restart: {posted.status}")
        else:
            try:
                delay = visible_after(
                    stack.nginx.port, paths["incident page"], marker.encode(), started,
                    limit=VISIBLE_WITHIN,
                )  # fmt: skip
                print(
                    f"  web restarted; a posted update was visible through nginx in {delay:.2f} s"
                )
            except RuntimeError as error:
                failures.append(str(error))
    except Exception as error:  # a setup or tool failure fails the drill, with its reason
        failures.append(f"{type(error).__name__}: {error}")
    finally:
        stack.destroy()

    for failure in failures:
        print(f"  FAILED: {failure}")
    print(f"drill front cache: {'FAILED' if failures else 'passed'}")
    # The line benchmarks/drills/run.py puts in its summary.
    outcome = f"FAILED, {len(failures)} failures" if failures else "every copy served, web down"
    print(f"RESULT front_cache: {outcome}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
