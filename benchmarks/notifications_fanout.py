"""Notification fan-out benchmark and fault test (issue 4).

10,000 confirmed email subscribers and 500 webhook subscribers receive one incident; one real
Celery worker with 2 prefork processes sends through a local SMTP sink and a local HTTP
receiver. Printed: time from the commit to the last delivery accepted, beside a bare smtplib
loop sending the same 10,000 messages to the same sink in the same run (the ratio is the
figure; the target is >= 0.8). With --kill, the worker is SIGKILLed mid-run and a new one
started: every subscriber must end with the message, duplicates at most what was in flight.

    createdb -h 127.0.0.1 -U postgres candor_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/candor_bench \\
    REDIS_URL=redis://127.0.0.1:6379/12 .venv/bin/python benchmarks/notifications_fanout.py [--kill]

`--runs 5` runs it five times in a row and ends with one line per run (with the load average
when it started) and the medians. `--busy 3` keeps three other processes spinning on the CPU
while the pipeline and the bare loop run: a busy machine, the same for both, on demand.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
PRIVATE_REDIS_PORT = 6390

from benchmarks.drills._services import PrivateRedis  # noqa: E402 (after sys.path is set)

# --restart-redis must point this process (Django, its Celery producer) and the workers at the
# private server before Django reads REDIS_URL.
PRIVATE_REDIS = PrivateRedis(PRIVATE_REDIS_PORT) if "--restart-redis" in sys.argv else None
if PRIVATE_REDIS is not None:
    PRIVATE_REDIS.start()
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{PRIVATE_REDIS_PORT}/0"
    os.environ.pop("CELERY_BROKER_URL", None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.db.models import Max, Min  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.incidents.models import Incident, IncidentUpdate  # noqa: E402
from apps.incidents.notifications import EventKind, snapshot  # noqa: E402
from apps.notifications.channels.email import EventMail  # noqa: E402
from apps.notifications.models import Delivery, NotificationEvent, Subscriber  # noqa: E402
from apps.notifications.pipeline import emit  # noqa: E402
from apps.organizations.models import Organization  # noqa: E402
from tests.notifications.receiver import http_receiver  # noqa: E402
from tests.notifications.smtp_sink import SinkProcess  # noqa: E402
from tests.notifications.worker import Worker, purge_queues, worker_env  # noqa: E402


def cpu_seconds(sink_pid: int, worker_groups: set[int]) -> Counter:
    """CPU time (user + system) used so far by every process on the machine, grouped as
    workers (this run's: their process groups), sink, driver (this process), postgres, redis
    and other (other jobs on the machine, including other people's Celery workers).
    Processes that ended between two snapshots are not counted (with --kill: the killed worker)."""
    tick = os.sysconf("SC_CLK_TCK")
    totals: Counter = Counter()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        pid = int(name)
        if pid == sink_pid:
            group = "sink"
        elif pid == os.getpid():
            group = "driver"
        elif int(fields[2]) in worker_groups:  # the process group (field 5 of /proc/pid/stat)
            group = "workers"
        elif cmdline.startswith(b"postgres") or b"postgres:" in cmdline:
            group = "postgres"
        elif b"redis-server" in cmdline:
            group = "redis"
        else:
            group = "other"
        totals[group] += used
    return totals


def check_environment() -> None:
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (createdb candor_bench).")
    if not settings.REDIS_URL:
        sys.exit("Set REDIS_URL (a Redis database the benchmark may purge, e.g. /12).")


def create_page(emails: int, hooks: int, hook_url: str) -> Organization:
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    org = Organization.objects.create(name="Benchmark Cloud", slug=slug)
    now = timezone.now()
    Subscriber.objects.bulk_create(
        [
            Subscriber(
                organization=org,
                channel=Subscriber.Channel.EMAIL,
                email=f"reader{n}@{slug}.example.com",
                confirmed_at=now,
            )
            for n in range(emails)
        ],
        batch_size=2000,
    )
    Subscriber.objects.bulk_create(
        [
            Subscriber(
                organization=org,
                channel=Subscriber.Channel.WEBHOOK,
                url=f"{hook_url}/{n}",
                email=f"ops{n}@{slug}.example.com",
                confirmed_at=now,
            )
            for n in range(hooks)
        ],
        batch_size=2000,
    )
    return org


def post_incident(org: Organization) -> tuple[NotificationEvent, float]:
    """Open an incident as apps.incidents.services does; returns the event and commit time."""
    with transaction.atomic():
        incident = Incident.objects.create(
            organization=org, name="Elevated API errors", status="investigating", impact="major"
        )
        update = IncidentUpdate.objects.create(
            organization=org, incident=incident, status="investigating", body="Investigating."
        )
        # Fanned out when the transaction commits, as for every emitted event.
        event = emit(EventKind.INCIDENT_OPENED, org, incident, snapshot(incident, update))
    return event, time.time()


def wait_for_all(
    event: NotificationEvent,
    expected: int,
    timeout: float,
    tick: Callable[[], None] | None = None,
) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if tick is not None:
            tick()
        decided = (
            Delivery.objects.filter(event=event).exclude(status=Delivery.Status.PENDING).count()
        )
        if decided >= expected:
            return
        time.sleep(0.25)
    raise SystemExit(f"Timed out: {decided}/{expected} deliveries decided after {timeout:.0f} s")


def bare_loop(sink: SinkProcess, event: NotificationEvent, count: int) -> float:
    """The same rendered messages, sent by plain smtplib over one connection."""
    subscriber = Subscriber.objects.filter(
        organization=event.organization, channel=Subscriber.Channel.EMAIL
    ).first()
    message = EventMail(event).message(subscriber)
    recipients = [f"bare{n}@bench.example.com" for n in range(count)]
    data = message.message().as_bytes()
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        for recipient in recipients:
            smtp.sendmail(message.from_email, [recipient], data)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--webhooks", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--kill", action="store_true", help="SIGKILL the worker mid-run")
    parser.add_argument(
        "--restart-redis",
        action="store_true",
        help=f"SIGKILL a private redis-server (port {PRIVATE_REDIS_PORT}) mid-run, start it again",
    )
    parser.add_argument("--bare-runs", type=int, default=3, help="bare loop repetitions")
    parser.add_argument(
        "--sink-latency",
        type=float,
        default=0.0,
        help="seconds the sink takes to accept each message (a real server queues it first)",
    )
    parser.add_argument(
        "--no-chunking",
        action="store_true",
        help="the sink does not offer CHUNKING (BDAT), so the pipeline sends with DATA",
    )
    parser.add_argument(
        "--timeline", action="store_true", help="print deliveries accepted per half second"
    )
    parser.add_argument(
        "--batches", action="store_true", help="print when each email batch sent its first/last"
    )
    parser.add_argument("--kill-at", type=float, default=0.3, help="fraction of mail sent")
    parser.add_argument(
        "--busy",
        type=int,
        default=0,
        help="keep N other processes spinning on the CPU during the pipeline and the bare loop "
        "(a busy machine, reproducibly)",
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="runs in a row (each prints its figures; then all)"
    )
    args = parser.parse_args()
    results: list[RunResult] = []
    try:
        for number in range(1, args.runs + 1):
            if args.runs > 1:
                print(f"--- run {number} of {args.runs} ---", flush=True)
            results.append(run(args))
    finally:
        if PRIVATE_REDIS is not None:
            PRIVATE_REDIS.stop()
    if len(results) > 1:
        summarize(results)


@dataclass(frozen=True)
class RunResult:
    pipeline: float  # seconds from the commit to the last delivery accepted
    bare: float  # the bare loop's best run, seconds
    load: tuple[float, float, float]  # load average (1, 5, 15 min) when the run started
    duplicates: int
    cpu_ratio: float  # the bare loop's CPU seconds per run / the pipeline's

    @property
    def ratio(self) -> float:
        return self.bare / self.pipeline


def summarize(results: list[RunResult]) -> None:
    """One line per run, then the medians: the machine's state moves between runs (other
    jobs on the same cores), so each run says what the load average was when it started."""
    print(f"=== {len(results)} runs on {os.cpu_count()} cores ===")
    for number, result in enumerate(results, 1):
        load = ", ".join(f"{value:.2f}" for value in result.load)
        print(f"run {number}: pipeline {result.pipeline:.2f} s, bare loop {result.bare:.2f} s, "
              f"ratio {result.ratio:.2f}, CPU ratio {result.cpu_ratio:.2f}, "
              f"duplicates {result.duplicates}; "
              f"load average {load}")  # fmt: skip
    print(f"median: pipeline {statistics.median(r.pipeline for r in results):.2f} s, "
          f"bare loop {statistics.median(r.bare for r in results):.2f} s, "
          f"ratio {statistics.median(r.ratio for r in results):.2f} "
          f"(min {min(r.ratio for r in results):.2f}, max {max(r.ratio for r in results):.2f}; "
          f"target >= 0.8), "
          f"CPU ratio {statistics.median(r.cpu_ratio for r in results):.2f}")  # fmt: skip


class Hogs:
    """`count` processes that spin on the CPU until stopped: the other jobs of a busy machine,
    the same for the pipeline and the bare loop (their CPU counts as "other")."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.processes: list[subprocess.Popen] = []

    def start(self) -> None:
        self.processes = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(self.count)
        ]

    def stop(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait()
        self.processes = []


class Sweepers:
    """The beat tasks `requeue_unprocessed_events` and `retry_due_deliveries`, called from this
    driver every `every` seconds (beat runs both every 3 s) with `--restart-redis` and
    `--kill`."""

    def __init__(self, every: float = 2.0) -> None:
        self.every = every
        self.last = 0.0
        self.calls = 0
        self.events = 0
        self.deliveries = 0

    def __call__(self) -> None:
        from apps.notifications import tasks

        if time.monotonic() - self.last < self.every:
            return
        self.last = time.monotonic()
        self.calls += 1
        # Run in this process (they only query and enqueue), as beat's worker would.
        self.events += tasks.requeue_unprocessed_events.run()
        self.deliveries += tasks.retry_due_deliveries.run()


def run(args: argparse.Namespace) -> RunResult:
    # The sink runs in a process of its own (forked before any database connection exists),
    # so neither the pipeline nor the bare loop shares a GIL with it.
    sink_process = SinkProcess(delay=args.sink_latency, chunking=not args.no_chunking)
    with sink_process as sink, http_receiver() as receiver:
        check_environment()
        call_command("migrate", verbosity=0)
        purge_queues()
        org = create_page(args.emails, args.webhooks, receiver.url)
        # Workers as in production: DEBUG off (no per-query bookkeeping).
        env = worker_env(smtp_port=sink.port, DEBUG="0")
        if args.kill or args.restart_redis:
            env["CELERY_VISIBILITY_TIMEOUT"] = "10"
        if args.restart_redis:
            # Rows whose batch message died with Redis are due for the sweeper 10 s after
            # creation (120 s in production), an unfinished fan-out 10 s after its event.
            env["NOTIFICATIONS_SWEEP_GRACE_SECONDS"] = "10"
            settings.NOTIFICATIONS_EVENT_REQUEUE_AFTER_SECONDS = 10
        # Beat's sweepers, as production runs them: a message lost with a killed worker (popped
        # from Redis, not yet recorded as unacknowledged) is never restored by the broker.
        sweepers = Sweepers() if args.restart_redis or args.kill else None
        load = os.getloadavg()
        restart_at = restart_pause = None
        hogs = Hogs(args.busy)
        workers = [Worker(env, concurrency=args.concurrency).start()]
        try:
            hogs.start()
            groups = {worker.process.pid for worker in workers if worker.process}
            cpu_before = cpu_seconds(sink.pid, groups)
            event, committed = post_incident(org)
            killed_at = None
            if args.kill:
                while sink.state.count() < args.emails * args.kill_at:
                    time.sleep(0.05)
                workers[0].kill()
                killed_at = sink.state.count()
                workers.append(Worker(env, concurrency=args.concurrency).start())
            if PRIVATE_REDIS is not None:
                while sink.state.count() < args.emails * args.kill_at:
                    time.sleep(0.05)
                PRIVATE_REDIS.kill()
                restart_at = sink.state.count()
                down = time.monotonic()
                time.sleep(1.0)
                PRIVATE_REDIS.start()
                restart_pause = time.monotonic() - down
            wait_for_all(event, args.emails + args.webhooks, timeout=900, tick=sweepers)
            last = Delivery.objects.filter(event=event).aggregate(last=Max("sent_at"))["last"]
            pipeline = last.timestamp() - committed
            groups |= {worker.process.pid for worker in workers if worker.process}
            cpu_used = cpu_seconds(sink.pid, groups) - cpu_before
            pipeline_mails = sink.state.count()
            # The bare loop's time swings with the machine's state (on a VM, waking an idle
            # vCPU for each of smtplib's round trips costs more than the work itself): run it
            # several times and compare against its best.
            cpu_bare_before = cpu_seconds(sink.pid, groups)
            bares = [bare_loop(sink, event, args.emails) for _ in range(args.bare_runs)]
            cpu_bare = cpu_seconds(sink.pid, groups) - cpu_bare_before
            bare = min(bares)
        finally:
            hogs.stop()
            for worker in workers:
                worker.stop()

        spans = {
            row["channel"]: (
                row["first"].timestamp() - committed,
                row["last"].timestamp() - committed,
            )
            for row in Delivery.objects.filter(event=event)
            .values("channel")
            .annotate(first=Min("sent_at"), last=Max("sent_at"))
        }
        statuses = Counter(Delivery.objects.filter(event=event).values_list("status", flat=True))
        timeline: Counter = Counter(
            (channel, int((sent_at.timestamp() - committed) * 2))
            for channel, sent_at in Delivery.objects.filter(event=event).values_list(
                "channel", "sent_at"
            )
        )
        batch_spans: dict[int, list[float]] = {}
        if args.batches:
            # The workers' chunk (tests/notifications/worker_settings.py): one email batch each.
            chunk = int(os.environ.get("NOTIFICATIONS_FANOUT_CHUNK", "1000"))
            rows = Delivery.objects.filter(event=event, channel="email").values_list(
                "id", "sent_at"
            )
            first_id = min(pk for pk, _ in rows)
            for pk, sent_at in rows:
                span = batch_spans.setdefault((pk - first_id) // chunk, [])
                span.append(sent_at.timestamp() - committed)
        mails = Counter(r for r in sink.state.recipients() if not r.startswith("bare"))
        hook_paths = Counter(r.path for r in receiver.requests)

    print(f"subscribers: {args.emails} email + {args.webhooks} webhook; "
          f"1 worker x {args.concurrency} processes; "
          + ("sink offers PIPELINING only; " if args.no_chunking else
             "sink offers PIPELINING and CHUNKING; ")
          + (f"{args.busy} spinning processes beside it; " if args.busy else "")
          + "load average at the start "
          + ", ".join(f"{value:.2f}" for value in load))  # fmt: skip
    print(f"deliveries: {dict(statuses)}")
    print(f"pipeline: commit -> last delivery accepted {pipeline:.2f} s "
          f"({args.emails / pipeline:.0f} mail/s incl. webhooks)")  # fmt: skip
    print(f"bare smtplib loop, same {args.emails} messages, same sink, best of "
          f"{len(bares)}: {bare:.2f} s ({args.emails / bare:.0f} mail/s); all runs: "
          + ", ".join(f"{b:.2f} s" for b in bares))  # fmt: skip
    print(f"ratio (bare time / pipeline time): {bare / pipeline:.2f}  (target >= 0.8)")
    for channel, (first, last) in sorted(spans.items()):
        print(f"  {channel}: first accepted {first:.2f} s, last {last:.2f} s after the commit")
    print(
        "CPU seconds used until every delivery was decided: "
        + ", ".join(f"{group} {seconds:.1f}" for group, seconds in cpu_used.most_common())
        + f" (2 cores x {pipeline:.1f} s = {2 * pipeline:.1f})"
    )
    # What the machine's load cannot move: CPU seconds spent per run. The bare loop's are the
    # driver's (smtplib) and the sink's; the pipeline's the workers' and the sink's (PostgreSQL
    # and Redis left out: the shared server also serves other people's jobs).
    bare_cpu = (cpu_bare["driver"] + cpu_bare["sink"]) / len(bares)
    pipeline_cpu = cpu_used["workers"] + cpu_used["sink"]
    print(f"CPU ratio (bare loop's CPU / pipeline's CPU): {bare_cpu:.2f} s / {pipeline_cpu:.2f} s "
          f"= {bare_cpu / pipeline_cpu:.2f} (bare: smtplib + sink per run; pipeline: workers "
          f"+ sink, with the 500 webhooks)")  # fmt: skip
    if args.timeline:
        print("accepted per half second after the commit (email / webhook):")
        for slot in range(max(slot for _, slot in timeline) + 1):
            print(
                f"  {slot / 2:5.1f} s  {timeline['email', slot]:5d}  {timeline['webhook', slot]:4d}"
            )
    for number, times in sorted(batch_spans.items()):
        print(f"  email batch {number}: {len(times)} sent from {min(times):.2f} s to "
              f"{max(times):.2f} s after the commit")  # fmt: skip
    missing = args.emails - len(mails)
    duplicates = sum(c - 1 for c in mails.values()) + sum(c - 1 for c in hook_paths.values())
    print(f"mail at sink during pipeline: {pipeline_mails}; missing recipients: {missing}; "
          f"duplicates (mail + webhook): {duplicates}; "
          f"webhooks received: {len(hook_paths)}")  # fmt: skip
    if args.kill and sweepers is not None:
        print(f"killed the worker (SIGKILL, whole process group) at {killed_at} mails; "
              f"sweepers called {sweepers.calls} times from the driver: {sweepers.events} "
              f"fan-outs and {sweepers.deliveries} deliveries re-enqueued")  # fmt: skip
    if args.restart_redis and sweepers is not None:
        print(f"redis-server on :{PRIVATE_REDIS_PORT} SIGKILLed at {restart_at} mails, empty "
              f"again after {restart_pause:.1f} s; sweepers called {sweepers.calls} times from "
              f"the driver: {sweepers.events} fan-outs and {sweepers.deliveries} deliveries "
              f"re-enqueued")  # fmt: skip
    Organization.objects.filter(pk=org.pk).delete()
    if missing or len(hook_paths) != args.webhooks or set(statuses) != {Delivery.Status.SENT}:
        raise SystemExit("FAILED: some subscribers did not get the message")
    return RunResult(
        pipeline=pipeline,
        bare=bare,
        load=load,
        duplicates=duplicates,
        cpu_ratio=bare_cpu / pipeline_cpu,
    )


if __name__ == "__main__":
    main()
