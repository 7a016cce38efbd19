"""What the tenancy layer adds to a request, as types.

Django builds a plain HttpRequest; TenantMiddleware and org_view then set attributes on it. These
classes only describe those attributes for annotations (and mypy): no request is ever an instance
of them, so never test `isinstance(request, OrgRequest)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from apps.accounts.models import User

    from .models import Membership, Organization
    from .principals import Member
    from .private_pages import Decision, Route


class TenantRequest(HttpRequest):
    """Any request once TenantMiddleware has run: organization is None off the status pages."""

    organization: Organization | None


class PublicRequest(HttpRequest):
    """A request for one organization's public status page (TenantMiddleware.serve_public).

    public_prefix is the script prefix the page is served under: "/s/<slug>/" on an application
    host, "/" (or the deployment's prefix) on <slug>.<STATUS_PAGE_DOMAIN> or a custom domain.
    """

    organization: Organization
    public_prefix: str
    # A private page's request (apps/organizations/private_pages.py): the kind of URL, and the
    # refusal process_view decided on, if any.
    private_route: Route
    private_refusal: Decision


class AuthenticatedRequest(HttpRequest):
    """A request inside a login_required view: user is signed in, never AnonymousUser."""

    user: User


class OrgRequest(AuthenticatedRequest):
    """A dashboard request inside an org_view view: a signed-in member of organization.

    org_view redirects anonymous visitors to sign in and answers 404 to non-members before the
    view runs, so membership is the user's own in organization.
    """

    organization: Organization
    membership: Membership
    principal: Member
