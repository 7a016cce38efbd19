"""Dashboard pages for inbound alert integrations, below /dashboard/<org_slug>/alerts/.

Members can look (the log helps everyone understand why an incident opened); owners and admins
manage integrations, which hold credentials; editors publish or dismiss drafts, as they run
incidents.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from apps.core.links import absolute_url
from apps.organizations.tenancy import org_view

from . import services as alerts
from .forms import AlertIntegrationForm, severity_defaults_text
from .models import AlertEvent, AlertGroupState, AlertIntegration

MANAGE = "api_keys.manage"  # owners and admins: integrations hold credentials, like API keys
RECENT_EVENTS = 50


def _list_url(request: HttpRequest) -> str:
    return reverse("integrations:alerts", args=[request.organization.slug])


def _integration(request: HttpRequest, integration_id: str) -> AlertIntegration:
    # Scoped lookup: another organization's id is a 404, like a missing one.
    return get_object_or_404(
        AlertIntegration.objects.for_org(request.organization), public_id=integration_id
    )


def _created_page(
    request: HttpRequest, integration: AlertIntegration, token: str, *, rotated: bool
) -> HttpResponse:
    # SECURITY: the token is rendered into this one response and stored nowhere else (only its
    # hash is kept), like an API key's secret.
    response = render(
        request,
        "integrations/alerts/created.html",
        {
            "integration": integration,
            "hook_url": integration.hook_url(token),
            # The same URL without the token, which then travels in a header.
            "header_hook_url": absolute_url(f"/hooks/{integration.kind}"),
            "rotated": rotated,
        },
    )
    add_never_cache_headers(response)
    return response


@org_view("org.view", write_permission=MANAGE)
@require_http_methods(["GET", "HEAD"])
def alert_list(request: HttpRequest) -> HttpResponse:
    org = request.organization
    return render(
        request,
        "integrations/alerts/list.html",
        {
            "integrations": AlertIntegration.objects.for_org(org),
            "drafts": AlertGroupState.objects.for_org(org)
            .filter(state=AlertGroupState.State.PENDING)
            .select_related("integration"),
            "events": AlertEvent.objects.for_org(org).select_related("integration", "incident")[
                :RECENT_EVENTS
            ],
            "can_manage": request.membership.can(MANAGE),
            "can_publish": request.membership.can("incidents.edit"),
        },
    )


@org_view(MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def alert_create(request: HttpRequest) -> HttpResponse:
    form = AlertIntegrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            integration, token = alerts.create_alert_integration(
                request.organization,
                actor=request.principal,
                kind=form.cleaned_data["kind"],
                **form.settings(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _created_page(request, integration, token, rotated=False)
    return render(
        request,
        "integrations/alerts/form.html",
        {"form": form, "integration": None, "severity_defaults": severity_defaults_text()},
    )


@org_view("org.view", write_permission=MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def alert_detail(request: HttpRequest, integration_id: str) -> HttpResponse:
    integration = _integration(request, integration_id)
    if request.method == "POST":
        form = AlertIntegrationForm(request.POST, editing=True)
        if form.is_valid():
            try:
                alerts.update_alert_integration(
                    integration, actor=request.principal, **form.settings()
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Saved “%(name)s”.") % {"name": integration.name})
                return redirect(
                    "integrations:alert_detail", request.organization.slug, integration.public_id
                )
    else:
        form = AlertIntegrationForm(
            initial=AlertIntegrationForm.initial_for(integration), editing=True
        )
    return render(
        request,
        "integrations/alerts/form.html",
        {
            "form": form,
            "integration": integration,
            "can_manage": request.membership.can(MANAGE),
            "events": integration.events.select_related("incident")[:RECENT_EVENTS],
            "severity_defaults": severity_defaults_text(),
        },
    )


@org_view(MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def alert_rotate(request: HttpRequest, integration_id: str) -> HttpResponse:
    integration = _integration(request, integration_id)
    if request.method == "POST":
        token = alerts.rotate_hook_token(integration, actor=request.principal)
        return _created_page(request, integration, token, rotated=True)
    return render(
        request,
        "integrations/alerts/confirm.html",
        {"integration": integration, "action": "rotate"},
    )


@org_view(MANAGE)
@require_http_methods(["POST"])
def alert_toggle(request: HttpRequest, integration_id: str) -> HttpResponse:
    integration = _integration(request, integration_id)
    enabled = not integration.enabled
    alerts.update_alert_integration(integration, actor=request.principal, enabled=enabled)
    messages.success(
        request,
        (
            _("“%(name)s” is enabled.")
            if enabled
            else _("“%(name)s” is disabled. Its hook still answers 200 but changes nothing.")
        )
        % {"name": integration.name},
    )
    return redirect(_list_url(request))


@org_view(MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def alert_delete(request: HttpRequest, integration_id: str) -> HttpResponse:
    integration = _integration(request, integration_id)
    if request.method == "POST":
        name = integration.name
        alerts.delete_alert_integration(integration, actor=request.principal)
        messages.success(
            request, _("Deleted “%(name)s”. Its hook URL now answers 404.") % {"name": name}
        )
        return redirect(_list_url(request))
    return render(
        request,
        "integrations/alerts/confirm.html",
        {"integration": integration, "action": "delete"},
    )


@org_view("org.view", write_permission="incidents.edit")
@require_http_methods(["POST"])
def draft_publish(request: HttpRequest, draft_id: str) -> HttpResponse:
    draft = get_object_or_404(
        AlertGroupState.objects.for_org(request.organization), public_id=draft_id
    )
    try:
        incident = alerts.publish_draft(draft, actor=request.principal)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_list_url(request))
    messages.success(request, _("Published “%(name)s”.") % {"name": incident.name})
    return redirect("incidents:detail", request.organization.slug, incident.public_id)


@org_view("org.view", write_permission="incidents.edit")
@require_http_methods(["POST"])
def draft_dismiss(request: HttpRequest, draft_id: str) -> HttpResponse:
    draft = get_object_or_404(
        AlertGroupState.objects.for_org(request.organization), public_id=draft_id
    )
    alerts.dismiss_draft(draft, actor=request.principal)
    messages.success(request, _("Draft dismissed. Nothing was published."))
    return redirect(_list_url(request))
