"""Long legal data must not make a page scroll sideways, on a desktop or a phone.

The longest names the models accept, without a space or hyphen to break at: a 255-character
incident title, 100-character organization, group and component names, an 80-character display
name, an unbroken URL-like word in an update. Each page's document must be no wider than the
window.
"""

from __future__ import annotations

import pytest

from apps.incidents import services as incidents
from apps.organizations.roles import Role
from apps.status.models import ComponentStatus
from tests.factories import (
    ComponentFactory,
    ComponentGroupFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    member,
)

from .conftest import visit

pytestmark = pytest.mark.django_db(transaction=True)


def unbroken(word: str, length: int) -> str:
    return (word * length)[:length]


TITLE = unbroken("ElevatedErrorRatesOnTheCheckoutApi", 255)
ORGANIZATION = unbroken("Northwind", 100)
GROUP = unbroken("EuropeWest", 100)
COMPONENT = unbroken("PaymentsGateway", 100)
BODY = "Requests to " + unbroken("checkout.example.com/api/v2/orders?include=items", 400) + " fail."


@pytest.fixture
def long_data(db):
    organization = OrganizationFactory(name=ORGANIZATION, slug="northwind")
    user = UserFactory(email="operator@northwind.test", display_name=unbroken("Operator", 80))
    MembershipFactory(organization=organization, user=user, role=Role.OWNER)
    group = ComponentGroupFactory(organization=organization, name=GROUP)
    component = ComponentFactory(organization=organization, name=COMPONENT, group=group)
    ComponentFactory(organization=organization, name=unbroken("Storage", 100))
    resolved = incidents.open_incident(
        organization, actor=member(user), name=TITLE, status="investigating", body=BODY
    )
    incidents.resolve_incident(resolved, actor=member(user), body=BODY)
    ongoing = incidents.open_incident(
        organization,
        actor=member(user),
        name=TITLE,
        status="identified",
        body=BODY,
        components={component: ComponentStatus.MAJOR_OUTAGE},
    )
    return {"user": user, "incident": ongoing.public_id}


PAGES = {
    "status-page": "/s/northwind/",
    "history-page": "/s/northwind/history/",
    "incident-page": "/s/northwind/incidents/{incident}/",
    "dashboard-incidents": "/dashboard/northwind/incidents/",
    "dashboard-incident": "/dashboard/northwind/incidents/{incident}/",
    "dashboard-home": "/dashboard/",
    "organization-dashboard": "/dashboard/northwind/",
}


def test_long_names_do_not_scroll_sideways(page, screenshot, sign_in, long_data):
    # One test visits every page (rather than one test each): browser tests run on a
    # transactional database, whose flush after each test is the slow part on PostgreSQL.
    sign_in(long_data["user"])
    problems = []
    for name, url in PAGES.items():
        visit(page, url.format(incident=long_data["incident"]))
        problems.append(screenshot(name))
    assert not "".join(problems), "\n".join(filter(None, problems))
