"""The one place that decides which organization a request is for.

Public routes: TenantMiddleware resolves the organization from the host or the /s/<slug>/ prefix.
Dashboard routes: `org_view` resolves it from /dashboard/<org_slug>/ and checks the membership
(and, for an organization that requires it, the member's two-factor authentication).
API routes: apps.api.base.OrgViewSet takes it from the API key.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.accounts import two_factor

from .models import Domain, Membership, Organization
from .principals import Member

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from apps.accounts.models import User

    from .request_types import OrgRequest

NOT_FOUND_MESSAGE = "No such organization, or you are not a member of it."


def normalise_host(raw_host: str) -> str:
    """Lower-case host without port or trailing dot; '' when the header is malformed."""
    from django.http.request import split_domain_port

    domain, _port = split_domain_port(raw_host)
    return domain.rstrip(".").lower()


def organization_for_host(host: str) -> Organization | None:
    """The organization whose status page lives on host, or None.

    SECURITY: only an exact `<label>.<STATUS_PAGE_DOMAIN>` (one label before the domain) or an
    exact verified custom hostname matches; `demo.status.example.com.evil.test` does not.

    The label is the organization's slug or, as Statuspage clients build
    `<page_id>.statuspage.io`, its 12-character public id. Slugs win; services refuse a new
    slug equal to an existing public id.
    """
    suffix = "." + settings.STATUS_PAGE_DOMAIN
    if host.endswith(suffix):
        label = host[: -len(suffix)]
        if not label or "." in label:
            return None
        matches = list(Organization.objects.filter(Q(slug=label) | Q(public_id=label))[:2])
        return next((org for org in matches if org.slug == label), matches[0] if matches else None)
    domain = (
        Domain.objects.select_related("organization")
        .filter(hostname=host, verified_at__isnull=False)
        .first()
    )
    return domain.organization if domain else None


def get_membership(user: User | AnonymousUser, org_slug: str) -> Membership:
    """The caller's membership of the organization, or 404 (same for missing and not yours)."""
    if not user.is_authenticated:
        raise Http404(NOT_FOUND_MESSAGE)
    membership = (
        Membership.objects.select_related("organization")
        .filter(organization__slug=org_slug, user=user)
        .first()
    )
    if membership is None:
        raise Http404(NOT_FOUND_MESSAGE)
    return membership


def two_factor_setup_redirect(
    request: HttpRequest, membership: Membership
) -> HttpResponseRedirect | None:
    """For an organization that requires two-factor authentication (`require_two_factor`, set
    by owners), a member without it is sent to set it up: allauth's authenticator app setup,
    told which organization asks for it, and brought back afterwards (?next= and the session:
    allauth's setup ends on the recovery codes, whose page links back). None when the member
    may go on. Another organization's requirement never applies here: only this membership's
    organization is read."""
    organization = membership.organization
    if not organization.require_two_factor:
        return None
    if two_factor.has_two_factor(request.user):
        # Back from setting it up: the link back has done its work.
        if two_factor.RETURN_SESSION_KEY in request.session:
            del request.session[two_factor.RETURN_SESSION_KEY]
        return None
    # A page to come back to: this one, unless it was a form's POST (the form is gone).
    back = request.get_full_path()
    if request.method not in ("GET", "HEAD") or back.startswith("//"):
        back = reverse("organizations:overview", args=[organization.slug])
    request.session[two_factor.RETURN_SESSION_KEY] = back
    messages.warning(
        request,
        # Translators: %(name)s is the organization's name.
        _(
            "%(name)s requires two-factor authentication of its members. Set up an "
            "authenticator app to continue; you will be brought back afterwards."
        )
        % {"name": organization.name},
    )
    return HttpResponseRedirect(f"{reverse('mfa_activate_totp')}?{urlencode({'next': back})}")


def org_view(
    permission: str = "org.view", *, write_permission: str | None = None
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Decorator for every dashboard view under /dashboard/<org_slug>/.

    Resolves request.organization, request.membership and request.principal (the Member that
    services take as `actor`), answers 404 to non-members, sends members without two-factor
    authentication to set it up when the organization requires it, and answers 403
    when the role lacks `permission`. With write_permission, GET/HEAD need `permission` and
    every other method needs write_permission (a viewer can look at a page but not post it).
    """

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(
            request: HttpRequest, org_slug: str, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            membership = get_membership(request.user, org_slug)
            # Before the role check: whatever the page, the member sets up two-factor first.
            setup = two_factor_setup_redirect(request, membership)
            if setup is not None:
                return setup
            # Who acts, for the services this view calls (they check their permission again).
            principal = Member(membership)
            needed = permission
            if write_permission and request.method not in ("GET", "HEAD", "OPTIONS"):
                needed = write_permission
            principal.require(needed)  # PermissionDenied: 403 for a role too low
            org_request = cast("OrgRequest", request)
            org_request.organization = membership.organization
            org_request.membership = membership
            org_request.principal = principal
            # Written only when it changes: a session write on every dashboard request is a
            # database (or cache) write per page view and a Set-Cookie on every response.
            if request.session.get("current_org") != org_slug:
                request.session["current_org"] = org_slug
            # No catch-all for ObjectDoesNotExist here: the objects the URL names are looked up
            # with get_object_or_404, and a service whose row was deleted meanwhile raises
            # apps.core.locking.Gone (a 404). Any other DoesNotExist is a bug: a 500.
            return view(request, *args, **kwargs)

        # Read by the URL-walking tenancy test.
        wrapper.org_permission = permission  # type: ignore[attr-defined]  # a marker on a function
        wrapper.org_write_permission = write_permission  # type: ignore[attr-defined]  # same
        return wrapper

    return decorator
