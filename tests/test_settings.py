"""config/settings.py fails loudly in production, and `check --deploy` passes with good values.

Each case runs in a fresh interpreter, because settings are read once at import. The
subprocesses get a clean environment (nothing leaks in from the developer's shell) and a guard
that refuses any connection or name lookup other than the loopback address.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent

NETWORK_GUARD = """
import socket
LOCAL = {"127.0.0.1", "::1", "localhost"}
_connect, _getaddrinfo = socket.socket.connect, socket.getaddrinfo
def _guarded_connect(self, address):
    if isinstance(address, tuple) and address[0] not in LOCAL:
        raise OSError(f"test guard: no network access from settings tests ({address!r})")
    return _connect(self, address)
def _guarded_getaddrinfo(host, *args, **kwargs):
    if host not in LOCAL and host is not None:
        raise OSError(f"test guard: no name lookups from settings tests ({host!r})")
    return _getaddrinfo(host, *args, **kwargs)
socket.socket.connect = _guarded_connect
socket.getaddrinfo = _guarded_getaddrinfo
"""

SETUP = NETWORK_GUARD + "import django; django.setup()\n"
CHECK_DEPLOY = NETWORK_GUARD + (
    "import runpy, sys\n"
    "sys.argv = ['manage.py', 'check', '--deploy', '--fail-level', 'WARNING']\n"
    "runpy.run_path('manage.py', run_name='__main__')\n"
)

# What .ci/run uses, with REDIS_URL as CI exports it.
GOOD_PRODUCTION = {
    "ENVIRONMENT": "production",
    "DEBUG": "false",
    "SECRET_KEY": "test-" + "k3y-Xq9vT2mLp8rW4zN6" * 3,
    "ALLOWED_HOSTS": "candor.example.com",
    "SITE_URL": "https://candor.example.com",
    "STATUS_PAGE_DOMAIN": "status.example.com",
    "EMAIL_URL": "smtp+tls://ci:ci@smtp.example.com:587",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
}


def run(code: str, tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(BASE_DIR),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Never the developer's database; `check` does not connect to it anyway.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'settings-test.sqlite3'}",
        **variables,
    }
    return subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def without(name: str) -> dict[str, str]:
    return {key: value for key, value in GOOD_PRODUCTION.items() if key != name}


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = run(SETUP, tmp_path, **without("SECRET_KEY"))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_with_debug_on(tmp_path):
    result = run(SETUP, tmp_path, **{**GOOD_PRODUCTION, "DEBUG": "true"})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DEBUG" in result.stderr


def test_an_unknown_environment_is_refused(tmp_path):
    result = run(SETUP, tmp_path, **{**GOOD_PRODUCTION, "ENVIRONMENT": "prod"})

    assert result.returncode != 0
    assert "ENVIRONMENT" in result.stderr


def test_good_production_settings_start(tmp_path):
    result = run(SETUP, tmp_path, **GOOD_PRODUCTION)

    assert result.returncode == 0, result.stderr


def test_good_production_settings_pass_check_deploy(tmp_path):
    result = run(CHECK_DEPLOY, tmp_path, **GOOD_PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("variables", "check_id"),
    [
        (without("REDIS_URL"), "candor.W001"),
        (without("EMAIL_URL"), "candor.W002"),
        ({**GOOD_PRODUCTION, "STATUS_PAGE_DOMAIN": "status.localhost"}, "candor.W003"),
        ({**GOOD_PRODUCTION, "SITE_URL": "http://candor.example.com"}, "candor.W004"),
    ],
    ids=["no REDIS_URL", "no EMAIL_URL", "localhost status domain", "plain http SITE_URL"],
)
def test_check_deploy_fails_on_a_production_misconfiguration(tmp_path, variables, check_id):
    result = run(CHECK_DEPLOY, tmp_path, **variables)

    assert result.returncode != 0
    assert check_id in result.stderr + result.stdout


def test_the_network_guard_really_blocks_outside_connections(tmp_path):
    result = run(
        NETWORK_GUARD + "import urllib.request; urllib.request.urlopen('http://example.com')",
        tmp_path,
    )

    assert result.returncode != 0
    assert "test guard" in result.stderr


def test_a_mail_provider_is_configured_by_environment_alone(tmp_path):
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.core.mail import get_connection\n"
        "print(settings.EMAIL_BACKEND)\n"
        "print(settings.ANYMAIL_POSTMARK_SERVER_TOKEN)\n"
        "print(type(get_connection()).__module__)\n"
    )
    result = run(
        code,
        tmp_path,
        EMAIL_BACKEND="anymail.backends.postmark.EmailBackend",
        ANYMAIL_POSTMARK_SERVER_TOKEN="server-token-from-the-environment",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "anymail.backends.postmark.EmailBackend",
        "server-token-from-the-environment",
        "anymail.backends.postmark",
    ]


def test_without_a_backend_variable_email_url_decides(tmp_path):
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "print(settings.EMAIL_BACKEND, settings.EMAIL_PORT)\n"
    )
    result = run(code, tmp_path, EMAIL_URL="smtp://mail.example.com:2525")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.core.mail.backends.smtp.EmailBackend", "2525"]


def test_a_mail_provider_instead_of_email_url_passes_check_deploy(tmp_path):
    variables = {
        **without("EMAIL_URL"),
        "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "ANYMAIL_POSTMARK_SERVER_TOKEN": "server-token",
    }
    result = run(CHECK_DEPLOY, tmp_path, **variables)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "candor.W002" not in result.stdout + result.stderr


def test_smtp_has_a_timeout_below_the_sender_tasks_limit(tmp_path):
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from apps.notifications import conf, tasks\n"
        "print(settings.EMAIL_TIMEOUT, conf.batch_time_budget(),"
        " tasks.SENDER_LIMITS['soft_time_limit'])\n"
    )
    default = run(code, tmp_path, EMAIL_URL="smtp://mail.example.com:25")
    custom = run(code, tmp_path, EMAIL_URL="smtp://mail.example.com:25", EMAIL_TIMEOUT="5")

    assert default.returncode == 0, default.stderr
    timeout, budget, soft_limit = (float(v) for v in default.stdout.split())
    assert timeout == 20
    assert budget + timeout < soft_limit
    assert custom.stdout.split()[0] == "5"


def test_a_plain_worker_consumes_every_queue_that_tasks_are_routed_to():
    from django.conf import settings

    from config.celery import app

    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    routed.add(settings.CELERY_TASK_DEFAULT_QUEUE)
    queues = app.amqp.queues
    queues.select(None)  # what `celery worker` does when no -Q is given

    assert routed == {"default", "notifications", "webhooks"}
    assert {queue.name for queue in queues.consume_from.values()} == routed


@pytest.mark.parametrize("hosts", ["*", "candor.example.com,*", ".example.com"])
def test_a_wildcard_allowed_hosts_is_refused_with_what_to_set(tmp_path, hosts):
    result = run(SETUP, tmp_path, **{**GOOD_PRODUCTION, "ALLOWED_HOSTS": hosts})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "ALLOWED_HOSTS=candor.example.com" in result.stderr
    assert "wildcards" in result.stderr
