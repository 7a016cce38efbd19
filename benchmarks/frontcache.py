"""Processes for the front cache benchmark, drill and test: nginx with deploy/nginx/candor.conf,
a private PostgreSQL and Redis (so a script may stop them without touching the shared ones), and
Candor's production server.

Imported by benchmarks/outage_traffic.py, benchmarks/drills/drill_front_cache.py and
tests/test_front_cache.py; nothing here imports Django, so the test can load it after pytest
has configured Django and the scripts before they choose their DATABASE_URL.

The production server is one function, `server_command`: gunicorn with the Dockerfile's and
docker-compose.yml's options today, granian as the alternative (`--server granian` in the
benchmark; granian must be installed).
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "nginx" / "candor.conf"
VENV_BIN = ROOT / ".venv" / "bin"
PLACEHOLDERS = ("CANDOR_UPSTREAM", "CANDOR_LISTEN", "CANDOR_CACHE_DIR")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(path)),
        None,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def cache(self) -> str:
        return self.headers.get("x-cache-status", "")


def fetch(
    port: int, path: str, headers: Mapping[str, str] | None = None, *, method: str = "GET",
    body: bytes | None = None, timeout: float = 15,
) -> Answer:  # fmt: skip
    """One HTTP/1.1 request to 127.0.0.1:`port`, with the Host header a browser (or wrk) sends:
    Candor renders absolute links from it, so a page fetched for another Host is another copy."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        sent = {"Host": f"127.0.0.1:{port}", "Accept-Encoding": "identity", **(headers or {})}
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        connection.close()


def _nginx_quoted(value: str) -> str:
    """A header value inside an nginx double-quoted string (refused if it holds a variable)."""
    if "$" in value or "\n" in value:
        raise ValueError(f"cannot put {value!r} in an nginx string")
    return value.replace("\\", "\\\\").replace('"', '\\"')


def render_config(upstream: str, listen: str, cache_dir: str) -> str:
    """deploy/nginx/candor.conf with its three placeholders filled, as envsubst would."""
    text = CONFIG.read_text()
    for name, value in zip(PLACEHOLDERS, (upstream, listen, cache_dir), strict=True):
        text = text.replace("${" + name + "}", value)
    return text


