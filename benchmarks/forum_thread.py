"""Incident forum benchmark (issue 11): a thread of 50 comments beside one of 5,000, and a burst.

One organization, two incidents: one with 50 comments, one with 5,000 (mixed depths, a few
pinned, some hidden, some removed, some by staff). For each, printed side by side:

- `read_thread`'s first page (what the incident page's first screen reads): queries, time;
- the incident page through the Django test client: an anonymous reader on a cold render
  (the organization's content version bumped before each request, so nothing is served from
  the page cache), the same reader on a cache hit, and a signed-in customer;
- the bare SQL fetch of the same rows: the two queries `read_thread` runs (a page of top-level
  comments, then all their replies), by `cursor.execute`, no ORM and no rendering.

The target: the first screen with 5,000 comments costs at most twice the time with 50.

Then the burst: 50 client threads (in 5 processes, so they do not share this process's GIL)
post 200 comments a second through `forum.services.post_comment` on the 5,000-comment thread
for 5 seconds, each comment by a different customer from a different address, while this
process fetches the anonymous incident page in a loop. Printed: the readers' p50/p95/max latency
and errors beside the same loop with no burst, and the writers' achieved rate.

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE candor_bench_forum'
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/candor_bench_forum \\
    REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python benchmarks/forum_thread.py

It clears the Redis database it is given (the page cache and the forum's rate-limit counters).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.models import User  # noqa: E402
from apps.forum import markup  # noqa: E402
from apps.forum.models import Comment, Thread  # noqa: E402
from apps.forum.services import ForumError, post_comment, read_thread  # noqa: E402
from apps.incidents.models import Incident, IncidentUpdate  # noqa: E402
from apps.organizations.models import Membership, Organization  # noqa: E402
from apps.organizations.principals import Customer  # noqa: E402
from apps.status.models import Component  # noqa: E402

BODIES = [
    "Same here from Frankfurt: API calls take **6 to 8 seconds**.",
    "Is this the same problem as the one with webhooks this morning?",
    "We see it too. `GET /v1/orders` is the slowest for us.",
    "Thanks for the update. Any estimate?\n\n- EU West: slow\n- US East: fine",
    "> Requests still work, but slowly.\n\nConfirmed, nothing fails here, it is only slow.",
    "Our checkout is affected; see [our status page](https://example.com/status).",
]
READ_RUNS = 15


def check_environment() -> None:
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        sys.exit("Set DATABASE_URL to the PostgreSQL database candor_bench_forum.")
    if not settings.REDIS_URL:
        sys.exit("Set REDIS_URL (a Redis database the benchmark may clear, e.g. /13).")


# --- the data ------------------------------------------------------------------------------------


def create_page() -> tuple[Organization, User, User]:
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    org = Organization.objects.create(name="Benchmark Cloud", slug=slug)
    Component.objects.bulk_create(
        Component(organization=org, name=f"Service {n + 1}", position=n + 1) for n in range(20)
    )
    staff = User.objects.create_user(email=f"staff@{slug}.example.com", display_name="Sam Staff")
    Membership.objects.create(organization=org, user=staff, role="editor")
    reader = User.objects.create_user(email=f"reader@{slug}.example.com", display_name="Riley")
    return org, staff, reader


def create_incident(org: Organization, name: str) -> Incident:
    incident = Incident.objects.create(
        organization=org, name=name, status="identified", impact="major"
    )
    IncidentUpdate.objects.create(
        organization=org,
        incident=incident,
        status="identified",
        body="A network link into our Dublin region is overloaded; we are moving traffic.",
    )
    return incident


def create_customers(org: Organization, count: int, label: str) -> list[User]:
    slug = org.slug
    return User.objects.bulk_create(
        [
            User(email=f"{label}{n}@{slug}.example.com", display_name=f"Customer {label}{n}")
            for n in range(count)
        ],
        batch_size=2000,
    )


def build_thread(
    org: Organization, incident: Incident, total: int, authors: list[User], staff: User
) -> None:
    """`total` comments: 40 % top level, 40 % replies, 20 % replies to replies (the depth
    cap); 5 % hidden, 1 % removed, 5 % by staff, two pinned; created over the last hours."""
    rng = random.Random(total)
    thread = Thread.objects.create(organization=org, incident=incident)
    rendered = [(body, markup.render(body)) for body in BODIES]
    start = timezone.now() - timedelta(hours=3)
    made = 0

    def comment(**fields: Any) -> Comment:
        nonlocal made
        made += 1
        body, html = rng.choice(rendered)
        roll = rng.random()
        status = "hidden" if roll < 0.05 else "removed" if roll < 0.06 else "visible"
        is_staff = rng.random() < 0.05
        author = staff if is_staff else rng.choice(authors)
        return Comment(
            organization=org,
            thread=thread,
            author=author,
            author_name=author.display_name,
            body_source=body,
            body_html=html,
            status=status,
            hidden_reason="Off-topic" if status == "hidden" else "",
            is_staff=is_staff,
            created_at=start + timedelta(seconds=made * 10800 / total),
            **fields,
        )

    roots_count = max(1, total * 4 // 10)
    first_level_count = total * 4 // 10
    roots = Comment.objects.bulk_create(
        [comment(depth=0) for _ in range(roots_count)], batch_size=1000
    )
    first_level = Comment.objects.bulk_create(
        [
            comment(parent=root, in_reply_to=root, root=root, depth=1)
            for root in (rng.choice(roots) for _ in range(first_level_count))
        ],
        batch_size=1000,
    )
    Comment.objects.bulk_create(
        [
            comment(parent=parent, in_reply_to=parent, root_id=parent.root_id, depth=2)
            for parent in (
                rng.choice(first_level) for _ in range(total - roots_count - first_level_count)
            )
        ],
        batch_size=1000,
    )
    visible_roots = [root for root in roots if root.status == "visible"]
    Comment.objects.filter(pk__in=[root.pk for root in visible_roots[:2]]).update(pinned=True)


# --- measuring -----------------------------------------------------------------------------------


def bump(org: Organization) -> None:
    Organization.objects.filter(pk=org.pk).update(content_version=F("content_version") + 1)


def measure(call: Callable[[], Any], before: Callable[[], Any] | None = None) -> tuple[float, int]:
    """(median milliseconds, queries of one call) over READ_RUNS calls, `before` untimed."""
    times = []
    queries = 0
    for _ in range(READ_RUNS):
        if before is not None:
            before()
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        queries = len(ctx.captured_queries)
    return statistics.median(times), queries


def page_get(client: Client, url: str) -> Callable[[], None]:
    def get() -> None:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        response.content  # noqa: B018 (the body is produced, as it is sent)

    return get


SHOWN = ["visible", "hidden", "removed"]
ROOTS_SQL = (
    "SELECT c.*, r.author_name FROM forum_comment c"
    " LEFT JOIN forum_comment r ON r.id = c.in_reply_to_id"
    " WHERE c.thread_id = %s AND c.depth = 0 AND c.status = ANY(%s)"
    " ORDER BY c.pinned DESC, c.id LIMIT %s"
)
REPLIES_SQL = (
    "SELECT c.*, r.author_name FROM forum_comment c"
    " LEFT JOIN forum_comment r ON r.id = c.in_reply_to_id"
    " WHERE c.thread_id = %s AND c.root_id = ANY(%s) AND c.status = ANY(%s) ORDER BY c.id"
)


def bare_fetch(thread_id: int, per_page: int = 50) -> None:
    with connection.cursor() as cursor:
        cursor.execute(ROOTS_SQL, [thread_id, SHOWN, per_page + 1])
        roots = [row[0] for row in cursor.fetchall()][:per_page]
        cursor.execute(REPLIES_SQL, [thread_id, roots, SHOWN])
        cursor.fetchall()


def measure_incident(org: Organization, incident: Incident, reader: User) -> dict[str, str]:
    url = f"/s/{org.slug}/incidents/{incident.public_id}/"
    anonymous = Client()
    signed_in = Client()
    signed_in.force_login(reader)
    thread_id = Thread.objects.get(incident=incident).pk
    figures: dict[str, tuple[float, int]] = {}
    figures["read_thread, first page"] = measure(lambda: read_thread(incident))
    figures["page, anonymous, cold render"] = measure(
        page_get(anonymous, url), before=lambda: bump(org)
    )
    page_get(anonymous, url)()
    figures["page, anonymous, cache hit"] = measure(page_get(anonymous, url))
    figures["page, signed-in reader"] = measure(page_get(signed_in, url))
    figures["page, signed-in reader, after a change"] = measure(
        page_get(signed_in, url), before=lambda: bump(org)
    )
    figures["bare SQL, the same two queries"] = measure(lambda: bare_fetch(thread_id))
    return {name: f"{ms:8.1f} ms {queries:3d} q" for name, (ms, queries) in figures.items()}


# --- the burst -----------------------------------------------------------------------------------


def writer_process(
    incident_pk: int, user_pks: list[int], threads: int, interval: float, until: float, out: Any
) -> None:
    """`threads` clients, each posting one comment every `interval` seconds until `until`, each
    comment by the next unused customer (one comment each: new commenters may post once in
    30 seconds) from an address of its own."""
    incident = Incident.objects.select_related("organization").get(pk=incident_pk)
    organization = incident.organization
    users = {user.pk: user for user in User.objects.filter(pk__in=user_pks)}
    lock = threading.Lock()
    queue = list(user_pks)
    counts = {"posted": 0, "refused": 0, "errors": 0, "ran_out": 0}
    refusals: dict[str, int] = {}

    def client(number: int) -> None:
        next_at = time.time() + interval * number / threads
        try:
            while True:
                delay = next_at - time.time()
                if delay > 0:
                    time.sleep(delay)
                if time.time() >= until:
                    return
                next_at += interval
                with lock:
                    if not queue:
                        counts["ran_out"] += 1
                        return
                    user = users[queue.pop()]
                try:
                    post_comment(
                        incident,
                        actor=Customer(user, organization),
                        body=f"Affected here too ({user.pk}): API calls from Dublin are slow.",
                        ip=f"10.{user.pk // 65536 % 256}.{user.pk // 256 % 256}.{user.pk % 256}",
                    )
                    with lock:
                        counts["posted"] += 1
                except ForumError as error:
                    with lock:
                        counts["refused"] += 1
                        refusals[error.message] = refusals.get(error.message, 0) + 1
                except Exception:  # counted: the figure is how many failed, not why
                    with lock:
                        counts["errors"] += 1
        finally:
            connections.close_all()

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put((counts, refusals))


RENDERS = [0]


def _count_renders() -> None:
    """Count the page renderings this process makes (cache misses), whatever the template."""
    from apps.public import caching

    make_rendering = caching.make_rendering

    def counted(*args: Any, **kwargs: Any) -> Any:
        RENDERS[0] += 1
        return make_rendering(*args, **kwargs)

    caching.make_rendering = counted


@dataclass
class Reads:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    renders: int = 0


def read_loop(urls: list[str], seconds: float) -> dict[str, Reads]:
    """Fetch `urls` in turn as an anonymous reader for `seconds`: latencies, errors and
    renderings (cache misses) of each."""
    client = Client()
    reads = {url: Reads() for url in urls}
    until = time.time() + seconds
    while time.time() < until:
        for url in urls:
            found = reads[url]
            renders_before = RENDERS[0]
            started = time.perf_counter()
            try:
                response = client.get(url)
                response.content  # noqa: B018
                if response.status_code != 200:
                    found.errors += 1
            except Exception:  # a failed read is an error reading, whatever the cause
                found.errors += 1
            found.latencies.append((time.perf_counter() - started) * 1000)
            found.renders += RENDERS[0] - renders_before
    return reads


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def burst(org: Organization, incident: Incident, args: argparse.Namespace) -> None:
    pages = {
        "incident page": f"/s/{org.slug}/incidents/{incident.public_id}/",
        "status page": f"/s/{org.slug}/",
    }
    urls = list(pages.values())
    clients, rate, seconds, processes = args.clients, args.rate, args.seconds, args.processes
    needed = int(rate * seconds * 1.2) + clients
    customers = create_customers(org, needed, "burst")
    for url in urls:
        Client().get(url)  # warm the cache, as pages under outage traffic are

    _count_renders()
    quiet = read_loop(urls, seconds)

    version_before = Organization.objects.get(pk=org.pk).content_version
    comments_before = Comment.objects.filter(thread__incident=incident).count()
    connections.close_all()  # the writers are forked: no connection may be shared
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    per_process = clients // processes
    interval = clients / rate  # each client's gap between two comments
    start_at = time.time() + 1.0
    until = start_at + seconds
    chunks = [customers[n::processes] for n in range(processes)]
    writers = [
        context.Process(
            target=writer_process,
            args=(incident.pk, [u.pk for u in chunk], per_process, interval, until, out),
        )
        for chunk in chunks
    ]
    for writer in writers:
        writer.start()
    time.sleep(max(0.0, start_at - time.time()))
    busy = read_loop(urls, seconds)
    results = [out.get(timeout=120) for _ in writers]
    for writer in writers:
        writer.join(30)
    counts = {key: sum(result[0][key] for result in results) for key in results[0][0]}
    refusals: dict[str, int] = {}
    for _counts, reasons in results:
        for reason, n in reasons.items():
            refusals[reason] = refusals.get(reason, 0) + n
    version_after = Organization.objects.get(pk=org.pk).content_version
    comments_after = Comment.objects.filter(thread__incident=incident).count()

    print(
        f"\nBurst: {clients} clients in {processes} processes, target {rate} comments/s for "
        f"{seconds:.0f} s on the {comments_before:,}-comment thread"
    )
    print(
        f"  writers: {counts['posted']:,} posted ({counts['posted'] / seconds:.0f}/s achieved), "
        f"{counts['refused']} refused, {counts['errors']} errors; "
        f"{comments_after - comments_before:,} new rows; content version +"
        f"{version_after - version_before:,}"
    )
    for reason, n in sorted(refusals.items(), key=lambda item: -item[1]):
        print(f"    refused {n}x: {reason}")
    print(f"  {'anonymous reader, in turn':<28}{'no burst':>14}{'during burst':>16}")
    for label, url in pages.items():
        before, during = quiet[url], busy[url]
        print(f"  {label}")
        rows = [
            ("reads/s", lambda r: f"{len(r.latencies) / seconds:.0f}"),
            ("of which rendered (miss)", lambda r: f"{r.renders}"),
            ("p50 latency", lambda r: f"{percentile(r.latencies, 0.5):.1f} ms"),
            ("p95 latency", lambda r: f"{percentile(r.latencies, 0.95):.1f} ms"),
            ("max latency", lambda r: f"{max(r.latencies, default=0):.1f} ms"),
            ("errors", lambda r: f"{r.errors}"),
        ]
        for name, show in rows:
            print(f"    {name:<26}{show(before):>14}{show(during):>16}")


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument("--large", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--rate", type=float, default=200.0, help="comments a second, in all")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--no-burst", action="store_true")
    args = parser.parse_args()

    check_environment()
    call_command("migrate", verbosity=0)
    cache.clear()
    org, staff, reader = create_page()
    authors = create_customers(org, 300, "author")
    small = create_incident(org, "Slow API responses (small thread)")
    large = create_incident(org, "Slow API responses (large thread)")
    build_thread(org, small, args.small, authors, staff)
    build_thread(org, large, args.large, authors, staff)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE forum_comment")

    small_figures = measure_incident(org, small, reader)
    large_figures = measure_incident(org, large, reader)
    print(f"\nPostgreSQL {connection.pg_version}, median of {READ_RUNS} runs each")
    head_small, head_large = f"{args.small:,} comments", f"{args.large:,} comments"
    print(f"  {'':<40}{head_small:>20}{head_large:>20}")
    for name in small_figures:
        print(f"  {name:<40}{small_figures[name]:>20}{large_figures[name]:>20}")

    def ms(figure: str) -> float:
        return float(figure.split(" ms")[0])

    first_screen = "page, anonymous, cold render"
    ratio = ms(large_figures[first_screen]) / ms(small_figures[first_screen])
    verdict = "within" if ratio <= 2 else "OVER"
    print(
        f"\nFirst screen (anonymous, cold render), {args.large:,} / {args.small:,}: "
        f"{ratio:.2f} ({verdict} the target of 2)"
    )
    if not args.no_burst:
        burst(org, large, args)


if __name__ == "__main__":
    main()
