"""The status page's first onboarding step on the dashboard home (apps.organizations.onboarding;
registered in StatusConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from apps.organizations import onboarding

from .models import Component


@onboarding.register("status.components", position=10)
def add_components(request: HttpRequest) -> dict[str, Any]:
    organization = request.organization
    return {
        "title": "Add the components customers depend on",
        "text": "List the parts of your service people notice when they break: website, "
        "API, sign-in, payments. Each one gets a status and a 90-day uptime bar.",
        "done": Component.objects.for_org(organization).exists(),
        "url": reverse("status:components", args=[organization.slug]),
        "action": "Add components",
    }
