"""Outage-traffic benchmark (issue 13): Candor's public read path against nginx serving the same
bytes, and through the front cache (deploy/nginx/candor.conf), on one machine in one run.

What it runs, all on 127.0.0.1 and all private to this run: a PostgreSQL cluster (initdb in a temp
dir) and a redis-server on free ports, the demo organization (`manage.py demo`: 50 components,
90-day bars, an incident in progress), Candor's production server (granian with the Dockerfile's
and compose's options; `--server granian` for granian; see benchmarks/frontcache.py
server_command) and one nginx with two servers: (a) the page and summary.json as static files,
fetched once from Candor (page.html and page.html.gz, served with gzip_static), and (c) the front
cache in front of (b), Candor itself.

Printed:
- requests/s, p50 and p99 of wrk (Debian package) for the demo page and summary.json, with and
  without `Accept-Encoding: gzip`, at 64 and 256 connections, for (a), (b) and (c) side by side,
  with (b) and (c) as a fraction of (a), and the issue's targets marked met / not met. Each
  row's cells run in turn several times (--rounds, 3) and the medians are printed: on a shared
  2-core machine one 5 s cell swings by a fifth between runs, which alternating evens out;
- (a+h): nginx serving the same files with the headers Candor sends beside them added
  (Content-Security-Policy, Permissions-Policy, Cache-Control, ...: about 1 KB a response that
  the front cache passes on and the bare files lack), and (c) as a fraction of it;
- conditional GETs (If-None-Match with the current ETag: the 304 rate) for (a), (b), (c);
- how long a staff update (posted through the management API) takes to be visible through the
  front cache (s-maxage=1 + revalidation with the ETag);
- the page with PostgreSQL stopped (the last good copy from Redis) through (b) and (c);
- the page through (c) with the web process killed (nginx's last copy).

Usage (needs nginx, wrk, redis-server and PostgreSQL's server binaries; about 8 minutes, 2 with
--quick; the shared PostgreSQL and Redis are not touched):

    .venv/bin/python benchmarks/outage_traffic.py [--quick] [--server gunicorn|granian]
        [--workers 3] [--duration 3] [--rounds 3]

wrk runs with 2 threads (the machine's cores are shared with the servers: on a 2-core machine
the figures are what one machine does with client and server on it, as in the issue). The
machine's load average is printed before and after: compare runs only at similar load.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.frontcache import SERVERS, Stack, fetch, visible_after

PAGE = "/s/demo/"
SUMMARY = "/s/demo/api/v2/summary.json"
CONNECTIONS = (64, 256)
GZIP = {"Accept-Encoding": "gzip"}
# Headers nginx writes itself when it serves a file (or that only the front cache adds); the
# rest of Candor's headers go on the (a+h) copies.
NGINX_OWN_HEADERS = frozenset({
    "server", "date", "content-type", "content-length", "content-encoding", "connection",
    "etag", "last-modified", "accept-ranges", "transfer-encoding", "x-cache-status",
})  # fmt: skip

# Counts status codes in wrk (only where asked: a Lua response() hook slows wrk down).
STATUS_LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; not_modified = 0; other = 0 end
function response(status, headers, body)
  if status == 200 then ok = ok + 1
  elseif status == 304 then not_modified = not_modified + 1
  else other = other + 1 end
end
function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("ok"); b = b + t:get("not_modified"); c = c + t:get("other")
  end
  io.write(string.format("STATUSES %d %d %d\\n", a, b, c))
end
"""


@dataclass
class Cell:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors + non-2xx/3xx answers
    statuses: tuple[int, int, int] | None = None  # 200, 304, other (with --lua)

    def short(self) -> str:
        flag = f" ERR {self.errors}" if self.errors else ""
        return f"{self.rps:>8,.0f} {self.p50_ms:>7.1f} {self.p99_ms:>7.1f}{flag}"


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def wrk(
    port: int, path: str, connections: int, duration: float, headers: dict[str, str],
    lua: Path | None = None,
) -> Cell:  # fmt: skip
    command = [
        "wrk", "-t2", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
        "--timeout", "10s",
    ]  # fmt: skip
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if lua is not None:
        command += ["-s", str(lua)]
    command.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        errors += int(non_2xx.group(1))
    statuses = None
    found = re.search(r"STATUSES (\d+) (\d+) (\d+)", out)
    if found:
        statuses = (int(found.group(1)), int(found.group(2)), int(found.group(3)))
    return Cell(rps, p50, p99, requests, errors, statuses)


