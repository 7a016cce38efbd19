"""docker-compose.yml and the Dockerfile refer only to things that exist in this project.

No Docker engine runs in CI: these tests read the files and check every command, module and path
they mention against the code.
"""

from __future__ import annotations

import importlib
import ipaddress
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

from tests.test_settings import SETUP, run

BASE_DIR = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["migrate", "web", "worker", "beat"]
DOCKERFILE = (BASE_DIR / "Dockerfile").read_text()


def command(service: str) -> list[str]:
    value = SERVICES[service]["command"]
    return shlex.split(value) if isinstance(value, str) else list(value)


def option(args: list[str], name: str) -> str:
    """The value of `-Q x` or `--queues=x` style options."""
    for index, arg in enumerate(args):
        if arg == name:
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    raise AssertionError(f"{name} not in {args}")


def test_compose_runs_every_process_and_its_services():
    assert set(SERVICES) >= {*APP_SERVICES, "postgres", "redis", "mailpit"}


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_are_built_from_the_repository_dockerfile(service):
    build = SERVICES[service]["build"]

    assert (BASE_DIR / build["context"] / build.get("dockerfile", "Dockerfile")).is_file()


def test_every_dependency_names_a_service_of_this_file():
    for name, service in SERVICES.items():
        assert set(service.get("depends_on", {})) <= set(SERVICES), name


def test_web_runs_granian_on_the_wsgi_application_after_migrations():
    args = command("web")

    assert args[0] == "granian"
    assert option(args, "--interface") == "wsgi"
    target = next(arg for arg in args[1:] if not arg.startswith("-"))
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    assert module.__name__ == "config.wsgi"
    assert callable(getattr(module, attribute))
    migrate = SERVICES["web"]["depends_on"]["migrate"]
    assert migrate["condition"] == "service_completed_successfully"


def test_migrate_runs_a_management_command_that_exists():
    args = command("migrate")

    assert args[:2] == ["python", "manage.py"]
    assert (BASE_DIR / "manage.py").is_file()
    assert args[2] in get_commands()
    assert SERVICES["migrate"]["restart"] == "no"


@pytest.mark.parametrize("service", ["worker", "beat"])
def test_worker_and_beat_load_the_celery_app_of_config(service):
    args = command(service)
    app_module = importlib.import_module(option(args, "-A"))

    assert args[0] == "celery"
    assert app_module.celery_app.main == "candor"
    assert args[3] == service


def test_the_worker_consumes_every_queue_tasks_are_sent_to():
    queues = set(option(command("worker"), "-Q").split(","))
    routed = {
        route["queue"]
        for route in (getattr(settings, "CELERY_TASK_ROUTES", None) or {}).values()
        if isinstance(route, dict) and "queue" in route
    }

    assert queues == {"default", "notifications", "webhooks"}
    assert settings.CELERY_TASK_DEFAULT_QUEUE in queues
    assert routed <= queues


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_get_the_production_environment(service):
    env = SERVICES[service]["environment"]

    assert env["ENVIRONMENT"] == "production"
    assert env["EMAIL_URL"] == "smtp://mailpit:1025"
    assert env["SECURE_SSL_REDIRECT"] == "false"
    assert "@postgres:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"].startswith("redis://redis:6379/")
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "STATUS_PAGE_DOMAIN", "SITE_URL"} <= set(env)
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")  # required, never a default


