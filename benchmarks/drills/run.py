"""Run every fault drill (benchmarks/drills/drill_*.py), print a summary, exit 1 if any failed.

    make drills                                   # all of them
    .venv/bin/python benchmarks/drills/run.py postgres redis   # those whose name contains ...

One private PostgreSQL cluster (initdb in a temp dir, a free port) serves every drill: the
schema is migrated once into a template database, and each drill copies it into a database of
its own (CANDOR_DRILL_PG_PORT / CANDOR_DRILL_PG_DIR tell the drills where it is). Each drill
runs in a process of its own, starts its own private Redis, web, worker and beat, and stops them.
The shared PostgreSQL and Redis on the default ports are never touched.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from benchmarks.drills._services import TEMPLATE_DB, PrivatePostgres, load_average  # noqa: E402

# A drill that takes longer than this is stopped and counted as failed.
DRILL_TIMEOUT = 240


def main() -> None:
    wanted = sys.argv[1:]
    drills = sorted(
        path
        for path in HERE.glob("drill_*.py")
        if not wanted or any(word in path.stem for word in wanted)
    )
    started = time.monotonic()
    print(f"{len(drills)} drills; load average {load_average()} on {os.cpu_count()} cores",
          flush=True)  # fmt: skip
    cluster = PrivatePostgres().init().start()
    results: list[tuple[str, bool, str, float]] = []
    try:
        cluster.migrate(TEMPLATE_DB)
        print(f"PostgreSQL :{cluster.port} ready, schema migrated in "
              f"{time.monotonic() - started:.0f} s", flush=True)  # fmt: skip
        env = {
            **os.environ,
            "CANDOR_DRILL_PG_PORT": str(cluster.port),
            "CANDOR_DRILL_PG_DIR": str(cluster.dir),
        }
        for drill in drills:
            print(f"\n=== {drill.stem} ===", flush=True)
            began = time.monotonic()
            try:
                finished = subprocess.run(
                    [sys.executable, str(drill)],
                    env=env,
                    timeout=DRILL_TIMEOUT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                output, ok = finished.stdout, finished.returncode == 0
            except subprocess.TimeoutExpired as timeout:
                output = (
                    (timeout.stdout or b"").decode(errors="replace")
                    if isinstance(timeout.stdout, bytes)
                    else (timeout.stdout or "")
                )
                output += f"\nstopped after {DRILL_TIMEOUT} s"
                ok = False
            print(output, end="" if output.endswith("\n") else "\n", flush=True)
            summary = re.findall(r"^RESULT .*$", output, re.MULTILINE)
            results.append((drill.stem, ok, summary[-1] if summary else "no result line",
                            time.monotonic() - began))  # fmt: skip
    finally:
        cluster.destroy()

    print(f"\n=== summary ({time.monotonic() - started:.0f} s; load average {load_average()}) ===")
    for name, ok, summary, seconds in results:
        print(f"{'PASS' if ok else 'FAIL'}  {name:28} {seconds:5.0f} s  {summary}")
    sys.exit(0 if results and all(ok for _, ok, _, _ in results) else 1)


if __name__ == "__main__":
    main()
