"""Private services for the fault drills (and benchmarks/notifications_fanout.py).

Drills stop and restart PostgreSQL and Redis, so they never use the shared ones: each gets a
throwaway redis-server and a PostgreSQL cluster (initdb in a temp dir, its own port). Started
by benchmarks/drills/run.py, one cluster serves every drill: its port is handed down in
CANDOR_DRILL_PG_PORT, the migrated template database in CANDOR_DRILL_PG_TEMPLATE, and each drill
copies the template into a database of its own (a second, not a migration). A drill started on
its own makes its cluster itself.

Also here: the web process (granian, as in production), a Celery worker and beat, servers that
misbehave (an SMTP server that refuses, a TCP server that accepts and never answers), and the
small helpers every drill prints with.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_BIN = Path(os.environ.get("CANDOR_DRILL_PG_BIN", "/usr/lib/postgresql/15/bin"))
TEMPLATE_DB = "candor_drill_template"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(port: int, probe: bytes | None = None, expect: bytes = b"") -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            if probe is None:
                return True
            sock.sendall(probe)
            return sock.recv(16).startswith(expect)
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.1) -> float | None:
    """Seconds until check() was true, or None after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(step)
    return None


# --- Redis -------------------------------------------------------------------------------


class PrivateRedis:
    """A throwaway redis-server on 127.0.0.1 (no RDB, no AOF, its own temp dir): the shared
    Redis is never restarted. SIGKILL and start again = an empty broker and cache, every queued
    and unacked message gone."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="candor-drill-redis-")
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers(self) -> bool:
        return answers(self.port, b"PING\r\n", b"+PONG")

    def start(self) -> PrivateRedis:
        if self.process is None and self._answers():
            sys.exit(f"Something already listens on 127.0.0.1:{self.port}; pick another port.")
        log = open(Path(self.dir) / "redis.log", "ab")  # noqa: SIM115 (kept for the process)
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self.dir,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.starts += 1
        if wait_until(self._answers, 10, 0.05) is None:
            raise SystemExit("The private redis-server did not start.")
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- PostgreSQL --------------------------------------------------------------------------


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: under root (CI containers), run them as the
    # postgres account the Debian package creates.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb in a temp dir, trust authentication, fsync off:
    a drill's data is thrown away) on 127.0.0.1:`port`."""

    def __init__(self, port: int | None = None, directory: str | None = None) -> None:
        self.port = port or free_port()
        self.dir = Path(directory or tempfile.mkdtemp(prefix="candor-drill-pg-"))
        self.data = self.dir / "data"
        self.owned = directory is None

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                 "-E", "UTF8", "--no-sync"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        return self

    def start(self) -> PrivatePostgres:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
                 "-l", str(self.dir / "postgres.log"), "-w", "-t", "60", "start"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        return self

    def stop(self, mode: str = "fast") -> None:
        """mode "immediate" is a crash (no checkpoint, clients cut off at once)."""
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def destroy(self) -> None:
        self.stop("immediate")
        if self.owned:
            shutil.rmtree(self.dir, ignore_errors=True)

    def sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)

    def migrate(self, database: str) -> None:
        self.sql(f'CREATE DATABASE "{database}"')
        env = {**os.environ, "DATABASE_URL": self.url(database), "REDIS_URL": ""}
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )

    def copy_template(self, database: str) -> None:
        self.sql(f'CREATE DATABASE "{database}" TEMPLATE "{TEMPLATE_DB}"')


def shared_cluster() -> PrivatePostgres | None:
    """The cluster run.py started for all drills, if any."""
    port = os.environ.get("CANDOR_DRILL_PG_PORT")
    if not port:
        return None
    return PrivatePostgres(int(port), os.environ["CANDOR_DRILL_PG_DIR"])


# --- the stack a drill runs against ---------------------------------------------------------


