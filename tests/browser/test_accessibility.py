"""axe-core on the pages most people see: any serious or critical violation fails the run."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from apps.incidents import services as incidents
from apps.status.models import ComponentStatus
from tests.factories import ComponentFactory, ComponentGroupFactory

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
        actor=owner,
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


def check(page, look, name: str) -> None:
    look(name)
    found = violations(page)
    assert not found, f"axe: serious or critical violations on {page.url}\n{readable(found)}"


def test_public_page(page, look, incident):
    visit(page, "/s/acme/")
    check(page, look, "public-page")


def test_incident_page(page, look, incident):
    visit(page, f"/s/acme/incidents/{incident.public_id}/")
    check(page, look, "incident-page")


def test_subscribe_page(page, look, incident):
    visit(page, "/s/acme/subscribe/")
    check(page, look, "subscribe-page")


def test_dashboard_home(page, look, sign_in, owner, incident):
    sign_in(owner)
    visit(page, "/dashboard/")
    check(page, look, "dashboard-home")


def test_organization_dashboard(page, look, sign_in, owner, incident):
    sign_in(owner)
    visit(page, "/dashboard/acme/")
    check(page, look, "organization-dashboard")
