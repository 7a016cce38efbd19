"""Dashboard pages for API keys: below /dashboard/<org_slug>/api-keys/, owners and admins only."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from apps.core.links import absolute_url
from apps.organizations.tenancy import org_view

from .forms import ApiKeyForm
from .models import ApiKey
from .services import create_api_key, revoke_api_key

# Session key holding the nonces of create forms already used (never the secrets themselves).
USED_NONCES_SESSION_KEY = "integrations.used_api_key_form_nonces"
MAX_REMEMBERED_NONCES = 20


def _list_url(request: HttpRequest) -> str:
    return reverse("integrations:api_keys", args=[request.organization.slug])


@org_view("api_keys.manage")
@require_http_methods(["GET", "HEAD"])
def api_keys(request: HttpRequest) -> HttpResponse:
    keys = (
        ApiKey.objects.for_org(request.organization)
        .select_related("created_by")
        # Active keys first, newest first within each group.
        .order_by(F("revoked_at").asc(nulls_first=True), "-created_at")
    )
    return render(request, "integrations/api_keys.html", {"keys": keys})


@org_view("api_keys.manage")
@require_http_methods(["GET", "HEAD", "POST"])
def api_key_create(request: HttpRequest) -> HttpResponse:
    used_nonces: list[str] = request.session.get(USED_NONCES_SESSION_KEY, [])
    if request.method == "POST":
        form = ApiKeyForm(request.POST)
        nonce = request.POST.get("form_nonce", "")
        if nonce and nonce in used_nonces:
            # The browser re-sent a form that already made a key (reload, back button).
            messages.info(
                request,
                _(
                    "That key was already created. Its secret is shown only once; if it was not "
                    "saved, revoke the key and create a new one."
                ),
            )
            return redirect(_list_url(request))
        if form.is_valid():
            try:
                key, secret = create_api_key(
                    request.organization,
                    actor=request.principal,
                    name=form.cleaned_data["name"],
                    scope=form.cleaned_data["scope"],
                    can_import_confirmed=form.cleaned_data["can_import_confirmed"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                if nonce:
                    request.session[USED_NONCES_SESSION_KEY] = [
                        *used_nonces[-(MAX_REMEMBERED_NONCES - 1) :],
                        nonce,
                    ]
                # SECURITY: the secret is rendered into this one response and stored nowhere
                # (not in the session, not in a message, not in the audit log). A redirect would
                # need to keep it somewhere until the next request.
                response = render(
                    request,
                    "integrations/api_key_created.html",
                    {
                        "key": key,
                        "secret": secret,
                        "api_url": absolute_url(reverse("api:organization")),
                    },
                )
                add_never_cache_headers(response)  # no-store: keep it out of caches
                return response
    else:
        form = ApiKeyForm(initial={"form_nonce": secrets.token_urlsafe(16)})
    return render(request, "integrations/api_key_form.html", {"form": form})


@org_view("api_keys.manage")
@require_http_methods(["GET", "HEAD", "POST"])
def api_key_revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    # Scoped lookup: another organization's key id is a 404, like a missing one.
    key = get_object_or_404(ApiKey.objects.for_org(request.organization), public_id=key_id)
    if request.method == "POST":
        if key.is_active:
            revoke_api_key(key, actor=request.principal)
            messages.success(
                request,
                _("Revoked “%(name)s”. Requests that use it now get 401 Unauthorized.")
                % {"name": key.name},
            )
        else:
            messages.info(request, _("“%(name)s” was already revoked.") % {"name": key.name})
        return redirect(_list_url(request))
    return render(request, "integrations/api_key_revoke.html", {"key": key})
