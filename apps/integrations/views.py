from __future__ import annotations

from django.shortcuts import render

from apps.organizations.tenancy import org_view


@org_view("api_keys.manage")
def api_keys(request):
    return render(request, "organizations/overview.html")