@dataclass
class Stack:
    """PostgreSQL (a database of its own in the shared or a private cluster) and a private
    Redis, with this process's Django pointed at them. Call setup() before importing models."""

    name: str
    postgres: PrivatePostgres | None = None
    redis: PrivateRedis | None = None
    database: str = ""
    processes: list[Managed] = field(default_factory=list)

    def setup(self) -> Stack:
        started = time.monotonic()
        self.redis = PrivateRedis().start()
        self.database = f"candor_drill_{self.name}_{uuid.uuid4().hex[:6]}"
        self.postgres = shared_cluster()
        if self.postgres is not None:
            self.postgres.copy_template(self.database)
        else:
            self.postgres = PrivatePostgres().init().start()
            self.postgres.migrate(self.database)
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "benchmarks.drills.settings",
                "DATABASE_URL": self.postgres.url(self.database),
                "REDIS_URL": self.redis.url,
                "CONN_MAX_AGE": "0",
            }
        )
        os.environ.pop("CELERY_BROKER_URL", None)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        say(f"services: PostgreSQL :{self.postgres.port} ({self.database}), Redis "
            f":{self.redis.port}, ready in {time.monotonic() - started:.1f} s")  # fmt: skip
        return self

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING", **extra})
        return env

    def teardown(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        from django.db import connections

        connections.close_all()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            if self.postgres.owned:
                self.postgres.destroy()
            else:
                try:
                    self.postgres.sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
                except Exception as exc:  # the cluster may be down after a failed drill
                    say(f"could not drop {self.database}: {exc}")

    # processes ---------------------------------------------------------------------------

    def web(self, workers: int = 2, **env: str) -> Web:
        process = Web(self.env(**env), workers)
        self.processes.append(process)
        return process.start()

    def worker(self, concurrency: int = 2, *, supervise: bool = True, **env: str) -> Managed:
        process = Managed(
            "worker",
            [str(BIN / "celery"), "-A", "config", "worker", "-P", "prefork", "-c", str(concurrency),
             "-n", f"drill-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-l", "INFO"],
            self.env(**env),
            ready=lambda log: b" ready." in log,
            supervise=supervise,
        )  # fmt: skip
        self.processes.append(process)
        return process.start()

    def beat(self, **env: str) -> Managed:
        schedule = Path(tempfile.mkdtemp(prefix="candor-drill-beat-")) / "schedule"
        process = Managed(
            "beat",
            [str(BIN / "celery"), "-A", "config", "beat", "-l", "INFO", "-s", str(schedule),
             "--pidfile="],
            self.env(**env),
            ready=lambda log: b"beat: Starting" in log or b"is starting" in log,
            supervise=True,
        )  # fmt: skip
        self.processes.append(process)
        return process.start()


class Managed:
    """A child process in its own process group (kill() takes its children too).

    With `supervise`, it is started again whenever it exits on its own, after docker's restart
    delay (100 ms, doubled on every restart that follows within 10 s): docker-compose.yml runs
    the worker and beat with `restart: unless-stopped`, Kubernetes restarts them likewise.
    """

    def __init__(
        self,
        name: str,
        command: list[str],
        env: dict[str, str],
        ready: Callable[[bytes], bool],
        *,
        supervise: bool = False,
    ) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.ready = ready
        self.supervise = supervise
        self.process: subprocess.Popen | None = None
        self.log_path = Path(tempfile.mkstemp(prefix=f"candor-drill-{name}-", suffix=".log")[1])
        self.restarts: list[float] = []  # monotonic times the supervisor started it again
        self.stopping = False

    def _spawn(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self, timeout: float = 60.0) -> Managed:
        self.stopping = False
        offset = self.log_path.stat().st_size
        self._spawn()
        assert self.process is not None
        process = self.process
        waited = wait_until(
            lambda: self.ready(self.log_path.read_bytes()[offset:]) or process.poll() is not None,
            timeout,
            0.1,
        )
        if waited is None or process.poll() is not None:
            raise RuntimeError(f"{self.name} did not start:\n{self.log_tail()}")
        if self.supervise:
            threading.Thread(target=self._supervise, daemon=True).start()
        return self

    def _supervise(self) -> None:
        delay = 0.1
        while True:
            process = self.process
            if process is None:
                return
            process.wait()
            if self.stopping or process is not self.process:
                return
            lived = time.monotonic()
            time.sleep(delay)
            if self.stopping:
                return
            say(f"{self.name} exited with {process.returncode}; restarted by the supervisor")
            self.restarts.append(time.monotonic())
            self._spawn()
            delay = 0.1 if time.monotonic() - lived > 10 else min(delay * 2, 10.0)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL the whole process group at once (a lost machine, the OOM killer). Not
        restarted by the supervisor: the drill starts the replacement itself."""
        self.stopping = True
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        self.stopping = True
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


class Web(Managed):
    """granian serving config.wsgi, as the Dockerfile runs it."""

    def __init__(self, env: dict[str, str], workers: int = 2) -> None:
        self.port = free_port()
        super().__init__(
            "web",
            [str(BIN / "granian"), "--interface", "wsgi", "config.wsgi:application",
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
             "--blocking-threads=8", "--log-config=config/granian-log.json"],
            env,
            ready=lambda log: b"Started worker" in log,
        )  # fmt: skip

    def start(self, timeout: float = 60.0) -> Web:
        super().start(timeout)
        if wait_until(lambda: answers(self.port), timeout) is None:
            raise RuntimeError(f"web did not listen:\n{self.log_tail()}")
        return self

    def get(self, path: str, **headers: str) -> Response:
        return request("GET", f"http://127.0.0.1:{self.port}{path}", headers=headers)

    def post(self, path: str, body: object, **headers: str) -> Response:
        return request(
            "POST",
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **headers},
        )


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> object:
        return json.loads(self.body)


def request(
    method: str, url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
) -> Response:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(req, timeout=15) as answer:  # noqa: S310 (loopback)
            return Response(
                answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
            )
    except urllib.error.HTTPError as error:
        return Response(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


# --- servers that misbehave ----------------------------------------------------------------


class SilentServer:
    """Accepts TCP connections and never says a word (an SMTP server or webhook receiver that
    hangs). With `greeting`, sends it and closes (an SMTP server that refuses: 421/554)."""

    def __init__(self, greeting: bytes | None = None, port: int = 0) -> None:
        self.greeting = greeting
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.held: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            if self.greeting is None:
                self.held.append(conn)  # never answered, never closed until close()
            else:
                try:
                    conn.sendall(self.greeting)
                finally:
                    conn.close()

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for conn in self.held:
            conn.close()


# --- printing ------------------------------------------------------------------------------

_started = time.monotonic()


def say(line: str) -> None:
    print(f"[{time.monotonic() - _started:6.1f} s] {line}", flush=True)


class Checks:
    """What a drill expected, what it counted, and whether it held."""

    def __init__(self, drill: str) -> None:
        self.drill = drill
        self.results: list[tuple[bool, str]] = []

    def check(self, ok: bool, what: str) -> bool:
        self.results.append((ok, what))
        say(f"{'ok  ' if ok else 'FAIL'} {what}")
        return ok

    def finish(self) -> None:
        failed = [what for ok, what in self.results if not ok]
        print(f"RESULT {self.drill}: {len(self.results) - len(failed)}/{len(self.results)} checks "
              f"passed", flush=True)  # fmt: skip
        sys.exit(1 if failed else 0)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# --- a status page with subscribers, and the pipeline's counts ----------------------------


def audience(emails: int, hook_url: str = "", hooks: int = 0, slug: str = "drill"):
    """An organization with one component, `emails` confirmed email subscribers and `hooks`
    webhook subscribers posting to hook_url/<n>; returns (organization, component, API key)."""
    from django.utils import timezone

    from apps.notifications.models import Subscriber
    from tests.factories import ApiKeyFactory, ComponentFactory, OrganizationFactory

    org = OrganizationFactory(name="Drill Cloud", slug=slug)
    component = ComponentFactory(organization=org, name="API")
    now = timezone.now()
    rows = [
        Subscriber(
            organization=org,
            channel=Subscriber.Channel.EMAIL,
            email=f"reader{n}@{slug}.example.com",
            confirmed_at=now,
        )
        for n in range(emails)
    ] + [
        Subscriber(
            organization=org,
            channel=Subscriber.Channel.WEBHOOK,
            url=f"{hook_url}/{n}",
            email=f"ops{n}@{slug}.example.com",
            confirmed_at=now,
        )
        for n in range(hooks)
    ]
    Subscriber.objects.bulk_create(rows, batch_size=2000)
    return org, component, ApiKeyFactory(organization=org)


def open_incident(web: Web, key_secret: str, component_id: str, name: str) -> Response:
    """Open an incident through the management API, as a script or an alert would."""
    return web.post(
        "/api/v1/incidents/",
        {
            "name": name,
            "status": "investigating",
            "body": f"{name}: we are looking into it.",
            "components": {component_id: "major_outage"},
        },
        Authorization=f"Bearer {key_secret}",
    )


def delivery_counts(org_id: int) -> Counter:
    from apps.notifications.models import Delivery

    return Counter(Delivery.objects.filter(organization_id=org_id).values_list("status", flat=True))


def unprocessed_events(org_id: int) -> int:
    from apps.notifications.models import NotificationEvent

    return NotificationEvent.objects.filter(
        organization_id=org_id, processed_at__isnull=True, deliver=True
    ).count()


def all_sent(org_id: int, expected: int) -> bool:
    counts = delivery_counts(org_id)
    return unprocessed_events(org_id) == 0 and counts.get("sent", 0) >= expected


def mail_counts(recipients: list[str], addresses: list[str], per_address: int) -> tuple[int, int]:
    """(missing, duplicates): messages the sink should have had for `addresses` (each
    per_address times, once per event) and did not, and messages beyond that."""
    counts = Counter(recipients)
    duplicates = sum(max(0, counts[a] - per_address) for a in addresses)
    missing = sum(max(0, per_address - counts[a]) for a in addresses)
    return missing, duplicates
