"""Dashboard pages of the public site: "Banner, badge and outage page".

What an organization copies onto its own site and READMEs (the embed.js snippet, the badge and
its Markdown, the outage page's address), the banner's position and colours with a live
preview drawn by the banner's own script, and the outage page as one file to download.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from apps.organizations import services as organizations
from apps.organizations.tenancy import org_view
from apps.status.models import Component

from .down import download_response
from .embed import banner_data
from .forms import BannerForm

# Shown in the preview when nothing is happening: the banner's look, with made-up content.
SAMPLE_ITEM = {
    "id": "preview",
    "kind": "incident",
    "name": gettext_lazy("Example: slow API responses"),
    "status": "identified",
    "status_label": pgettext_lazy("incident status", "Identified"),
    "latest_update": "",
}


def preview_data(data: dict[str, Any]) -> dict[str, Any]:
    if data["items"]:
        return data
    now = timezone.now()
    sample = {
        **SAMPLE_ITEM,
        "updated_at": (now - timedelta(minutes=8)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "next_update_due": (now + timedelta(minutes=22)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "url": data["page"]["url"],
        "discussion_url": data["page"]["url"],
    }
    return {**data, "items": [sample]}


def markdown_badge(name: str, image: str, link: str) -> str:
    return f"[![{name.replace(']', '')} status]({image})]({link})"


@org_view("org.view", write_permission="branding.edit")
@require_http_methods(["GET", "POST"])
def embed_settings(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    initial = {
        "banner_position": organization.banner_position,
        "banner_background": organization.banner_background,
        "banner_text_color": organization.banner_text_color,
    }
    form = BannerForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                organizations.update_banner_settings(
                    organization,
                    actor=request.principal,
                    position=form.cleaned_data["banner_position"],
                    background=form.cleaned_data["banner_background"],
                    text_color=form.cleaned_data["banner_text_color"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Saved. Banners on your site use these settings now."))
                return redirect("embed:settings", organization.slug)
        status = 400
    page_url = organization.public_url
    badge_url = page_url + "badge.svg"
    components = list(Component.objects.for_org(organization).select_related("group"))
    components.sort(key=lambda c: (c.group.position if c.group else c.position, c.position))
    data = banner_data(organization, page_url)
    return render(
        request,
        "status/dashboard/embed.html",
        {
            "organization": organization,
            "form": form,
            "can_edit": request.membership.can("branding.edit"),
            "page_url": page_url,
            "snippet": f'<script src="{page_url}embed.js" async></script>',
            "down_url": page_url + "down/",
            "badge_url": badge_url,
            "badge_markdown": markdown_badge(organization.name, badge_url, page_url),
            "component_badges": [
                (
                    component.display_name,
                    f"{badge_url}?component={component.public_id}",
                    markdown_badge(
                        component.display_name,
                        f"{badge_url}?component={component.public_id}",
                        page_url,
                    ),
                )
                for component in components
            ],
            "active_count": len(data["items"]),
            "preview": preview_data(data),
        },
        status=status,
    )


@org_view("org.view")
@require_safe
def download_down_page(request: HttpRequest) -> HttpResponse:
    return download_response(request.organization)
