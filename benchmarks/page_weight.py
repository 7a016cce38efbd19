"""Weight of the public pages (issue 13): what a reader downloads, and what a render costs.

For the demo organization (50 components with 90-day uptime bars, an active incident): the
status page, the first history page and two incident pages (the active incident, and the
most recent resolved one), each as plain HTML and gzipped (as Candor serves it to browsers),
then the status page's cold render time: the page fetched through the Django test client
RUNS times, the organization's content version bumped before each fetch so that nothing is
served from the page cache (what a content change costs).

    .venv/bin/python manage.py migrate && .venv/bin/python manage.py demo
    .venv/bin/python benchmarks/page_weight.py

On the database the settings give (SQLite by default); it bumps the demo organization's
content version RUNS times and changes nothing else. Not a timed test: the figures depend on
the machine and its load, printed with them.
"""

from __future__ import annotations

import gzip
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from apps.incidents.models import Incident, IncidentStatus, Kind  # noqa: E402
from apps.organizations.models import Organization  # noqa: E402

RUNS = 20
SLUG = "demo"


def weigh(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    body = response.content
    packed = gzip.compress(body, compresslevel=6, mtime=0)  # as apps.public.caching does
    return f"{path:<40} {len(body):>9,} bytes   gzip {len(packed):>7,} bytes"


def main() -> None:
    setup_test_environment()  # the test client's hosts
    organization = Organization.objects.get(slug=SLUG)
    client = Client(HTTP_HOST="localhost")
    incidents = Incident.objects.filter(organization=organization, kind=Kind.INCIDENT)
    active = incidents.filter(resolved_at__isnull=True).order_by("-started_at").first()
    resolved = (
        incidents.filter(status__in=[IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM])
        .order_by("-started_at")
        .first()
    )
    paths = [f"/s/{SLUG}/", f"/s/{SLUG}/history/"]
    paths += [f"/s/{SLUG}/incidents/{item.public_id}/" for item in (active, resolved) if item]
    print("Weight (plain HTML, gzipped at level 6 as served):")
    for path in paths:
        print("  " + weigh(client, path))

    times = []
    for _ in range(RUNS):
        Organization.objects.filter(pk=organization.pk).update(
            content_version=F("content_version") + 1
        )
        started = time.perf_counter()
        response = client.get(f"/s/{SLUG}/")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"Cold render of /s/{SLUG}/ x{RUNS}: median {statistics.median(times) * 1000:.0f} ms, "
        f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
        f"({os.cpu_count()} cores, load average {load})"
    )


if __name__ == "__main__":
    main()
