"""A storm of 1,000 alerts through the hook, on PostgreSQL, with a real Celery worker and an
SMTP sink: what each subscriber receives.

Run: CANDOR_TEST_SERVICES=1 DATABASE_URL=postgres://... REDIS_URL=redis://.../14 \
     .venv/bin/pytest tests/integrations/test_alert_storms_real.py -m services
"""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.incidents.models import Incident
from apps.integrations.alerts.services import create_alert_integration, post_due_updates
from apps.integrations.models import AlertEvent
from apps.organizations.principals import System

from ..factories import ComponentFactory
from ..notifications.factories import EmailSubscriberFactory
from ..notifications.test_services_real import (  # noqa: F401 (fixtures)
    services_ready,
    sink,
    start_worker,
    wait_until,
)
from .test_alerts_hooks import alertmanager_payload, am_alert, post

pytestmark = [
    pytest.mark.services,
    # Committed rows, so the worker process sees them (before `org` opens a test transaction).
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("CANDOR_TEST_SERVICES"),
        reason="set CANDOR_TEST_SERVICES=1 (with DATABASE_URL and REDIS_URL) to run",
    ),
]

STORM = 1000
READERS = 3


def test_a_storm_of_1000_alerts_through_a_real_worker(client, org, request):
    # The real-service fixtures of the notifications tests (imported above), by name.
    smtp, start = request.getfixturevalue("sink"), request.getfixturevalue("start_worker")
    ComponentFactory(organization=org, name="API")
    ComponentFactory(organization=org, name="Web")
    readers = EmailSubscriberFactory.create_batch(READERS, organization=org)
    integration, token = create_alert_integration(
        org, actor=System(), kind="alertmanager", name="Prometheus"
    )
    integration.token = token
    start()

    # Half the storm on API (the first opens the incident), then half on Web: Web is a visible
    # change inside the window, held and posted once when the window ends.
    for n in range(STORM):
        component = "api" if n < STORM // 2 else "web"
        response = post(client, integration, alertmanager_payload(am_alert(f"fp{n}", component)))
        assert response.status_code == 200
    incident = Incident.objects.get()
    assert incident.updates.count() == 1
    assert AlertEvent.objects.filter(held=True).count() == 1

    # The beat sweep, at the window's end (beat does not run in tests).
    assert post_due_updates(timezone.now() + timedelta(minutes=5)) == 1

    assert incident.updates.count() == 2
    wait_until(lambda: smtp.state.count() >= 2 * READERS, 60, "two mails per reader")
    time.sleep(3)  # anything more would arrive now (and must not)
    per_reader = Counter(smtp.state.recipients())
    print(
        f"\n{STORM} alerts: {incident.updates.count()} public updates, mails per reader:",
        per_reader,
    )
    assert per_reader == {reader.email: 2 for reader in readers}
