"""`make run`'s terminal is where mail is read: readable mail with its links, no task chatter.

Settings cases run in a fresh interpreter with a clean environment (settings are read once).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.core import mail
from django.core.mail import EmailMultiAlternatives

from apps.core.mail import links_in, readable
from apps.incidents.notifications import EventKind
from apps.notifications import tokens
from tests.factories import IncidentFactory
from tests.notifications.factories import EmailSubscriberFactory, NotificationEventFactory

BASE_DIR = Path(__file__).resolve().parent.parent


def settings_of(code: str, tmp_path: Path, **variables: str) -> list[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(BASE_DIR),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'terminal-test.sqlite3'}",
        **variables,
    }
    result = subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_without_email_url_mail_is_printed_by_the_readable_console_backend(tmp_path):
    code = "from django.conf import settings; print(settings.EMAIL_BACKEND)"

    assert settings_of(code, tmp_path) == ["apps.core.mail.EmailBackend"]
    assert settings_of(code, tmp_path, EMAIL_URL="smtp://127.0.0.1:2525") == [
        "django.core.mail.backends.smtp.EmailBackend"
    ]


def test_in_process_tasks_log_no_celery_or_kombu_chatter(tmp_path):
    code = (
        "import logging\n"
        "print(logging.getLogger('celery.app.trace').isEnabledFor(logging.INFO))\n"
        "print(logging.getLogger('kombu.connection').isEnabledFor(logging.WARNING))\n"
        "print(logging.getLogger('celery.app.trace').isEnabledFor(logging.ERROR))\n"
    )

    assert settings_of(code, tmp_path) == ["False", "False", "True"]
    # A real worker (REDIS_URL) keeps its task lines.
    assert settings_of(code, tmp_path, REDIS_URL="redis://127.0.0.1:6379/15")[0] == "True"


def test_django_lines_are_printed_once_and_runserver_keeps_its_request_lines(tmp_path):
    code = (
        "import logging\n"
        "print(len(logging.getLogger('django').handlers))\n"
        "server = logging.getLogger('django.server')\n"
        "formatter = type(server.handlers[0].formatter).__name__\n"
        "print(len(server.handlers), server.propagate, formatter)\n"
    )

    # django.* lines reach the root handler alone; runserver's lines keep Django's own format.
    assert settings_of(code, tmp_path, DEBUG="true") == ["0", "1", "False", "ServerFormatter"]


def test_site_urls_host_serves_the_application(tmp_path):
    code = "from django.conf import settings; print(' '.join(settings.APP_HOSTS))"

    assert "my-laptop.lan" in settings_of(code, tmp_path, SITE_URL="http://my-laptop.lan:8101")


def test_a_site_url_that_is_not_http_is_refused(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(BASE_DIR),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SITE_URL": "127.0.0.1:8101",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "SITE_URL must be an http:// or https:// URL" in result.stderr


def test_a_printed_mail_shows_who_what_the_text_and_each_link_on_its_own_line():
    message = EmailMultiAlternatives(
        subject="Confirm your subscription",
        body="Confirm here: http://127.0.0.1:8101/s/demo/subscribe/confirm/abc/.\n",
        from_email="Demo Cloud <notifications@status.localhost>",
        to=["reader@example.com"],
    )
    message.attach_alternative(
        '<a href="http://127.0.0.1:8101/s/demo/subscribe/confirm/abc/">Confirm</a>'
        '<a href="http://127.0.0.1:8101/s/demo/?a=1&amp;b=2">Status page</a>',
        "text/html",
    )

    printed = readable(message)

    assert "From:    Demo Cloud <notifications@status.localhost>\n" in printed
    assert "To:      reader@example.com\n" in printed
    assert "Subject: Confirm your subscription\n" in printed
    assert "Confirm here: http://127.0.0.1:8101/s/demo/subscribe/confirm/abc/." in printed
    assert printed.endswith(
        "Links:\n"
        "  http://127.0.0.1:8101/s/demo/subscribe/confirm/abc/\n"
        "  http://127.0.0.1:8101/s/demo/?a=1&b=2\n" + "-" * 72 + "\n\n"
    )
    assert "Content-Transfer-Encoding" not in printed  # not the raw MIME message


def test_subscriber_mail_from_the_pipeline_is_printed_with_its_links(
    org, settings, capsys, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "apps.core.mail.EmailBackend"
    settings.SITE_URL = "http://127.0.0.1:8101"
    reader = EmailSubscriberFactory(organization=org, email="reader@example.com")
    incident = IncidentFactory(organization=org, name="Elevated API errors")
    with django_capture_on_commit_callbacks(execute=True):
        NotificationEventFactory(
            organization=org, kind=EventKind.INCIDENT_OPENED, incident=incident
        )

    printed = capsys.readouterr().out
    token = tokens.make_token(reader)
    assert "To:      reader@example.com" in printed
    assert "Subject: [Acme Cloud] Investigating: Elevated API errors" in printed
    assert f"\n  http://127.0.0.1:8101/s/acme/manage/{token}/\n" in printed
    assert f"\n  http://127.0.0.1:8101/s/acme/unsubscribe/{token}/\n" in printed
    assert mail.outbox == []  # it went through the console backend, not locmem


def test_links_are_listed_once_each():
    message = EmailMultiAlternatives(body="http://a.test/x and again http://a.test/x")
    message.attach_alternative('<a href="http://a.test/x">x</a>', "text/html")

    assert links_in(message) == ["http://a.test/x"]


def test_runserver_prints_no_line_for_static_files_and_open_pages_polls(tmp_path):
    code = (
        "import logging, sys\n"
        "server = logging.getLogger('django.server')\n"
        "server.handlers[0].setStream(sys.stdout)\n"
        "for line, status in [('GET /static/css/app.css HTTP/1.1', 200),\n"
        "                     ('GET /s/acme/live/ HTTP/1.1', 304),\n"
        "                     ('GET /s/acme/incidents/p31zjtct2jer/live/ HTTP/1.1', 200),\n"
        "                     ('GET /s/acme/ HTTP/1.1', 200),\n"
        "                     ('GET /static/missing.css HTTP/1.1', 404),\n"
        "                     ('GET /s/acme/live/ HTTP/1.1', 500)]:\n"
        "    server.info('%s %s', line, status, extra={'status_code': status})\n"
    )

    printed = " ".join(settings_of(code, tmp_path, DEBUG="true"))

    assert "app.css" not in printed
    assert "p31zjtct2jer" not in printed
    assert "GET /s/acme/ HTTP/1.1 200" in printed
    assert "GET /static/missing.css HTTP/1.1 404" in printed  # a failure still prints
    assert "GET /s/acme/live/ HTTP/1.1 500" in printed
    assert "HTTP/1.1 304" not in printed