def median_cell(cells: list[Cell]) -> Cell:
    """The median of each figure over rounds (errors and requests summed)."""
    return Cell(
        statistics.median(cell.rps for cell in cells),
        statistics.median(cell.p50_ms for cell in cells),
        statistics.median(cell.p99_ms for cell in cells),
        sum(cell.requests for cell in cells),
        sum(cell.errors for cell in cells),
    )


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def write_static(stack: Stack, root: Path) -> dict[str, str]:
    """Candor's own bytes as files for (a), plain and gzipped as Candor sends them; returns
    their sizes."""
    paths = {PAGE: "page.html", SUMMARY: "summary.json"}
    sizes: dict[str, str] = {}
    for source, name in paths.items():
        plain = fetch(stack.web.port, source)
        zipped = fetch(stack.web.port, source, GZIP)
        assert plain.status == zipped.status == 200, (source, plain.status, zipped.status)
        assert zipped.headers.get("content-encoding") == "gzip", source
        assert gzip.decompress(zipped.body) == plain.body, source
        (root / name).write_bytes(plain.body)
        (root / f"{name}.gz").write_bytes(zipped.body)
        stack.nginx.static_headers[name] = {
            key: value for key, value in zipped.headers.items() if key not in NGINX_OWN_HEADERS
        }
        sizes[source] = (
            f"{len(plain.body) / 1024:,.1f} KB plain, {len(zipped.body) / 1024:,.1f} KB gzip"
        )
    stack.nginx.reload()
    return sizes


def name_of(resource: str) -> str:
    return "page" if resource == PAGE else "summary.json"


def ratio(cell: Cell, base: Cell) -> str:
    return f"{cell.rps / base.rps:5.3f}" if base.rps else "  -  "


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 s per wrk cell, 1 round")
    parser.add_argument("--duration", type=float, default=None, help="seconds per wrk cell")
    parser.add_argument(
        "--rounds", type=int, default=None, help="times each row's cells run in turn (3)"
    )
    parser.add_argument("--server", choices=SERVERS, default="granian")
    parser.add_argument("--workers", type=int, default=3, help="web worker processes (compose: 3)")
    args = parser.parse_args()
    duration = args.duration or (2.0 if args.quick else 3.0)
    args.rounds = args.rounds or (1 if args.quick else 3)
    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            sys.exit(
                f"{tool} is not installed (apt-get install -y nginx wrk redis-server postgresql)"
            )

    static_root = Path(tempfile.mkdtemp(prefix="candor-static-"))
    lua = static_root / "statuses.lua"
    lua.write_text(STATUS_LUA)
    stack = Stack(server=args.server, workers=args.workers, static_root=static_root)
    print(f"Outage-traffic benchmark: {load()}")
    try:
        stack.start(say=lambda line: print(f"  {line}", flush=True))
        return run(stack, static_root, lua, duration, args)
    finally:
        stack.destroy()
        shutil.rmtree(static_root, ignore_errors=True)


