"""Web and workers are stateless: two web processes and two Celery workers on one PostgreSQL and
one Redis deliver an incident's notifications exactly once (issue 13, "Scale past one machine").

Everything is real and local: a database of its own (DATABASE_URL's name + `_twoweb`, created,
migrated and dropped here), a Redis database of its own (13 on REDIS_URL's server, so no task
of another test or of CI's worker can reach these processes, nor theirs), two `gunicorn`
servers, two `celery worker`s, the SMTP sink and an HTTP receiver on 127.0.0.1. The incident is
opened through web process 1's API and updated through web process 2's; each of 20 email
subscribers must get each of the two mails once, and each of 2 webhook receivers each of the two
calls once (and the component's change, which webhooks also get).

Run: CANDOR_TEST_SERVICES=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/candor_dev
     REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/pytest tests/test_two_web_processes.py
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.notifications.receiver import Receiver, http_receiver
from tests.notifications.smtp_sink import SMTPSink
from tests.notifications.worker import QUEUES, Worker

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not os.environ.get("CANDOR_TEST_SERVICES"),
        reason="set CANDOR_TEST_SERVICES=1 (with DATABASE_URL and REDIS_URL) to run",
    ),
]

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REDIS_DB = 13
EMAIL_READERS = 20
WEBHOOKS = 2

# Run in a fresh interpreter against the new database: the organization, its API key, one
# component, the subscribers. Factories, as in every test (never Model.objects.create).
SEED = """
import json, sys
import django
django.setup()
from tests.factories import ApiKeyFactory, ComponentFactory, OrganizationFactory
from tests.notifications.factories import EmailSubscriberFactory, WebhookSubscriberFactory
hook_url, readers, hooks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
org = OrganizationFactory(name="Two Web", slug="twoweb")
component = ComponentFactory(organization=org, name="API")
key = ApiKeyFactory(organization=org)
for n in range(readers):
    EmailSubscriberFactory(organization=org, email=f"reader{n}@example.com")
for n in range(hooks):
    WebhookSubscriberFactory(organization=org, url=f"{hook_url}/{n}")
