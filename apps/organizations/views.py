from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .models import Organization
from .tenancy import org_view


@login_required
def home(request):
    organizations = Organization.objects.filter(memberships__user=request.user)
    return render(request, "organizations/home.html", {"organizations": organizations})


@org_view()
def overview(request):
    return render(request, "organizations/overview.html")


@org_view("members.view")
def members(request):
    return render(request, "organizations/overview.html")


@org_view("domains.manage")
def domains(request):
    return render(request, "organizations/overview.html")


@org_view("audit.view")
def audit(request):
    return render(request, "organizations/overview.html")


@org_view("org.view", write_permission="org.change_settings")
def settings_view(request):
    return render(request, "organizations/overview.html")