def resolve(value: str) -> str:
    """Compose's `${NAME:-default}` / `${NAME:?error}` with NAME unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_the_compose_environment_loads_the_production_settings(tmp_path):
    env = {name: resolve(str(value)) for name, value in SERVICES["web"]["environment"].items()}
    env["SECRET_KEY"] = "compose-test-" + "x8Kq2Lm9Pz4Rt7Vw" * 3

    result = run(SETUP, tmp_path, **env)

    assert result.returncode == 0, result.stderr


def test_the_web_health_check_calls_an_allowed_host():
    probe = " ".join(SERVICES["web"]["healthcheck"]["test"])
    allowed = resolve(SERVICES["web"]["environment"]["ALLOWED_HOSTS"]).split(",")

    assert "http://127.0.0.1:8000/healthz" in probe
    assert "127.0.0.1" in allowed


def test_the_smtp_sink_has_a_web_inbox():
    assert SERVICES["mailpit"]["image"].startswith("axllent/mailpit")
    assert "8025:8025" in SERVICES["mailpit"]["ports"]


def test_the_dockerfile_installs_the_locked_requirements_and_runs_as_a_non_root_user():
    assert re.search(r"^FROM python:3\.11-slim\b", DOCKERFILE, re.MULTILINE)
    assert "pip install --require-hashes -r requirements.lock" in DOCKERFILE
    assert "manage.py collectstatic --noinput" in DOCKERFILE
    users = re.findall(r"^USER (\S+)", DOCKERFILE, re.MULTILINE)
    assert users
    assert users[-1] not in {"root", "0"}


def test_every_file_the_dockerfile_copies_exists():
    sources = [
        part
        for line in re.findall(r"^COPY (.+)$", DOCKERFILE, re.MULTILINE)
        for part in line.split()[:-1]
        if not part.startswith("--")
    ]

    assert sources
    assert all((BASE_DIR / source).exists() for source in sources)


def test_the_docker_build_context_leaves_out_local_state():
    ignored = (BASE_DIR / ".dockerignore").read_text().split()

    assert {".git", ".venv", "var", ".env"} <= set(ignored)


def test_the_front_cache_fills_every_placeholder_of_the_shipped_nginx_config():
    front = SERVICES["front"]
    mount = next(volume for volume in front["volumes"] if "deploy/nginx/candor.conf" in volume)
    source, target, *_ = mount.split(":")
    placeholders = set(re.findall(r"\$\{([A-Z_]+)\}", (BASE_DIR / source).read_text()))

    assert front["image"].startswith("nginx:") and front["image"].endswith("-alpine")
    # The image's entrypoint runs envsubst on /etc/nginx/templates/*.template, only on the
    # variables the filter matches (nginx's own $host, $scheme... must survive).
    assert target.startswith("/etc/nginx/templates/") and target.endswith(".conf.template")
    assert placeholders == {"CANDOR_UPSTREAM", "CANDOR_LISTEN", "CANDOR_CACHE_DIR"}
    assert placeholders <= set(front["environment"])
    assert all(re.match(front["environment"]["NGINX_ENVSUBST_FILTER"], p) for p in placeholders)


def test_the_front_cache_forwards_to_the_web_port_and_web_stays_reachable():
    front = SERVICES["front"]
    web_port = option(command("web"), "--port")
    listen = front["environment"]["CANDOR_LISTEN"]

    assert front["environment"]["CANDOR_UPSTREAM"] == f"web:{web_port}"
    assert f"{listen}:{listen}" in front["ports"]
    assert "web" in front["depends_on"]
    # web keeps its own port: its health check and direct access do not go through the cache.
    assert f"{web_port}:{web_port}" in SERVICES["web"]["ports"]
    # The front's health check asks nginx itself (deploy/nginx/candor.conf), not web's /healthz.
    probe = " ".join(front["healthcheck"]["test"])
    assert f"http://127.0.0.1:{listen}/.front/healthz" in probe
    assert "location = /.front/healthz" in (BASE_DIR / "deploy/nginx/candor.conf").read_text()


@pytest.mark.parametrize("service", APP_SERVICES)
def test_the_app_trusts_the_front_cache_and_only_it_for_the_client_address(service):
    address = SERVICES["front"]["networks"]["default"]["ipv4_address"]
    subnet = COMPOSE["networks"]["default"]["ipam"]["config"][0]["subnet"]
    trusted = resolve(SERVICES[service]["environment"]["TRUSTED_PROXIES"]).split(",")

    assert trusted == [address]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(subnet)