class Nginx:
    """nginx running deploy/nginx/candor.conf from a temp dir, as the user running this.

    `static_root`: also serve that directory on `static_port` as plain files with gzip_static
    (the benchmark's baseline: the same bytes Candor sends, from nginx alone).
    """

    def __init__(
        self,
        upstream: str,
        *,
        port: int | None = None,
        static_root: Path | None = None,
        static_port: int | None = None,
        workers: str = "auto",
    ) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (apt-get install -y nginx)")
        self.binary = binary
        self.upstream = upstream
        self.port = port or free_port()
        self.static_root = static_root
        self.static_port = static_port or (free_port() if static_root else None)
        self.workers = workers
        # File name in static_root -> the headers /with-headers/<name> sends with it.
        self.static_headers: dict[str, dict[str, str]] = {}
        self.dir = Path(tempfile.mkdtemp(prefix="candor-nginx-"))
        self.conf = self.dir / "nginx.conf"

    def _write(self) -> None:
        (self.dir / "cache").mkdir(exist_ok=True)
        (self.dir / "candor.conf").write_text(
            render_config(self.upstream, f"127.0.0.1:{self.port}", str(self.dir / "cache"))
        )
        static = ""
        if self.static_root is not None:
            # reuseport as in candor.conf, so both servers spread connections alike.
            static = f"""
    server {{
        listen 127.0.0.1:{self.static_port} reuseport;
        root {self.static_root};
        gzip_static on;
        etag on;
        location / {{ }}{self._with_headers()}
    }}"""
        temp = " ".join(
            f"{name}_temp_path {self.dir / name};"
            for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        # Run as whoever starts it (root in CI containers: `user` would otherwise be nobody,
        # who cannot write the temp dir).
        user = "user root;" if os.geteuid() == 0 else ""
        self.conf.write_text(f"""
{user}
worker_processes {self.workers};
pid {self.dir / "nginx.pid"};
error_log {self.dir / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    {temp}
    include {self.dir / "candor.conf"};{static}
}}
""")

    def start(self) -> Nginx:
        self._write()
        subprocess.run(
            [self.binary, "-p", str(self.dir), "-c", str(self.conf), "-e", str(self.dir / "err")],
            check=True,
            capture_output=True,
        )
        wait_for(lambda: port_open(self.port), 10, f"nginx on port {self.port}")
        return self

    def _with_headers(self) -> str:
        """/with-headers/<file>: the same bytes as /<file> with the headers Candor sends beside
        them (CSP, Permissions-Policy, Cache-Control, ...), as a status page published as
        static files would send them."""
        assert self.static_root is not None
        blocks = []
        for name, headers in self.static_headers.items():
            lines = [f"location = /with-headers/{name} {{", f"alias {self.static_root / name};"]
            lines += [
                f'add_header {key} "{_nginx_quoted(value)}";' for key, value in headers.items()
            ]
            blocks.append("\n        ".join(lines) + "\n        }")
        return "".join("\n        " + block for block in blocks)

    def reload(self) -> None:
        """Write the configuration again (after static_headers changed) and reload nginx."""
        self._write()
        subprocess.run(
            [self.binary, "-p", str(self.dir), "-c", str(self.conf), "-e", str(self.dir / "err"),
             "-s", "reload"],
            check=True,
            capture_output=True,
        )  # fmt: skip
        time.sleep(1)  # new workers take over; the old ones finish their connections

    def pid(self) -> int | None:
        try:
            return int((self.dir / "nginx.pid").read_text())
        except (OSError, ValueError):
            return None

    def error_log(self) -> str:
        path = self.dir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            with contextlib.suppress(RuntimeError):
                wait_for(lambda: not _alive(pid), 10, "nginx to stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child counts as gone.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


# --- private PostgreSQL and Redis ------------------------------------------------------------


def _postgres_bin() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if not candidates:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    return candidates[0].parent


class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb in a temp dir, its own port, trust auth on
    127.0.0.1), so a script may stop and restart it. Run as the `postgres` user when we are
    root (initdb refuses root)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.bin = _postgres_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="candor-pg-"))
        self.data = self.dir / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/candor"

    def start(self) -> PrivatePostgres:
        if not (self.data / "PG_VERSION").exists():
            self._run(
                str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
            )  # fmt: skip
            fresh = True
        else:
            fresh = False
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
            "-o", options, "-w", "start",
        )  # fmt: skip
        if fresh:
            self._run(
                "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc",
                "CREATE DATABASE candor",
            )  # fmt: skip
        return self

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """redis-server on its own port, no persistence: stopping it loses everything, like a
    Redis restarted empty."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="candor-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        wait_for(lambda: port_open(self.port), 10, f"redis-server on port {self.port}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- Candor's production server -------------------------------------------------------------

SERVERS = ("gunicorn", "granian")


def server_command(server: str, port: int, workers: int) -> list[str]:
    """The production web server, as docker-compose.yml's `web` runs it (change it here).

    granian (production since issue 13): the Dockerfile's options (WSGI interface, 8 blocking
    threads per worker, access log with hook tokens redacted), with compose's worker count.
    gunicorn: sync workers as before, for comparison.
    """
    if server == "gunicorn":
        return [
            str(VENV_BIN / "gunicorn"), "config.wsgi", f"--bind=127.0.0.1:{port}",
            f"--workers={workers}", "--access-logfile=-",
            "--logger-class=apps.core.gunicorn_logging.RedactingLogger",
        ]  # fmt: skip
    if server == "granian":
        binary = VENV_BIN / "granian"
        if not binary.exists():
            raise RuntimeError("granian is not installed in .venv")
        return [
            str(binary), "--interface", "wsgi", "config.wsgi:application", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--blocking-threads=8",
            "--log-config=config/granian-log.json",
        ]  # fmt: skip
    raise ValueError(f"unknown server {server!r}; one of {SERVERS}")


def production_env(database_url: str, redis_url: str, site_url: str) -> dict[str, str]:
    """The environment of compose's app services, pointed at the given services."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        ENVIRONMENT="production",
        DEBUG="false",
        SECRET_KEY="frontcache-bench-" + "p7Rq2Wm9Xz4Lt8Vk" * 3,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        EMAIL_URL="smtp://127.0.0.1:1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        STATUS_PAGE_DOMAIN="status.localhost",
        SITE_URL=site_url,
        SECURE_SSL_REDIRECT="false",
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONPATH=str(ROOT),
    )
    return env


