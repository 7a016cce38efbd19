"""The language switcher on public pages (apps/core/i18n.py says how a language is chosen).

A link per offered language (`page_languages` in the templates' context) leads here; this sets
the `candor_language` cookie and sends the reader back to the page they were on. A plain link,
not a form: the pages are cached and shared, so they carry no CSRF token, and choosing a
language changes nothing but how this reader's own browser is answered.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from apps.organizations.request_types import PublicRequest


def switch(request: HttpRequest, code: str) -> HttpResponse:
    public: PublicRequest = request  # type: ignore[assignment]  # TenantMiddleware routed it
    home = reverse("public:page")
    target = request.GET.get("next", "")
    # Only a path on this page's own host and prefix: never an open redirect.
    if not (
        target.startswith(public.public_prefix)
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    ):
        target = home
    response = HttpResponseRedirect(target)
    response["Cache-Control"] = "no-store"
    offered = public.organization.offered_languages
    if code not in offered:
        # An unknown or switched-off language: back to the page, which then speaks its default
        # (or what the reader's browser asks for); a stale cookie is dropped.
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, samesite="Lax")
        return response
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=request.is_secure(),
        httponly=True,
    )
    return response
