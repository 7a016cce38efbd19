"""Every absolute link Candor hands out is built from SITE_URL (apps.core.links).

`make run PORT=8101` sets SITE_URL=http://127.0.0.1:8101: each kind of link must use it, not
the default http://localhost:8000 nor the Host of the request that happened to send it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from apps.core.links import absolute_url, app_link
from apps.incidents.notifications import EventKind
from apps.notifications import tokens
from apps.organizations.roles import Role
from tests.factories import PASSWORD, DomainFactory, IncidentFactory, UserFactory
from tests.notifications.factories import EmailSubscriberFactory, NotificationEventFactory

BASE_DIR = Path(__file__).resolve().parent.parent
SITE = "http://127.0.0.1:8101"


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = SITE


def urls_in(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", text)


def test_the_subscription_confirmation_mail_links_to_site_url(
    client, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/s/acme/subscribe/", {"channel": "email", "email-email": "reader@example.com"})

    assert len(mail.outbox) == 1
    assert f"{SITE}/s/acme/subscribe/confirm/" in mail.outbox[0].body
    assert all(url.startswith(SITE) for url in urls_in(mail.outbox[0].body))


def test_subscriber_mail_manage_and_unsubscribe_links_use_site_url(
    org, django_capture_on_commit_callbacks
):
    reader = EmailSubscriberFactory(organization=org, email="reader@example.com")
    incident = IncidentFactory(organization=org, name="Elevated API errors")
    with django_capture_on_commit_callbacks(execute=True):
        NotificationEventFactory(
            organization=org, kind=EventKind.INCIDENT_OPENED, incident=incident
        )

    message = mail.outbox[0]
    token = tokens.make_token(reader)
    assert f"{SITE}/s/acme/manage/{token}/" in message.body
    assert f"{SITE}/s/acme/unsubscribe/{token}/" in message.body
    assert f"{SITE}/s/acme/incidents/{incident.public_id}/" in message.body
    assert f"<{SITE}/s/acme/unsubscribe/{token}/>" in message.extra_headers["List-Unsubscribe"]


def test_the_invitation_mail_links_to_site_url(
    client, org, owner, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("organizations:invite", args=[org.slug]),
            {"email": "new.person@example.com", "role": Role.EDITOR},
        )

    assert re.search(rf"{re.escape(SITE)}/invitations/[^/\s]+/", mail.outbox[0].body)


def test_the_dashboards_view_status_page_link_uses_site_url(client, org, owner):
    client.force_login(owner)
    page = client.get(reverse("organizations:overview", args=[org.slug])).content.decode()

    assert f'href="{SITE}/s/acme/" target="_blank" rel="noopener">View status page' in page


def test_summary_json_page_url_uses_site_url(client, org):
    data = json.loads(client.get("/s/acme/api/v2/summary.json").content)

    assert data["page"]["url"] == f"{SITE}/s/acme/"


def test_the_subscription_confirmed_page_links_to_manage_on_site_url(client, org):
    reader = EmailSubscriberFactory(organization=org, confirmed_at=None)
    token = tokens.make_token(reader)

    page = client.post(f"/s/acme/subscribe/confirm/{token}/").content.decode()

    assert f'href="{SITE}/s/acme/manage/{token}/"' in page


def test_sign_up_mail_links_to_site_url_not_the_requests_host(client, db):
    client.post(
        reverse("account_signup"),
        {"email": "grace@example.com", "password1": PASSWORD, "password2": PASSWORD},
        HTTP_HOST="localhost:8101",
    )

    assert f"{SITE}/accounts/confirm-email/" in mail.outbox[0].body
    assert "localhost:8101" not in mail.outbox[0].body


def test_password_reset_mail_links_to_site_url_not_the_requests_host(client, db):
    user = UserFactory(email="forgetful@example.com")
    client.post(reverse("account_reset_password"), {"email": user.email}, HTTP_HOST="localhost")

    assert f"{SITE}/accounts/password/reset/key/" in mail.outbox[0].body
    assert "http://localhost/" not in mail.outbox[0].body


def test_a_subdomain_status_page_takes_the_scheme_and_port_of_site_url(org):
    assert org.subdomain_url == "http://acme.status.localhost:8101/"
    assert org.public_path_url == f"{SITE}/s/acme/"


def test_a_custom_domain_takes_the_scheme_of_site_url_without_its_port(org, settings):
    settings.SITE_URL = "https://candor.example.com:8443"
    DomainFactory(organization=org, hostname="status.acme.test", verified_at=datetime.now(UTC))

    assert org.public_url == "https://status.acme.test/"


def test_absolute_url_refuses_a_relative_path():
    with pytest.raises(ValueError, match="must start with '/'"):
        absolute_url("dashboard/")


def test_app_links_stay_on_an_app_host_and_leave_a_status_page_host(rf):
    on_app_host = rf.get("/", HTTP_HOST="localhost:8101")
    on_status_host = rf.get("/", HTTP_HOST="acme.status.localhost:8101")

    assert app_link(on_app_host, "orgs:home") == "/dashboard/"
    assert app_link(on_status_host, "orgs:home") == f"{SITE}/dashboard/"


# --- make run ------------------------------------------------------------------------------


def make_run_commands(*arguments: str, **environment: str) -> str:
    """What `make run` would execute (make -n), with a clean environment."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **environment}
    result = subprocess.run(  # noqa: S603 (fixed arguments)
        ["make", "-n", "-o", ".venv/.installed", "run", *arguments],  # noqa: S607 (make on PATH)
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_make_run_derives_site_url_from_host_and_port():
    commands = make_run_commands("PORT=8101")

    assert 'SITE_URL="http://127.0.0.1:8101" .venv/bin/python manage.py demo' in commands
    assert (
        'SITE_URL="http://127.0.0.1:8101" .venv/bin/python manage.py runserver 127.0.0.1:8101'
        in commands
    )
    assert "Candor is starting on http://127.0.0.1:8101/" in commands


def test_make_run_links_name_loopback_when_listening_everywhere():
    commands = make_run_commands("HOST=0.0.0.0", "PORT=8101")

    assert (
        'SITE_URL="http://127.0.0.1:8101" .venv/bin/python manage.py runserver 0.0.0.0:8101'
        in commands
    )


def test_a_site_url_given_in_the_environment_wins_over_host_and_port():
    commands = make_run_commands("PORT=8101", SITE_URL="https://candor.test")

    assert 'SITE_URL="https://candor.test" .venv/bin/python manage.py runserver' in commands
    assert "http://127.0.0.1:8101" not in commands
