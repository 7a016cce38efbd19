"""Walk every named dashboard and management-API URL as somebody from another organization.

Like Read the Docs' test_privacy_urls.py: a URL added without a decision about who may reach it
fails here until its parameters and expected status are written down below.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.admindocs.views import extract_views_from_urlpatterns
from django.urls import get_resolver

from apps.forum import services as forum_services
from apps.integrations.alerts.services import create_alert_integration, lock_group_state
from apps.integrations.importer.services import stage_import
from apps.organizations.principals import Customer, Member
from apps.organizations.roles import has_permission
from apps.organizations.services import create_page_access_token

from ..factories import (
    ApiKeyFactory,
    ComponentFactory,
    ComponentGroupFactory,
    DomainFactory,
    IncidentFactory,
    IncidentTemplateFactory,
    IncidentUpdateFactory,
    InvitationFactory,
    MaintenanceFactory,
    MembershipFactory,
    UserFactory,
)
from ..forum.factories import CommentFactory, ThreadFactory
from ..incidents.factories import ActionItemFactory, PostmortemFactory
from ..notifications.factories import (
    DeliveryFactory,
    EmailSubscriberFactory,
    NotificationEventFactory,
)

DASHBOARD = "dashboard/<slug:org_slug>/"
API = "api/v1/"
PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _patterns(prefix: str):
    for view, route, _namespace, name in extract_views_from_urlpatterns(
        get_resolver().url_patterns
    ):
        if route.startswith(prefix) and "drf_format_suffix" not in route:
            yield view, route, name


@pytest.fixture
def org_objects(org, owner):
    """One object of every kind in `org`, keyed by the URL parameter names that address them."""
    group = ComponentGroupFactory(organization=org)
    component = ComponentFactory(organization=org, group=group)
    incident = IncidentFactory(organization=org)
    update = IncidentUpdateFactory(incident=incident)
    action_item = ActionItemFactory(postmortem=PostmortemFactory(incident=incident))
    maintenance = MaintenanceFactory(organization=org)
    member = MembershipFactory(organization=org)
    # With a failed delivery, so its deliveries list and retry route have something to give away.
    event = DeliveryFactory(event=NotificationEventFactory(organization=org), status="failed").event
    values = {
        "org_slug": org.slug,
        "group_id": group.public_id,
        "component_id": component.public_id,
        "incident_id": incident.public_id,
        "update_id": update.public_id,
        "item_id": action_item.public_id,
        "maintenance_id": maintenance.public_id,
        "template_id": IncidentTemplateFactory(organization=org).public_id,
        "membership_id": member.pk,
        "member_id": member.pk,
        "invitation_id": InvitationFactory(organization=org).public_id,
        "domain_id": DomainFactory(organization=org).public_id,
        "key_id": ApiKeyFactory(organization=org).public_id,
        "api_key_id": ApiKeyFactory(organization=org).public_id,
        "subscriber_id": EmailSubscriberFactory(organization=org).public_id,
        "event_id": event.public_id,
    }
    integration, _token = create_alert_integration(
        org, actor=Member.of(owner, org), kind="generic", name="CI"
    )
    # The forum (dashboard and API): a comment (flagged, so its queue and dismiss routes have
    # something to act on) in the incident's discussion, and a ban.
    comment = CommentFactory(thread=ThreadFactory(incident=incident))
    forum_services.flag_comment(comment, actor=Customer(UserFactory(), org), reason="spam")
    values["comment_id"] = comment.public_id
    values["thread_id"] = comment.thread.public_id
    values["ban_id"] = forum_services.ban_user(org, UserFactory(), actor=Member.of(owner, org)).pk
    values["integration_id"] = integration.public_id
    values["token_id"] = create_page_access_token(org, actor=Member.of(owner, org), name="Walk")[
        0
    ].public_id
    values["draft_id"] = lock_group_state(integration, "url walk").public_id
    values["import_id"] = stage_import(
        org, actor=Member.of(owner, org), summary={}, incidents=None
    ).public_id
    return values


def _build(route: str, values: dict) -> str:
    def substitute(match: re.Match) -> str:
        name = match["name"]
        if name not in values:
            raise AssertionError(
                f"URL {route!r} has parameter {name!r}: add a value for it to org_objects"
            )
        return str(values[name])

    return "/" + PARAM.sub(substitute, route)


def dashboard_urls(values):
    return [(route, _build(route, values), view) for view, route, _ in _patterns(DASHBOARD)]


def test_there_are_dashboard_urls_to_walk(org_objects):
    assert len(dashboard_urls(org_objects)) >= 6


def test_outsider_gets_404_on_every_dashboard_url(client, outsider, org_objects):
    client.force_login(outsider)
    for route, url, _view in dashboard_urls(org_objects):
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 404, f"{method.upper()} {url} ({route})"


def test_anonymous_is_sent_to_login_from_every_dashboard_url(client, org_objects):
    for route, url, _view in dashboard_urls(org_objects):
        response = client.get(url)
        assert response.status_code == 302, f"GET {url} ({route})"
        assert "/accounts/login/" in response["Location"]


def test_viewer_gets_403_on_every_dashboard_write(client, viewer, org_objects):
    client.force_login(viewer)
    checked = 0
    for route, url, view in dashboard_urls(org_objects):
        read = getattr(view, "org_permission", None)
        write = getattr(view, "org_write_permission", None) or read
        assert read, f"{route} is not wrapped in org_view(): tenancy must not be per view"
        if has_permission("viewer", write):
            continue  # e.g. leaving the organization: a viewer may do it
        response = client.post(url)
        assert response.status_code == 403, f"POST {url} ({route})"
        checked += 1
    assert checked > 0


# API endpoints (organization from the key). Lists can't 404: they must simply not show
# another organization's rows; detail URLs of another organization's objects must 404.
API_LIST_ROUTES_VISIBLE_TO_ANY_KEY = {"api/v1/", "api/v1/organization/"}


def api_urls(values):
    return [(route, _build(route, values)) for _view, route, _ in _patterns(API)]


def test_other_organizations_key_gets_404_on_every_api_object_url(
    client, other_admin_key, org_objects
):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {other_admin_key.secret}"}
    for route, url in api_urls(org_objects):
        if not PARAM.search(route):
            continue
        for method in ("get", "post", "patch", "put", "delete"):
            response = getattr(client, method)(url, content_type="application/json", **headers)
            assert response.status_code == 404, f"{method.upper()} {url} ({route})"


def test_other_organizations_key_sees_none_of_its_rows_in_api_lists(
    client, other_admin_key, org_objects
):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {other_admin_key.secret}"}
    for route, url in api_urls(org_objects):
        if PARAM.search(route):
            continue
        response = client.get(url, **headers)
        assert response.status_code == 200, f"GET {url} ({route})"
        body = response.content.decode()
        leaked = [
            value for value in org_objects.values() if isinstance(value, str) and value in body
        ]
        assert leaked == [] or route in API_LIST_ROUTES_VISIBLE_TO_ANY_KEY, f"{url}: {leaked}"


# Two-factor required by an organization (Organization.require_two_factor, enforced by org_view).


def test_every_dashboard_url_of_a_requiring_organization_sends_to_two_factor_setup(
    client, org, owner, org_objects
):
    from allauth.mfa.totp.internal.auth import TOTP

    from apps.organizations.services import set_two_factor_requirement

    TOTP.activate(owner, "JBSWY3DPEHPK3PXP")
    set_two_factor_requirement(org, actor=Member.of(owner, org), required=True)
    # An admin without two-factor: a role that may open nearly every page.
    admin = MembershipFactory(organization=org, role="admin").user
    client.force_login(admin)
    for route, url, _view in dashboard_urls(org_objects):
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302, f"{method.upper()} {url} ({route})"
            assert response["Location"].startswith("/accounts/2fa/totp/activate"), (
                f"{method.upper()} {url} ({route}): {response['Location']}"
            )


def test_another_organizations_requirement_never_redirects_here(
    client, org, owner, other_org, outsider, org_objects
):
    from allauth.mfa.totp.internal.auth import TOTP

    from apps.organizations.services import set_two_factor_requirement

    TOTP.activate(outsider, "JBSWY3DPEHPK3PXP")
    set_two_factor_requirement(other_org, actor=Member.of(outsider, other_org), required=True)
    # The owner here, without two-factor, is also a member of the requiring organization.
    MembershipFactory(organization=other_org, user=owner, role="viewer")
    client.force_login(owner)
    for route, url, _view in dashboard_urls(org_objects):
        response = client.get(url)
        assert "/accounts/2fa/" not in response.get("Location", ""), f"GET {url} ({route})"


def test_the_walk_reaches_the_export_and_erasure_urls(org_objects):
    # Owner-only pages (apps/privacy): the walks above check them like every other URL.
    routes = {route for route, _url, _view in dashboard_urls(org_objects)}
    assert {DASHBOARD + "settings/export/", DASHBOARD + "settings/erase/"} <= routes
