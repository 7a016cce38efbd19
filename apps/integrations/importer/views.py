"""Import from another status page: upload, dry run, confirm (below /dashboard/<org>/import/).

Owners and admins only: an import creates many components and incidents at once.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from apps.organizations.tenancy import org_view

from .forms import ImportForm
from .models import StagedImport
from .services import ImportProblem, import_staged, plan_import, stage_import

PERMISSION = "org.change_settings"


@org_view(PERMISSION)
@require_http_methods(["GET", "HEAD", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """GET: the upload form. POST: check the files and show the dry run."""
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        summary, incidents = form.cleaned_data["summary"], form.cleaned_data["incidents"]
        plan = plan_import(request.organization, summary, incidents)
        staged = None
        if plan.ok and plan.has_work:
            staged = stage_import(
                request.organization, actor=request.principal, summary=summary, incidents=incidents
            )
        return render(
            request,
            "integrations/import/plan.html",
            {"plan": plan, "counts": plan.counts(), "staged": staged},
        )
    return render(request, "integrations/import/upload.html", {"form": form})


@org_view(PERMISSION)
@require_http_methods(["POST"])
def import_confirm(request: HttpRequest, import_id: str) -> HttpResponse:
    staged = get_object_or_404(
        StagedImport.objects.for_org(request.organization), public_id=import_id
    )
    try:
        result = import_staged(staged, actor=request.principal)
    except ImportProblem as exc:
        # The organization changed since the dry run in a way the files now conflict with.
        plan = plan_import(request.organization, staged.summary, staged.incidents)
        messages.error(
            request, _("Nothing was imported: %(problems)s") % {"problems": "; ".join(exc.problems)}
        )
        return render(
            request,
            "integrations/import/plan.html",
            {"plan": plan, "counts": plan.counts(), "staged": None},
        )
    except ValidationError as exc:
        messages.error(
            request, _("Nothing was imported: %(problems)s") % {"problems": " ".join(exc.messages)}
        )
        return redirect("integrations:import", request.organization.slug)
    messages.success(
        request,
        _(
            "Imported %(groups)s group(s), %(components)s component(s) and "
            "%(incidents)s past incident(s)."
        )
        % {
            "groups": result.groups,
            "components": result.components,
            "incidents": result.incidents,
        },
    )
    return redirect("status:components", request.organization.slug)
