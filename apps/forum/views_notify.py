"""The one-click links of forum mail: "mute this discussion" and "mute all discussions of
<organization>", on the status page's address (no sign-in: the signed token is the key).

RFC 8058: the List-Unsubscribe URL answers a POST with the body `List-Unsubscribe=One-Click`,
without cookies, redirects or any other step; a GET only shows a page with the button (mail
scanners follow links). A token made for another organization's page is refused like a forged
one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import notifications
from .notifications import discussion_url

Frame = Callable[..., dict[str, Any]]


def _page(
    request: HttpRequest, frame: Frame, template: str, context: dict, status: int = 200
) -> HttpResponse:
    # `frame`: the status page's own frame (apps.public.views_public.base_context, passed in by
    # config/urls_public.py: the public site is on this app's floor).
    return render(
        request,
        f"forum/notify/{template}",
        {**frame(request, request.organization), **context},
        status=status,
    )


def _invalid(request: HttpRequest, frame: Frame) -> HttpResponse:
    return _page(request, frame, "invalid_link.html", {}, status=404)


# SECURITY: csrf_exempt because RFC 8058 one-click POSTs come from the mailbox provider with no
# cookies; the signed token in the URL is the authorisation, and the only effect is less mail.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def mute_thread(request: HttpRequest, token: str, frame: Frame) -> HttpResponse:
    follow = notifications.follow_for_token(request.organization, token)
    if follow is None:
        return _invalid(request, frame)
    incident = follow.thread.incident
    incident.organization = request.organization
    context = {
        "follow": follow,
        "incident": incident,
        "discussion_url": discussion_url(incident),
        "mute_all_url": notifications.mute_all_url(request.organization, follow.user_id),
    }
    if request.method == "POST":
        if request.POST.get("action") == "unmute":
            notifications.unmute_thread(follow)
            return _page(request, frame, "mute.html", context)
        # Idempotent and always 200 (RFC 8058: no redirects).
        notifications.mute_thread(follow)
        return _page(request, frame, "muted.html", context)
    return _page(request, frame, "mute.html", context)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def mute_all(request: HttpRequest, token: str, frame: Frame) -> HttpResponse:
    organization = request.organization
    user = notifications.user_for_mute_all_token(organization, token)
    if user is None:
        return _invalid(request, frame)
    if request.method == "POST":
        if request.POST.get("action") == "unmute":
            notifications.unmute_all(organization, user)
        else:
            notifications.mute_all(organization, user)
    muted = notifications.is_muted_all(organization, user)
    return _page(request, frame, "mute_all.html", {"muted": muted, "email": user.email})
