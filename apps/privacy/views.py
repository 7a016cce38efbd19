"""The organization's data export and customer erasure (dashboard, owners), and deleting one's
own account (profile). Writes go through services.py; export.py builds the document."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from apps.organizations.request_types import OrgRequest
from apps.organizations.tenancy import org_view

from . import services
from .export import ExportStream
from .forms import DeleteAccountForm, EraseCustomerForm


@org_view("org.export")
@require_POST
def export(request: OrgRequest) -> StreamingHttpResponse:
    """The organization's data as a JSON download, streamed (export.py says why not a file)."""
    organization = request.organization
    entry = services.record_export_started(organization, actor=request.principal)

    def finished(stream: ExportStream) -> None:
        services.record_export_finished(entry, size=stream.size, counts=stream.counts)

    stream = ExportStream(
        organization, exported_by=request.principal.audit_label, on_finish=finished
    )
    response = StreamingHttpResponse(stream, content_type="application/json; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    filename = f"candor-export-{organization.slug}-{stamp}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@org_view("org.erase_person")
@require_http_methods(["GET", "POST"])
def erase_customer(request: OrgRequest) -> HttpResponse:
    organization = request.organization
    form = EraseCustomerForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                counts = services.erase_customer(
                    organization, actor=request.principal, email=form.cleaned_data["email"]
                )
            except ValidationError as exc:
                form.add_error("email", exc)
            else:
                if counts.total():
                    messages.success(
                        request,
                        _(
                            "Erased: %(subscriptions)s subscription(s) deleted, "
                            "%(comments)s comment(s) anonymised, "
                            "%(audit_rows)s audit row(s) given a placeholder."
                        )
                        % {
                            "subscriptions": counts.subscriptions,
                            "comments": counts.comments,
                            "audit_rows": counts.audit_rows,
                        },
                    )
                else:
                    messages.info(
                        request, _("Nothing in this organization belonged to that address.")
                    )
                return redirect("privacy:erase_customer", organization.slug)
    return render(
        request, "privacy/erase_customer.html", {"org": organization, "form": form}, status=status
    )


@never_cache
@login_required
@reauthentication_required(allow_get=True)
@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    """Delete one's own account. allauth asks for the password (or a code, or two-factor) again
    unless the person signed in moments ago; GET only shows the page."""
    user = request.user
    form = DeleteAccountForm(request.POST or None)
    blocking = services.last_owner_of(user)  # type: ignore[arg-type]  # login_required
    if request.method == "POST" and form.is_valid():
        try:
            services.delete_account(user)  # type: ignore[arg-type]  # login_required
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            logout(request)
            messages.success(request, _("Your account and your data were deleted."))
            return redirect("account_login")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "privacy/delete_account.html",
        {"form": form, "last_owner_of": blocking},
        status=status,
    )
