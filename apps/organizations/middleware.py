from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse, set_script_prefix, set_urlconf
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_noop
from django.views.defaults import page_not_found

from apps.core import i18n, outage
from apps.core.context_processors import site

from . import private_pages, published
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


NO_PAGE_MESSAGE = gettext_noop("There is no status page at this address.")
# Private pages: never kept by a browser or a shared cache, and never answered to one reader
# from another's copy (apps/public/fastpath.py stores only Cache-Control: public).
PRIVATE_CACHE_CONTROL = "private, no-store"


def unknown_page(request: HttpRequest, message: str = NO_PAGE_MESSAGE) -> HttpResponseBase:
    """ "There is no status page at this address": also what a private page answers to a reader
    it refuses outside its HTML pages (private_pages.Decision.HIDDEN), byte for byte.

    SECURITY: rendered without the request, so neither the organization the request led to nor
    the reader's session can show in it (templates/errors/base.html names the organization of
    a status page request, and the signed-in user); the headers are the private page's. Keep
    both true, or a client could tell a private page from no page at all.
    """
    # In the reader's language among all of Candor's, never the organization's choice of them:
    # a private page's refusal must read exactly like an address with no page.
    language = i18n.choose(
        i18n.codes(),
        settings.LANGUAGE_CODE,
        request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME),
        request.META.get("HTTP_ACCEPT_LANGUAGE"),
    )
    with translation.override(language):
        body = render_to_string(
            "errors/unknown_page.html", {"message": gettext(message), **site(request)}
        )
    response = HttpResponse(body, status=404)
    return private_headers(response)


def private_headers(response: HttpResponseBase) -> HttpResponseBase:
    """Mark a response personal: not stored by any cache, ours (the fast path) included."""
    response["Cache-Control"] = PRIVATE_CACHE_CONTROL
    if response.has_header("CDN-Cache-Control"):
        del response["CDN-Cache-Control"]
    patch_vary_headers(response, ("Cookie", "Authorization"))
    response.shared_public = False  # type: ignore[attr-defined]  # read by apps.public.fastpath
    return response


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
    middleware answers 503). Right after a failure (apps/core/outage.py) a known key is answered
    without asking the database at all.
    """
    if outage.database_known_down():
        organization = last_known.recall(key) or published.recall_route(key)
        if organization is not None:
            return organization
    try:
        organization = lookup()
    except DatabaseError:
        outage.note_database_failure()
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
        # English unless serve_public picks the reader's language (apps/core/i18n.py).
        i18n.activate_for_dashboard()
        try:
            return self.route(request)
        finally:
            current_ip.reset(token)
            i18n.activate_for_dashboard()

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
                return unknown_page(request)
            prefix = get_script_prefix().rstrip("/") + f"/s/{organization.slug}/"
            return self.serve_public(request, organization, match["rest"] or "/", prefix)
        organization = (
            resolve("host:" + host, lambda: organization_for_host(host)) if host else None
        )
        if organization is None:
            return unknown_page(request)
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
        offered = organization.offered_languages
        language = i18n.choose(
            offered,
            organization.default_language,
            request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME),
            request.META.get("HTTP_ACCEPT_LANGUAGE"),
        )
        translation.activate(language)
        request.LANGUAGE_CODE = language
        previous = get_script_prefix()
        set_script_prefix(prefix)
        set_urlconf(settings.PUBLIC_URLCONF)
        try:
            if organization.is_private:
                return self.serve_private(request, organization, offered)
            response = self.get_response(request)
            if settings.DEBUG and response.status_code == 404 and request.resolver_match is None:
                # No public route matched: the branded page, as in production (see below).
                response = page_not_found(request, Http404())
            return i18n.vary(response, offered)
        finally:
            set_script_prefix(previous)
            set_urlconf(None)

    def serve_private(
        self, request: HttpRequest, organization: Organization, offered: list[str]
    ) -> HttpResponseBase:
        """A private page's request (apps/organizations/private_pages.py): refused before any
        view runs, or served with private headers.

        A request with neither a session cookie nor a token cannot be let in: it is answered
        here, before the session and authentication middleware (as cheap as an unknown
        address). Otherwise the decision waits for `process_view`, where `request.user` is
        known; its refusals are rebuilt here, so they carry nothing the stack below added."""
        route, _match = private_pages.route_of(request.path_info)
        if route is private_pages.Route.MISSING or (
            route is not private_pages.Route.OPEN
            and not private_pages.may_hold_credentials(request)
        ):
            return self.refuse(request, private_pages.decide(request, organization, route))
        cast(PublicRequest, request).private_route = route
        response = self.get_response(request)
        refusal = getattr(request, "private_refusal", None)
        if refusal is not None:
            return self.refuse(request, refusal)
        # Refusals above stay the unknown address's answer byte for byte (no Vary of ours).
        return i18n.vary(private_headers(response), offered)

    def refuse(self, request: HttpRequest, decision: private_pages.Decision) -> HttpResponseBase:
        if decision is private_pages.Decision.SIGN_IN:
            target = reverse("public:signin") + "?" + urlencode({"next": request.path})
            return private_headers(HttpResponseRedirect(target))
        return unknown_page(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict
    ) -> HttpResponseBase | None:
        """The decision for a private page's request that may carry credentials (see
        serve_private): before the view, with the session and user loaded."""
        route = getattr(request, "private_route", None)
        if route is None:
            return None
        organization = cast(PublicRequest, request).organization
        try:
            decision = private_pages.decide(request, organization, route)
        except DatabaseError:
            # Who the reader is cannot be known while the database is down (session, members,
            # addresses, tokens): "try again", never the page, never an error page naming it.
            logger.warning("database down; cannot check a private page's reader", exc_info=True)
            return unavailable()
        if decision is private_pages.Decision.ALLOW:
            return None
        cast(PublicRequest, request).private_refusal = decision
        return HttpResponse(status=404)  # replaced by serve_private

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