class CandorServer:
    """Candor's production server on a port of its own; killable (the drill's fault)."""

    def __init__(self, server: str, env: Mapping[str, str], port: int | None = None,
                 workers: int = 3, log: Path | None = None) -> None:  # fmt: skip
        self.server = server
        self.env = dict(env)
        self.port = port or free_port()
        self.workers = workers
        self.log = log or Path(tempfile.mkstemp(prefix="candor-web-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> CandorServer:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                server_command(self.server, self.port, self.workers),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self._healthy, 60, f"{self.server} on port {self.port}")
        return self

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"{self.server} exited; see {self.log}")
        try:
            return fetch(self.port, "/healthz", timeout=2).status == 200
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL the whole process group (master and workers): the web process is gone."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            # The workers share the listening socket: gone only once the last one is.
            wait_for(lambda: not port_open(self.port), 10, f"port {self.port} to close")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def destroy(self) -> None:
        self.stop()
        self.log.unlink(missing_ok=True)


@contextlib.contextmanager
def cleanup(*things: object) -> Iterator[None]:
    """Stop/destroy everything given, in reverse order, whatever happens."""
    try:
        yield
    finally:
        for thing in reversed(things):
            for name in ("destroy", "stop"):
                method = getattr(thing, name, None)
                if method is not None:
                    with contextlib.suppress(Exception):
                        method()
                    break


# --- the whole stack ------------------------------------------------------------------------

# Run by `manage.py shell` in the stack's environment: an API key of the demo organization and
# its incident in progress (the one staff post updates to), as JSON on the last line.
_API_KEY_SCRIPT = """
import json
from apps.incidents.models import Incident
from apps.integrations.services import create_api_key
from apps.organizations.models import Organization
from apps.organizations.principals import System
org = Organization.objects.get(slug=%(slug)r)
_key, secret = create_api_key(org, actor=System("benchmark"), name="front cache", scope="write")
incident = (
    Incident.objects.filter(organization=org, kind="incident", resolved_at__isnull=True)
    .order_by("-id")
    .first()
)
print(json.dumps({"key": secret, "incident": incident.public_id, "status": incident.status}))
"""


class Stack:
    """Private PostgreSQL and Redis, the demo organization (`manage.py demo`), Candor's
    production server and nginx with deploy/nginx/candor.conf in front of it."""

    def __init__(
        self,
        *,
        server: str = "granian",
        workers: int = 3,
        demo_args: tuple[str, ...] = (),
        static_root: Path | None = None,
        log: Path | None = None,
    ) -> None:
        self.postgres = PrivatePostgres()
        self.redis = PrivateRedis()
        self.web_port = free_port()
        self.env = production_env(
            self.postgres.url, self.redis.url, f"http://127.0.0.1:{self.web_port}"
        )
        self.web = CandorServer(server, self.env, self.web_port, workers, log)
        self.nginx = Nginx(f"127.0.0.1:{self.web_port}", static_root=static_root)
        self.demo_args = demo_args
        self.slug = "demo"

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def start(self, say: Callable[[str], object] = print) -> Stack:
        say(f"private PostgreSQL on :{self.postgres.port}, Redis on :{self.redis.port}")
        self.postgres.start()
        self.redis.start()
        say("migrate, collectstatic, demo (takes a minute)")
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput")
        self.manage("demo", *self.demo_args)
        say(f"{self.web.server} on :{self.web_port}, nginx on :{self.nginx.port}")
        self.web.start()
        self.nginx.start()
        return self

    def api_key(self) -> dict[str, str]:
        """{"key": an API key, "incident": the incident in progress, "status": its status}."""
        out = self.manage("shell", "-c", _API_KEY_SCRIPT % {"slug": self.slug})
        return dict(json.loads(out.strip().splitlines()[-1]))

    def post_update(self, credentials: Mapping[str, str], body: str) -> Answer:
        """An incident update by staff through the management API (via the front cache, where
        /api/v1 passes straight through), without notifying subscribers."""
        payload = {
            "status": credentials["status"],
            "body": body,
            "deliver_notifications": False,
        }
        return fetch(
            self.nginx.port,
            f"/api/v1/incidents/{credentials['incident']}/updates/",
            {"Authorization": f"Bearer {credentials['key']}", "Content-Type": "application/json"},
            method="POST",
            body=json.dumps(payload).encode(),
        )

    def destroy(self) -> None:
        for part in (self.nginx, self.web, self.redis, self.postgres):
            with contextlib.suppress(Exception):
                part.destroy() if hasattr(part, "destroy") else part.stop()


def visible_after(port: int, path: str, marker: bytes, started: float, limit: float = 30) -> float:
    """Seconds from `started` (time.monotonic()) until `marker` is in `path` through nginx,
    polled every 50 ms as a reader would (gzip accepted: browsers' key, the busier copy)."""
    while time.monotonic() - started < limit:
        answer = fetch(port, path, {"Accept-Encoding": "gzip"})
        body = answer.body
        if answer.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        if answer.status == 200 and marker in body:
            return time.monotonic() - started
        time.sleep(0.05)
    raise RuntimeError(f"{marker!r} did not appear at {path} within {limit:.0f} s")