print(json.dumps({"key": key.secret, "component": component.public_id}))
"""


def with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Services:
    env: dict[str, str]
    database_url: str
    redis_url: str


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    """A database and a Redis database of this test's own, with the environment that points
    every process at them. The database is dropped and the queues emptied afterwards."""
    import psycopg
    import redis

    base = os.environ.get("DATABASE_URL", "")
    assert urlsplit(base).scheme.startswith("postgres"), "needs DATABASE_URL on PostgreSQL"
    assert os.environ.get("REDIS_URL"), "needs REDIS_URL"
    name = urlsplit(base).path.lstrip("/") + "_twoweb"
    database_url = with_path(base, "/" + name)
    redis_url = with_path(os.environ["REDIS_URL"], f"/{REDIS_DB}")
    admin = with_path(base, "/postgres")
    client = redis.Redis.from_url(redis_url)

    def empty_queues() -> None:
        for queue in QUEUES.split(","):
            for key in client.scan_iter(match=f"{queue}*"):
                client.delete(key)
        client.delete("unacked", "unacked_index")

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    empty_queues()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.notifications.worker_settings",  # loopback webhooks
        "PYTHONPATH": str(BASE_DIR),
        "ENVIRONMENT": "development",
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": f"twoweb-{uuid.uuid4().hex[:8]}",
        "API_RATE_LIMIT": "100000/min",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("CELERY_BROKER_URL", None)
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=BASE_DIR, env=env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        yield Services(env, database_url, redis_url)
    finally:
        empty_queues()
        for key in client.scan_iter(match=f"{env['CACHE_KEY_PREFIX']}:*"):
            client.delete(key)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class WebProcess:
    """`gunicorn config.wsgi` on a port of its own, in its own process group."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.log_path = Path(tempfile.mkstemp(prefix="candor-twoweb-", suffix=".log")[1])
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
            [
                str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", "2",
                "--timeout", "30", "--error-logfile", "-",
            ],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        assert self.process.poll() is None, f"gunicorn exited:\n{self.log_tail()}"
        try:
            with urllib.request.urlopen(f"{self.base}/readyz", timeout=3) as response:  # noqa: S310
                return response.status == 200
        except OSError:
            return False

    def post(self, path: str, key: str, body: dict) -> dict:
        request = urllib.request.Request(  # noqa: S310 (a local http:// URL)
            f"{self.base}{path}",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            assert response.status == 201
            return json.load(response)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.log_path.unlink(missing_ok=True)


def hook_calls(hooks: Receiver) -> dict[str, Counter]:
    """Each webhook subscriber's path -> how many calls it got of each (kind, webhook-id)."""
    calls: dict[str, Counter] = {}
    for request in list(hooks.requests):
        kind = "component_update" if "component_update" in json.loads(request.body) else "incident"
        calls.setdefault(request.path, Counter())[kind, request.headers["webhook-id"]] += 1
    return calls


def test_two_web_processes_and_two_workers_deliver_each_notification_exactly_once(services):
    import psycopg

    webs: list[WebProcess] = []
    workers: list[Worker] = []
    with SMTPSink() as sink, http_receiver() as hooks:
        env = {**services.env, "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}"}
        try:
            # Started first: they come up while the data is written.
            webs = [WebProcess(env), WebProcess(env)]
            workers = [Worker(env), Worker(env)]
            with ThreadPoolExecutor(2) as pool:
                started = [pool.submit(worker.start) for worker in workers]
                seeded = subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
                    [sys.executable, "-c", SEED, hooks.url, str(EMAIL_READERS), str(WEBHOOKS)],
                    cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True, timeout=60,
                )  # fmt: skip
                for future in started:
                    future.result()
            ids = json.loads(seeded.stdout.strip().splitlines()[-1])
            wait_until(lambda: all(web.ready() for web in webs), 40, "both web processes")

            incident = webs[0].post(
                "/api/v1/incidents/",
                ids["key"],
                {
                    "name": "Elevated API errors",
                    "status": "investigating",
                    "body": "We are looking into errors on the API.",
                    "components": {ids["component"]: "major_outage"},
                },
            )
            webs[1].post(
                f"/api/v1/incidents/{incident['id']}/updates/",
                ids["key"],
                {"status": "identified", "body": "A bad deploy; rolling it back."},
            )

            # Mail: the opening and the update. Webhooks: those two and the component's change
            # (webhooks get every component change; mail only when the organization asks).
            wait_until(lambda: sink.state.count() >= 2 * EMAIL_READERS, 40, "the mails")
            wait_until(lambda: len(hooks.requests) >= 3 * WEBHOOKS, 20, "the webhook calls")
            time.sleep(2)  # a duplicate would arrive now
        finally:
            for process in [*webs, *workers]:
                process.stop()

        with psycopg.connect(services.database_url) as conn:
            statuses = dict(
                conn.execute(
                    "SELECT status, count(*) FROM notifications_delivery GROUP BY status"
                ).fetchall()
            )
        mails = [m.message() for m in list(sink.state.messages)]
        recipients = Counter(r for m in sink.state.messages for r in m.recipients)
        calls = hook_calls(hooks)

    readers = {f"reader{n}@example.com" for n in range(EMAIL_READERS)}
    assert recipients == Counter({reader: 2 for reader in readers})
    # The opening and the update, once each: two subjects and two messages per reader.
    assert len({(m["To"], m["Subject"]) for m in mails}) == 2 * EMAIL_READERS
    assert len({m["Message-ID"] for m in mails}) == 2 * EMAIL_READERS
    assert sorted(calls) == [f"/hook/{n}" for n in range(WEBHOOKS)]
    for received in calls.values():
        assert set(received.values()) == {1}, received  # no webhook-id twice
        assert Counter(kind for kind, _ in received) == {"incident": 2, "component_update": 1}
    assert statuses == {"sent": 2 * EMAIL_READERS + 3 * WEBHOOKS}
