from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import get_script_prefix, set_script_prefix, set_urlconf
from django.views.defaults import page_not_found

from . import published
from .context import current_ip
from .models import Organization
from .request_types import PublicRequest, TenantRequest
from .tenancy import normalise_host, organization_for_host

logger = logging.getLogger(__name__)

PATH_PREFIX = re.compile(r"^/s/(?P<slug>[a-z0-9-]{1,40})(?P<rest>/.*)?$")
# Load balancers and orchestrators probe by IP address or an internal name: health checks answer
# on any host.
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR: the peer, or behind our own proxies (TRUSTED_PROXIES) the address they saw,
    # set before Django runs (apps/core/forwarded.py). Never a client-supplied X-Forwarded-For.
    return request.META.get("REMOTE_ADDR") or None


def unknown_page(request: HttpRequest, message: str) -> HttpResponseBase:
    return render(request, "errors/unknown_page.html", {"message": message}, status=404)


class LastKnownOrganizations:
    """Per-process memory of the organizations recently served, by host or slug.

    Used when the database is unreachable, so the public page can still be served from its
    last good rendering (apps/public/caching.py) instead of failing before any view runs. The
    same routes are kept in the cache (apps/organizations/published.py) for processes that start
    during the outage; this memory also tells `resolve` when the cache already has the route.
    """

    def __init__(self, size: int = 5000):
        self.size = size
        self.items: OrderedDict[str, Organization] = OrderedDict()

    def remember(self, key: str, organization: Organization) -> None:
        self.items[key] = organization
        self.items.move_to_end(key)
        if len(self.items) > self.size:
            self.items.popitem(last=False)

    def recall(self, key: str) -> Organization | None:
        return self.items.get(key)


last_known = LastKnownOrganizations()


def resolve(key: str, lookup: Callable[[], Organization | None]) -> Organization | None:
    """lookup() from the database; its last answer for key if the database is down.

    The last answer comes from this process's memory or, in a process that never served this
    key (started during the outage), from the cache. Neither: DatabaseError propagates (the
    middleware answers 503).
    """
    try:
        organization = lookup()
    except DatabaseError:
        organization = last_known.recall(key) or published.recall_route(key)
        if organization is None:
            raise
        return organization
    if organization is not None:
        known = last_known.recall(key)
        if (
            known is None
            or known.pk != organization.pk
            or known.content_version != organization.content_version
        ):
            # Once per process per change (every change bumps the version), not per request.
            published.remember_route(key, organization)
        last_known.remember(key, organization)
    return organization


def unavailable() -> HttpResponse:
    """An address we cannot resolve while the database is down: try again, not an error page.

    Plain text: templates may need the database (or the organization) to render."""
    response = HttpResponse(
        "This status page is temporarily unavailable. Please try again in a minute.\n",
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = "30"
    response["Cache-Control"] = "no-store"
    return response


class TenantMiddleware:
    """Routes each request to the application or to one organization's public status page.

    - an application host (ALLOWED_HOSTS): the main URLconf; /s/<slug>/... is that
      organization's status page, served by the public URLconf with /s/<slug>/ as script prefix
      so `{% url %}` builds the right links in both modes;
    - <slug>.<STATUS_PAGE_DOMAIN> or a verified custom domain: the public URLconf at /;
    - anything else: a 404 page that says the page does not exist.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        token = current_ip.set(client_ip(request))
        try:
            return self.route(request)
        finally:
            current_ip.reset(token)

    def route(self, request: HttpRequest) -> HttpResponseBase:
        try:
            return self.route_or_fail(request)
        except DatabaseError:
            if getattr(request, "public_prefix", None) is not None:
                raise  # the view failed: its own handling (or the 500 page) applies
            logger.warning("database down and no known route for %s", request.path, exc_info=True)
            return unavailable()

    def route_or_fail(self, request: HttpRequest) -> HttpResponseBase:
        cast(TenantRequest, request).organization = None
        if request.path_info in HEALTH_PATHS:
            return self.get_response(request)
        host = normalise_host(request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", ""))
        if host in settings.APP_HOSTS or f"[{host}]" in settings.APP_HOSTS:
            match = PATH_PREFIX.match(request.path_info)
            if match is None:
                return self.get_response(request)
            slug = match["slug"]
            organization = resolve(
                "slug:" + slug, lambda: Organization.objects.filter(slug=slug).first()
            )
            if organization is None:
                return unknown_page(request, "There is no status page at this address.")
            prefix = get_script_prefix().rstrip("/") + f"/s/{organization.slug}/"
            return self.serve_public(request, organization, match["rest"] or "/", prefix)
        organization = (
            resolve("host:" + host, lambda: organization_for_host(host)) if host else None
        )
        if organization is None:
            return unknown_page(request, "There is no status page at this address.")
        return self.serve_public(request, organization, request.path_info, get_script_prefix())

    def serve_public(
        self, request: HttpRequest, organization: Organization, path_info: str, prefix: str
    ) -> HttpResponseBase:
        public = cast(PublicRequest, request)  # what the attributes set below make it
        public.organization = organization
        request.urlconf = settings.PUBLIC_URLCONF
        # Clients such as slok/stactus request //api/v2/...: treat repeated slashes as one.
        request.path_info = re.sub("/{2,}", "/", path_info)
        public.public_prefix = prefix
        previous = get_script_prefix()
        set_script_prefix(prefix)
        set_urlconf(settings.PUBLIC_URLCONF)
        try:
            response = self.get_response(request)
            if settings.DEBUG and response.status_code == 404 and request.resolver_match is None:
                # No public route matched: the branded page, as in production (see below).
                response = page_not_found(request, Http404())
            return response
        finally:
            set_script_prefix(previous)
            set_urlconf(None)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponseBase | None:
        """Status page readers get the branded 404 page (templates/404.html) with DEBUG on too.

        With DEBUG on Django answers a 404 with its technical page (URL patterns, settings
        hints), which is what a reader of a wrong incident link would see under `make run`.
        Production already renders templates/404.html; the dashboard keeps the technical page
        under DEBUG, where the people who read it are the ones developing it.
        """
        if settings.DEBUG and isinstance(exception, Http404) and hasattr(request, "public_prefix"):
            return page_not_found(request, exception)
        return None