def run(
    stack: Stack, static_root: Path, lua: Path, duration: float, args: argparse.Namespace
) -> int:
    for path, size in write_static(stack, static_root).items():
        print(f"  {path}: {size}")
    static_port = stack.nginx.static_port
    assert static_port is not None
    targets = {
        "a": (static_port, {PAGE: "/page.html", SUMMARY: "/summary.json"}),
        "a+h": (
            static_port,
            {PAGE: "/with-headers/page.html", SUMMARY: "/with-headers/summary.json"},
        ),
        "b": (stack.web.port, {PAGE: PAGE, SUMMARY: SUMMARY}),
        "c": (stack.nginx.port, {PAGE: PAGE, SUMMARY: SUMMARY}),
    }
    # Warm every server and copy once (renders, the front cache) before measuring.
    for port, paths in targets.values():
        for path in paths.values():
            for headers in ({}, GZIP):
                fetch(port, path, headers)

    server = f"{args.server} ({args.workers} workers)"
    print(f"\nwrk -t2, {duration:.0f} s per cell, each row's cells run in turn {args.rounds} "
          f"times (a, a+h, b, c, a, ...): medians of req/s, p50 ms, p99 ms. (a) nginx static "
          f"files, (a+h) the same with Candor's headers added, (b) Candor on {server}, "
          f"(c) the front cache in front of (b).")  # fmt: skip
    print(
        f"{'':26} {'(a) nginx static':>24} | {'(a+h) c/(a+h)':>14} | {'(b) Candor':>24} "
        f"{'b/a':>5} | {'(c) front cache':>24} {'c/a':>5}"
    )
    results: dict[tuple[str, str, int], dict[str, Cell]] = {}
    for resource in (PAGE, SUMMARY):
        for encoding, headers in (("gzip", GZIP), ("plain", {})):
            for connections in CONNECTIONS:
                runs: dict[str, list[Cell]] = {name: [] for name in targets}
                for _ in range(args.rounds):
                    for name, (port, paths) in targets.items():
                        runs[name].append(
                            wrk(port, paths[resource], connections, duration, headers)
                        )
                row = {name: median_cell(cells) for name, cells in runs.items()}
                results[(resource, encoding, connections)] = row
                label = f"{name_of(resource):12} {encoding:5} {connections:>4}c"
                a, ah, b, c = row["a"], row["a+h"], row["b"], row["c"]
                print(
                    f"{label:26} {a.short():>24} | {ah.rps:>8,.0f} {ratio(c, ah)} | "
                    f"{b.short():>24} {ratio(b, a)} | {c.short():>24} {ratio(c, a)}",
                    flush=True,
                )

    page64 = results[(PAGE, "gzip", 64)]
    page256 = results[(PAGE, "gzip", 256)]
    errors = sum(cell.errors for row in results.values() for cell in row.values())
    checks = [
        ("(b) >= 0.25 of (a), gzipped page, 64 conns", page64["b"].rps >= 0.25 * page64["a"].rps,
         ratio(page64["b"], page64["a"])),
        ("(c) >= 0.9 of (a), gzipped page, 64 conns", page64["c"].rps >= 0.9 * page64["a"].rps,
         ratio(page64["c"], page64["a"])),
        ("(c) >= 0.9 of (a), gzipped page, 256 conns", page256["c"].rps >= 0.9 * page256["a"].rps,
         ratio(page256["c"], page256["a"])),
        ("(b) p99 < 100 ms, gzipped page, 256 conns", page256["b"].p99_ms < 100,
         f"{page256['b'].p99_ms:.1f} ms"),
        ("(c) p99 < 100 ms, gzipped page, 256 conns", page256["c"].p99_ms < 100,
         f"{page256['c'].p99_ms:.1f} ms"),
        ("no errors (socket errors, non-2xx/3xx) in any cell", errors == 0, str(errors)),
    ]  # fmt: skip
    print("\nTargets (issue 13):")
    for text, met, figure in checks:
        print(f"  {'met    ' if met else 'NOT MET'}  {text}: {figure}")

    # Conditional GETs: the reader's browser revalidating with the ETag it has.
    print(
        "\nConditional GETs (If-None-Match: current ETag), gzipped page, 64 conns, "
        f"{duration:.0f} s:"
    )
    for name, (port, paths) in targets.items():
        etag = fetch(port, paths[PAGE], GZIP).headers["etag"]
        cell = wrk(port, paths[PAGE], 64, duration, {**GZIP, "If-None-Match": etag}, lua)
        ok, not_modified, other = cell.statuses or (0, 0, 0)
        share = not_modified / max(1, ok + not_modified + other)
        print(
            f"  ({name}) {cell.short()}  304s {share:.1%} "
            f"({not_modified:,}; 200 {ok:,}, other {other:,})"
        )

    # A change by staff, through the front cache.
    print("\nA staff update seen through the front cache (poll every 50 ms, gzip):")
    credentials = stack.api_key()
    incident_path = f"/s/demo/incidents/{credentials['incident']}/"
    for path in (incident_path, PAGE, incident_path):
        fetch(stack.nginx.port, path, GZIP)  # a cached copy to replace
    delays = []
    for attempt in range(3):
        marker = f"Front cache check {attempt} {time.time():.0f}"
        started = time.monotonic()
        answer = stack.post_update(credentials, marker)
        assert answer.status == 201, (answer.status, answer.body[:300])
        posted = time.monotonic() - started
        delay = visible_after(stack.nginx.port, incident_path, marker.encode(), started)
        delays.append(delay)
        print(
            f"  update {attempt + 1}: API answered in {posted * 1000:.0f} ms, on the incident "
            f"page through nginx after {delay:.2f} s"
        )
        time.sleep(1.5)
    print(f"  worst {max(delays):.2f} s")

    # PostgreSQL stopped: Candor serves its last good copies from Redis.
    print(
        f"\nPostgreSQL stopped, gzipped page, 64 conns, {duration:.0f} s (statuses 200/304/other):"
    )
    stack.postgres.stop("fast")
    try:
        for name in ("b", "c"):
            port, paths = targets[name]
            cell = wrk(port, paths[PAGE], 64, duration, GZIP, lua)
            print(f"  ({name}) {cell.short()}  statuses {cell.statuses}")
    finally:
        stack.postgres.start()

    # The web process gone: nginx alone, with its last copies.
    print(f"\nWeb process killed, (c) front cache only, {duration:.0f} s per cell (200/304/other):")
    stack.web.kill()
    for resource in (PAGE, SUMMARY):
        for connections in CONNECTIONS:
            port, paths = targets["c"]
            cell = wrk(port, paths[resource], connections, duration, GZIP, lua)
            print(f"  {name_of(resource):12} {connections:>4}c "
                  f"{cell.short()}  statuses {cell.statuses}")  # fmt: skip

    print(f"\nDone: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
