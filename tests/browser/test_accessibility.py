"""axe-core on the pages most people see: any serious or critical violation fails the run."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from apps.incidents import services as incidents
from apps.status.models import ComponentStatus
from tests.factories import ComponentFactory, ComponentGroupFactory, member

from .conftest import visit

pytestmark = pytest.mark.django_db(transaction=True)

FAILING_IMPACTS = {"serious", "critical"}
axe = Axe()


@pytest.fixture
def incident(org, owner):
    """A page with something on it: grouped components, one of them affected by an incident."""
    group = ComponentGroupFactory(organization=org, name="Europe")
    api = ComponentFactory(organization=org, name="API", group=group)
    ComponentFactory(organization=org, name="Website")
    return incidents.open_incident(
        org,
        actor=member(owner),
        name="Elevated API errors",
        status="identified",
        body="Some requests to the API fail. We have found the cause and are fixing it.",
        components={api: ComponentStatus.PARTIAL_OUTAGE},
    )


def violations(page) -> list[dict]:
    results = axe.run(page)
    return [v for v in results.response["violations"] if v["impact"] in FAILING_IMPACTS]


def readable(found: list[dict]) -> str:
    lines = []
    for violation in found:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        lines.extend(
            f"  - {', '.join(map(str, node['target']))}: {node['html'][:200]}"
            for node in violation["nodes"]
        )
    return "\n".join(lines)


PAGES = {
    "public-page": "/s/acme/",
    "incident-page": "/s/acme/incidents/{incident}/",
    "subscribe-page": "/s/acme/subscribe/",
    "dashboard-home": "/dashboard/",
    "organization-dashboard": "/dashboard/acme/",
}


def test_no_serious_or_critical_violations(page, screenshot, sign_in, owner, incident):
    # One test visits every page (rather than one test each): browser tests run on a
    # transactional database, whose flush after each test is the slow part on PostgreSQL.
    sign_in(owner)
    reports = []
    for name, url in PAGES.items():
        visit(page, url.format(incident=incident.public_id))
        screenshot(name)
        found = violations(page)
        reports.append(f"axe on {page.url} ({name}):\n{readable(found)}" if found else "")
    assert not "".join(reports), "\n".join(filter(None, reports))
