"""Start and stop a real `celery -A config worker` process for real-service tests/benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
QUEUES = "default,notifications,webhooks"


def database_url() -> str:
    """A URL for the database this process uses now (the test database once it exists)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("Real-service tests need DATABASE_URL to point at PostgreSQL.")
    user = quote(db.get("USER") or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def worker_env(*, smtp_port: int, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.notifications.worker_settings",
            "PYTHONPATH": str(BASE_DIR),
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    return env


class Worker:
    """One worker (prefork, `concurrency` processes) in its own process group."""

    def __init__(self, env: dict[str, str], concurrency: int = 2) -> None:
        self.env = env
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="candor-worker-", suffix=".log")[1])

    def start(self, timeout: float = 40.0) -> Worker:
        celery = str(Path(sys.executable).with_name("celery"))
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 (our own celery, fixed arguments)
            [
                # No -Q: a plain worker, as people start one, must consume every queue.
                celery, "-A", "config", "worker", "-P", "prefork",
                "-c", str(self.concurrency), "-n", f"test-{uuid.uuid4().hex[:8]}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() takes the children too
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log_path.read_bytes():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"The worker did not start:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once (a lost machine)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def purge_queues() -> None:
    """Drop queued messages left in the broker database by earlier runs."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    for queue in QUEUES.split(","):
        for key in client.scan_iter(match=f"{queue}*"):
            client.delete(key)
    for key in ("unacked", "unacked_index"):
        client.delete(key)
