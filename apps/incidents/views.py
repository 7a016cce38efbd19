"""Staff dashboard for incidents, scheduled maintenance and incident templates.

Every view goes through `org_view`: members read, editors and up write (POST), admins delete.
Times are shown and entered in the organization's timezone. Views call services for every
write and turn their ValidationErrors into form errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, F, Prefetch, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from apps.notifications.models import NotificationSettings
from apps.organizations.tenancy import org_view
from apps.status.models import Component

from . import forms, services, texts
from .followups import follow_ups, postmortem_due_days
from .models import (
    OPEN_MAINTENANCE,
    UNRESOLVED_INCIDENT,
    ActionItem,
    Incident,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    Kind,
    MaintenanceStatus,
    Postmortem,
)
from .plain import views as plain

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

READ_WRITE = {"write_permission": "incidents.edit"}
PAGE_SIZE = 25


def _render(request: HttpRequest, template: str, context: dict | None = None, **kwargs):
    """Render with the organization's timezone active, so every time reads in local time."""
    organization = request.organization
    context = {
        "org": organization,
        "can_edit": request.membership.can("incidents.edit"),
        "can_delete": request.membership.can("incidents.delete"),
        # Keys are status values, for the composer's "swap in the default text" script.
        "default_texts": {str(k): v for k, v in texts.DEFAULT_UPDATE_TEXT.items()},
        **(context or {}),
    }
    if plain.check_requested(request):
        # "Check wording" without JavaScript: the same page with the text kept and the
        # plain-language findings shown; nothing was saved, so it is not an error.
        context["plain"] = plain.plain_findings(request)
        kwargs["status"] = 200
    with timezone.override(organization.tzinfo):
        return render(request, template, context, **kwargs)


def _get(request: HttpRequest, public_id: str, kind: str) -> Incident:
    # Same 404 for "no such incident" and "another organization's incident".
    return get_object_or_404(
        Incident.objects.for_org(request.organization).filter(kind=kind), public_id=public_id
    )


def _form_error(form, error: ValidationError) -> None:
    form.add_error(None, error)


def _components_prefetch() -> Prefetch:
    return Prefetch("components", queryset=Component.objects.select_related("group"))


def _timeline(incident: Incident):
    return incident.updates.select_related("created_by").prefetch_related("revisions__edited_by")


# --- incidents -----------------------------------------------------------------------------


@org_view("org.view")
def incident_list(request: HttpRequest) -> HttpResponse:
    incidents = Incident.objects.for_org(request.organization).incidents()
    now = timezone.now()
    # Overdue first (the longest overdue on top): those are the promises readers are waiting
    # on. Then the others by when their next update is due, then the newest.
    # Case, not a bare comparison: an incident without a promise is "not overdue", not NULL
    # (which PostgreSQL would sort first).
    overdue = Case(When(next_update_due__lte=now, then=Value(True)), default=Value(False))
    active = (
        incidents.filter(status__in=UNRESOLVED_INCIDENT)
        .annotate(overdue=overdue)
        .order_by(
            F("overdue").desc(), F("next_update_due").asc(nulls_last=True), "-started_at", "-id"
        )
        .prefetch_related(_components_prefetch())
    )
    past = incidents.exclude(status__in=UNRESOLVED_INCIDENT).prefetch_related(
        _components_prefetch()
    )
    page = Paginator(past, PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(
        request,
        "incidents/dashboard/list.html",
        {
            "active": active,
            "overdue_count": sum(1 for incident in active if incident.overdue),
            "page": page,
            "now": now,
            "follow_ups": follow_ups(request.organization),
            "can_change_settings": request.membership.can("org.change_settings"),
        },
    )


@org_view("org.change_settings")
def follow_up_settings(request: HttpRequest) -> HttpResponse:
    """After how many days a resolved incident without a postmortem is listed (admins)."""
    organization = request.organization
    form = forms.FollowUpSettingsForm(
        request.POST if request.method == "POST" else None,
        initial={"postmortem_due_days": postmortem_due_days(organization)},
    )
    if _submitted(
        request,
        form,
        lambda data: services.set_postmortem_due_days(
            organization, actor=request.principal, days=data["postmortem_due_days"]
        ),
    ):
        days = form.cleaned_data["postmortem_due_days"]
        messages.success(
            request,
            ngettext(
                "Saved. Resolved incidents without a postmortem are listed after %(days)s day.",
                "Saved. Resolved incidents without a postmortem are listed after %(days)s days.",
                days,
            )
            % {"days": days},
        )
        return redirect(reverse("incidents:list", args=[organization.slug]) + "#follow-ups")
    return _render(
        request,
        "incidents/dashboard/follow_up_settings.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


def _template_initial(request: HttpRequest) -> tuple[IncidentTemplate | None, dict]:
    public_id = request.GET.get("template") or request.POST.get("template")
    if not public_id:
        return None, {}
    template = (
        IncidentTemplate.objects.for_org(request.organization)
        .filter(public_id=public_id, kind=Kind.INCIDENT)
        .first()
    )
    if template is None:
        return None, {}
    initial = {
        "template": template.public_id,
        "name": template.title,
        "body": template.body,
        "status": template.status,
        "impact": template.impact,
    }
    return template, initial


def _preview_context(form: forms.IncidentForm) -> dict:
    """What the first update will look like, from whatever of the form is valid so far."""
    data = form.cleaned_data if hasattr(form, "cleaned_data") else {}
    changes = form.component_changes() if data else {}
    impact = data.get("impact")
    if impact in (None, forms.AUTO_IMPACT):
        impact = services.impact_for_statuses(changes.values())
    status = data.get("status") or IncidentStatus.INVESTIGATING
    return {
        "preview": {
            "name": data.get("name") or form.data.get("name") or _("Untitled incident"),
            "status": status,
            "status_label": IncidentStatus(status).label,
            "impact": impact,
            "body": data.get("body") or form.data.get("body", ""),
            "components": sorted(changes.items(), key=lambda item: item[0].display_name),
            "notify": data.get("notify", False),
            "next_update_due": form.promised[0],
            "no_further_updates": form.promised[1],
            "now": timezone.now(),
        }
    }


@org_view("incidents.edit")
def incident_new(request: HttpRequest) -> HttpResponse:
    template, initial = _template_initial(request)
    templates = IncidentTemplate.objects.for_org(request.organization).filter(kind=Kind.INCIDENT)
    if request.method != "POST":
        form = forms.IncidentForm(organization=request.organization, initial=initial)
        return _render(
            request,
            "incidents/dashboard/compose.html",
            {"form": form, "templates": templates, "template": template},
        )

    form = forms.IncidentForm(request.POST, organization=request.organization)
    valid = form.is_valid()
    if "preview" in request.POST or plain.check_requested(request):
        # Preview (and Check wording) never saves: the htmx request gets the panel, a plain
        # POST the whole page.
        context = {
            "form": form,
            "templates": templates,
            "template": template,
            **_preview_context(form),
        }
        if request.headers.get("HX-Request"):
            return _render(request, "incidents/dashboard/_preview.html", context)
        return _render(request, "incidents/dashboard/compose.html", context)
    if valid:
        try:
            incident = services.open_incident(
                request.organization,
                actor=request.principal,
                name=form.cleaned_data["name"],
                status=form.cleaned_data["status"],
                body=form.cleaned_data["body"],
                impact=form.impact_or_none(),
                components=form.component_changes(),
                deliver_notifications=form.cleaned_data["notify"],
                next_update_due=form.promised[0],
                no_further_updates=form.promised[1],
                template=template,
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Incident opened and published on your status page."))
            return redirect("incidents:detail", request.organization.slug, incident.public_id)
    return _render(
        request,
        "incidents/dashboard/compose.html",
        {"form": form, "templates": templates, "template": template},
        status=400,
    )


@org_view("org.view", **READ_WRITE)
def incident_detail(request: HttpRequest, incident_id: str) -> HttpResponse:
    """The timeline; POST posts an update (editors and up)."""
    incident = _get(request, incident_id, Kind.INCIDENT)
    # One read for the default cadence (pre-filled) and whether reminders also go to Slack.
    notification_settings = NotificationSettings.for_org(request.organization)
    form = forms.UpdateForm(
        request.POST or None,
        organization=request.organization,
        incident=incident,
        cadence=notification_settings.update_cadence_minutes,
    )
    if _submitted(
        request,
        form,
        lambda data: services.post_update(
            incident,
            actor=request.principal,
            status=data["status"],
            body=data["body"],
            components=form.component_changes(),
            deliver_notifications=data["notify"],
            next_update_due=form.promised[0],
            no_further_updates=form.promised[1],
        ),
    ):
        messages.success(request, _("Update posted."))
        return redirect("incidents:detail", request.organization.slug, incident.public_id)
    context = {
        "incident": incident,
        "updates": _timeline(incident),
        "components": incident.components.select_related("group"),
        "form": form,
        "resolve_form": forms.ResolveForm(),
        "reopen_form": forms.ReopenForm(),
        "postmortem": _postmortem_of(request, incident),
        "now": timezone.now(),
        "reminder_lead_minutes": settings.UPDATE_REMINDER_LEAD_MINUTES,
        "staff_slack": bool(notification_settings.staff_slack_url),
    }
    status = 400 if request.method == "POST" else 200
    return _render(request, "incidents/dashboard/detail.html", context, status=status)


@org_view("incidents.edit")
def edit_update(request: HttpRequest, incident_id: str, update_id: str) -> HttpResponse:
    incident = get_object_or_404(
        Incident.objects.for_org(request.organization), public_id=incident_id
    )
    update = get_object_or_404(
        IncidentUpdate.objects.for_org(request.organization).filter(incident=incident),
        public_id=update_id,
    )
    form = forms.EditUpdateForm(request.POST or None, initial={"body": update.body})
    if _submitted(
        request,
        form,
        lambda data: services.edit_update(update, actor=request.principal, body=data["body"]),
    ):
        messages.success(request, _("Update corrected. The previous text is kept for staff."))
        return redirect(_detail_url(request, incident))
    return _render(
        request,
        "incidents/dashboard/edit_update.html",
        {
            "incident": incident,
            "update": update,
            "form": form,
            "revisions": update.revisions.select_related("edited_by"),
        },
    )


def _detail_url(request: HttpRequest, incident: Incident) -> str:
    name = "incidents:maintenance_detail" if incident.is_maintenance else "incidents:detail"
    return reverse(name, args=[request.organization.slug, incident.public_id])


def _submitted(request: HttpRequest, form, run: Callable[[dict], object]) -> bool:
    """True once a valid POSTed form has run its service (`run(cleaned_data)`); a service's
    ValidationError becomes a form error (and its transaction wrote nothing)."""
    if request.method != "POST" or plain.check_requested(request) or not form.is_valid():
        return False
    try:
        run(form.cleaned_data)
    except ValidationError as error:
        _form_error(form, error)
        return False
    return True


def _action_page(
    request: HttpRequest,
    incident: Incident,
    form,
    run: Callable[[dict], object],
    *,
    done: str,
    title: str,
    submit: str,
    explain: str,
) -> HttpResponse:
    """One form page that runs one service on an incident: on success a message and back to the
    incident; a service's ValidationError becomes a form error and nothing is written."""
    if _submitted(request, form, run):
        messages.success(request, done)
        return redirect(_detail_url(request, incident))
    context = {"incident": incident, "form": form, "title": title, "submit": submit}
    return _render(request, "incidents/dashboard/action.html", {**context, "explain": explain})


@org_view("incidents.edit")
def edit_details(request: HttpRequest, incident_id: str) -> HttpResponse:
    """Rename, or correct the impact (e.g. a status set by mistake raised it)."""
    incident = _get(request, incident_id, Kind.INCIDENT)
    form = forms.IncidentDetailsForm(
        request.POST or None, initial={"name": incident.name, "impact": incident.impact}
    )

    def run(data: dict) -> None:
        services.update_incident_details(
            incident,
            actor=request.principal,
            name=data["name"],
            impact=data["impact"] if data["impact"] != incident.impact else None,
        )

    return _action_page(
        request,
        incident,
        form,
        run,
        done=_("Saved. Subscribers are not notified of this change."),
        title=_("Edit name and impact"),
        submit=_("Save"),
        explain=_(
            "Corrections only: nobody is notified. Post an update to tell readers what changed."
        ),
    )


@org_view("incidents.edit")
def resolve(request: HttpRequest, incident_id: str) -> HttpResponse:
    incident = _get(request, incident_id, Kind.INCIDENT)
    return _action_page(
        request,
        incident,
        forms.ResolveForm(request.POST or None),
        lambda data: services.resolve_incident(
            incident,
            actor=request.principal,
            body=data["body"],
            deliver_notifications=data["notify"],
        ),
        done=_("Incident resolved. Affected components are operational."),
        title=_("Resolve incident"),
        submit=_("Resolve incident"),
        explain=_(
            "Affected components go back to operational. To keep one "
            "degraded, post an update with status Resolved instead."
        ),
    )


@org_view("incidents.edit")
def reopen(request: HttpRequest, incident_id: str) -> HttpResponse:
    incident = _get(request, incident_id, Kind.INCIDENT)
    return _action_page(
        request,
        incident,
        forms.ReopenForm(request.POST or None),
        lambda data: services.reopen_incident(
            incident,
            actor=request.principal,
            status=data["status"],
            body=data["body"],
            deliver_notifications=data["notify"],
            # Reopened, it is active again: the default cadence promises the next update.
            next_update_due=services.default_next_update(request.organization, timezone.now()),
        ),
        done=_("Incident reopened."),
        title=_("Reopen incident"),
        submit=_("Reopen incident"),
        explain=_(
            "Use this when the same problem comes back. Set component "
            "statuses with the next update."
        ),
    )


@org_view("incidents.edit")
def backfill(request: HttpRequest) -> HttpResponse:
    form = forms.BackfillForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            incident = services.backfill_incident(
                request.organization,
                actor=request.principal,
                name=form.cleaned_data["name"],
                impact=form.cleaned_data["impact"],
                components=form.cleaned_data["components"],
                updates=form.updates(),
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Past incident recorded. Nobody was notified."))
            return redirect(_detail_url(request, incident))
    return _render(request, "incidents/dashboard/backfill.html", {"form": form})


@org_view("incidents.delete")
def delete(request: HttpRequest, incident_id: str) -> HttpResponse:
    incident = get_object_or_404(
        Incident.objects.for_org(request.organization), public_id=incident_id
    )
    form = forms.DeleteForm(request.POST or None, expected=incident.name)
    if request.method == "POST" and form.is_valid():
        services.delete_incident(incident, actor=request.principal)
        messages.success(request, _("“%(name)s” was deleted.") % {"name": incident.name})
        name = "incidents:maintenance_list" if incident.is_maintenance else "incidents:list"
        return redirect(name, request.organization.slug)
    return _render(request, "incidents/dashboard/delete.html", {"incident": incident, "form": form})


# --- maintenance ---------------------------------------------------------------------------


@org_view("org.view")
def maintenance_list(request: HttpRequest) -> HttpResponse:
    maintenances = Incident.objects.for_org(request.organization).maintenances()
    upcoming = (
        maintenances.filter(status__in=OPEN_MAINTENANCE)
        .order_by("scheduled_for", "id")
        .prefetch_related(_components_prefetch())
    )
    past = (
        maintenances.filter(status=MaintenanceStatus.COMPLETED)
        .order_by("-scheduled_for", "-id")
        .prefetch_related(_components_prefetch())
    )
    page = Paginator(past, PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(
        request, "incidents/dashboard/maintenance_list.html", {"upcoming": upcoming, "page": page}
    )


@org_view("incidents.edit")
def maintenance_new(request: HttpRequest) -> HttpResponse:
    initial = {}
    template = (
        IncidentTemplate.objects.for_org(request.organization)
        .filter(public_id=request.GET.get("template", ""), kind=Kind.MAINTENANCE)
        .first()
    )
    if template is not None:
        initial = {"name": template.title, "body": template.body}
    form = forms.MaintenanceForm(
        request.POST or None, organization=request.organization, initial=initial
    )
    if request.method == "POST" and not plain.check_requested(request) and form.is_valid():
        data = form.cleaned_data
        try:
            maintenance = services.schedule_maintenance(
                request.organization,
                actor=request.principal,
                name=data["name"],
                body=data["body"],
                scheduled_for=data["scheduled_for"],
                scheduled_until=data["scheduled_until"],
                components=data["components"],
                auto_start=data["auto_start"],
                auto_complete=data["auto_complete"],
                reminder_hours=data["reminder_hours"],
                deliver_notifications=data["notify"],
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Maintenance scheduled and published on your status page."))
            return redirect(_detail_url(request, maintenance))
    templates = IncidentTemplate.objects.for_org(request.organization).filter(kind=Kind.MAINTENANCE)
    return _render(
        request,
        "incidents/dashboard/maintenance_form.html",
        {"form": form, "maintenance_templates": templates},
    )


@org_view("org.view", **READ_WRITE)
def maintenance_detail(request: HttpRequest, maintenance_id: str) -> HttpResponse:
    """The timeline; POST posts a message without changing the status."""
    maintenance = _get(request, maintenance_id, Kind.MAINTENANCE)
    form = forms.MaintenanceUpdateForm(request.POST or None, organization=request.organization)
    if _submitted(
        request,
        form,
        lambda data: services.post_maintenance_update(
            maintenance,
            actor=request.principal,
            body=data["body"],
            deliver_notifications=data["notify"],
        ),
    ):
        messages.success(request, _("Update posted."))
        return redirect(_detail_url(request, maintenance))
    context = {
        "incident": maintenance,
        "updates": _timeline(maintenance),
        "components": maintenance.components.select_related("group"),
        "form": form,
        "extend_form": forms.ExtendForm(organization=request.organization),
        "cancelled": services.was_cancelled(maintenance),
    }
    status = 400 if request.method == "POST" else 200
    return _render(request, "incidents/dashboard/maintenance_detail.html", context, status=status)


def _maintenance_action(action, done_message: StrOrPromise):
    @org_view("incidents.edit")
    @require_POST
    def view(request: HttpRequest, maintenance_id: str) -> HttpResponse:
        maintenance = _get(request, maintenance_id, Kind.MAINTENANCE)
        try:
            action(maintenance, actor=request.principal)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, done_message)
        return redirect(_detail_url(request, maintenance))

    return view


maintenance_start = _maintenance_action(
    services.start_maintenance,
    gettext_lazy("Maintenance started; its components are under maintenance."),
)
maintenance_verify = _maintenance_action(
    services.mark_verifying, gettext_lazy("Marked as verifying.")
)
maintenance_complete = _maintenance_action(
    services.complete_maintenance,
    gettext_lazy("Maintenance completed; its components are operational."),
)
maintenance_cancel = _maintenance_action(
    services.cancel_maintenance, gettext_lazy("Maintenance cancelled.")
)


@org_view("incidents.edit")
def maintenance_extend(request: HttpRequest, maintenance_id: str) -> HttpResponse:
    maintenance = _get(request, maintenance_id, Kind.MAINTENANCE)
    form = forms.ExtendForm(
        request.POST or None,
        organization=request.organization,
        initial={"scheduled_until": maintenance.scheduled_until},
    )
    return _action_page(
        request,
        maintenance,
        form,
        lambda data: services.extend_maintenance(
            maintenance,
            actor=request.principal,
            new_until=data["scheduled_until"],
            body=data["body"] or None,
            deliver_notifications=data["notify"],
        ),
        done=_("Maintenance window extended."),
        title=_("Extend maintenance"),
        submit=_("Extend"),
        explain=_("Subscribers see the new end time."),
    )


# --- templates -----------------------------------------------------------------------------


@org_view("org.view")
def template_list(request: HttpRequest) -> HttpResponse:
    templates = IncidentTemplate.objects.for_org(request.organization)
    return _render(request, "incidents/dashboard/templates.html", {"templates": templates})


def _template_from(request: HttpRequest, public_id: str) -> IncidentTemplate:
    return get_object_or_404(
        IncidentTemplate.objects.for_org(request.organization), public_id=public_id
    )


@org_view("incidents.edit")
def template_new(request: HttpRequest) -> HttpResponse:
    form = forms.TemplateForm(request.POST or None)
    if _submitted(
        request,
        form,
        lambda data: services.create_template(
            request.organization, actor=request.principal, **data
        ),
    ):
        messages.success(request, _("Template saved."))
        return redirect("incidents:templates", request.organization.slug)
    return _render(request, "incidents/dashboard/template_form.html", {"form": form})


@org_view("incidents.edit")
def template_edit(request: HttpRequest, template_id: str) -> HttpResponse:
    template = _template_from(request, template_id)
    initial = {
        f: getattr(template, f) for f in ("kind", "name", "title", "status", "impact", "body")
    }
    form = forms.TemplateForm(request.POST or None, initial=initial)
    if _submitted(
        request,
        form,
        lambda data: services.update_template(template, actor=request.principal, **data),
    ):
        messages.success(request, _("Template saved."))
        return redirect("incidents:templates", request.organization.slug)
    return _render(
        request, "incidents/dashboard/template_form.html", {"form": form, "template": template}
    )


@org_view("incidents.edit")
def template_delete(request: HttpRequest, template_id: str) -> HttpResponse:
    template = _template_from(request, template_id)
    if request.method == "POST":
        services.delete_template(template, actor=request.principal)
        messages.success(request, _("Template “%(name)s” deleted.") % {"name": template.name})
        return redirect("incidents:templates", request.organization.slug)
    return _render(request, "incidents/dashboard/template_delete.html", {"template": template})


@org_view("incidents.edit")
@require_POST
def template_defaults(request: HttpRequest) -> HttpResponse:
    created = services.ensure_default_templates(request.organization, actor=request.principal)
    messages.success(
        request,
        ngettext(
            "Added %(count)s default template.", "Added %(count)s default templates.", len(created)
        )
        % {"count": len(created)}
        if created
        else _("You have all the defaults."),
    )
    return redirect("incidents:templates", request.organization.slug)


# --- postmortems ---------------------------------------------------------------------------
# One page per incident: the sections (with a preview), the action items (htmx swaps the list
# in place; without JavaScript every button is a form that posts and comes back here) and
# publishing. Viewers read the same page without the forms.


def _postmortem_url(request: HttpRequest, incident: Incident) -> str:
    return reverse("incidents:postmortem", args=[request.organization.slug, incident.public_id])


def _postmortem_of(request: HttpRequest, incident: Incident) -> Postmortem | None:
    return Postmortem.objects.for_org(request.organization).filter(incident=incident).first()


def _action_item(request: HttpRequest, incident: Incident, item_id: str) -> ActionItem:
    # One filter across the relation (CONVENTIONS §1): the item of this incident's postmortem.
    return get_object_or_404(
        ActionItem.objects.for_org(request.organization)
        .filter(postmortem__incident=incident)
        .select_related("postmortem__incident"),
        public_id=item_id,
    )


def _section_preview(data: dict) -> list[tuple[str, str]]:
    return [(label, data.get(name) or "") for name, label in Postmortem.SECTIONS if data.get(name)]


def _postmortem_page(
    request: HttpRequest,
    incident: Incident,
    postmortem: Postmortem | None,
    *,
    form: forms.PostmortemForm | None = None,
    item_form: forms.ActionItemForm | None = None,
    preview: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    if form is None:
        initial = {n: getattr(postmortem, n) for n, _l in Postmortem.SECTIONS} if postmortem else {}
        form = forms.PostmortemForm(initial=initial)
    if preview is None and postmortem is not None:
        preview = _section_preview({n: getattr(postmortem, n) for n, _l in Postmortem.SECTIONS})
    context = {
        "incident": incident,
        "postmortem": postmortem,
        "action_items": list(postmortem.action_items.all()) if postmortem else [],
        "form": form,
        "item_form": item_form or forms.ActionItemForm(),
        "publish_form": forms.PublishPostmortemForm(),
        "preview": preview,
        "statuses": ActionItem.Status.choices,
        "today": timezone.localdate(timezone=request.organization.tzinfo),
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "action-items":
        # 200 even for form errors: htmx swaps only successful responses.
        return _render(request, "incidents/dashboard/_action_items.html", context)
    return _render(request, "incidents/dashboard/postmortem.html", context, status=status)


@org_view("org.view", **READ_WRITE)
def postmortem(request: HttpRequest, incident_id: str) -> HttpResponse:
    """Read (members) or write (editors and up) the incident's postmortem."""
    incident = _get(request, incident_id, Kind.INCIDENT)
    current = _postmortem_of(request, incident)
    if request.method != "POST":
        return _postmortem_page(request, incident, current)
    form = forms.PostmortemForm(request.POST)
    valid = form.is_valid()
    if "preview" in request.POST or plain.check_requested(request):
        data = form.cleaned_data if valid else form.data
        preview = _section_preview(data)
        if request.headers.get("HX-Request"):
            return _render(
                request, "incidents/dashboard/_postmortem_preview.html", {"preview": preview}
            )
        return _postmortem_page(request, incident, current, form=form, preview=preview)
    if valid:
        try:
            saved = services.save_postmortem(incident, actor=request.principal, **form.cleaned_data)
        except ValidationError as error:
            _form_error(form, error)
        else:
            if saved.is_published:
                messages.success(request, _("Saved. Readers see the new text now."))
            else:
                messages.success(request, _("Draft saved. Only your team can see it."))
            return redirect(_postmortem_url(request, incident))
    return _postmortem_page(request, incident, current, form=form, status=400)


def _postmortem_action(run: Callable[..., object], done: Callable[[HttpRequest], str]):
    """A POST-only button on the postmortem page: run the service, say what happened."""

    @org_view("incidents.edit")
    @require_POST
    def view(request: HttpRequest, incident_id: str) -> HttpResponse:
        incident = _get(request, incident_id, Kind.INCIDENT)
        try:
            run(request, incident)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, done(request))
        return redirect(_postmortem_url(request, incident))

    return view


def _publish(request: HttpRequest, incident: Incident) -> None:
    form = forms.PublishPostmortemForm(request.POST)
    form.is_valid()  # one optional checkbox: always valid
    services.publish_postmortem(
        incident, actor=request.principal, notify_subscribers=form.cleaned_data["notify"]
    )


postmortem_publish = _postmortem_action(
    _publish,
    lambda request: (
        _("Postmortem published on your status page and sent to subscribers.")
        if request.POST.get("notify")
        else _("Postmortem published on your status page.")
    ),
)
postmortem_unpublish = _postmortem_action(
    lambda request, incident: services.unpublish_postmortem(incident, actor=request.principal),
    lambda request: _("Postmortem taken off the status page. It is kept as a draft."),
)


@org_view("incidents.edit")
def postmortem_delete(request: HttpRequest, incident_id: str) -> HttpResponse:
    incident = _get(request, incident_id, Kind.INCIDENT)
    if _postmortem_of(request, incident) is None:
        raise Http404("This incident has no postmortem.")
    return _action_page(
        request,
        incident,
        forms.ConfirmForm(request.POST if request.method == "POST" else None),
        lambda data: services.delete_postmortem(incident, actor=request.principal),
        done=_("Postmortem draft deleted."),
        title=_("Delete postmortem draft"),
        submit=_("Delete draft"),
        explain=_(
            "The draft and its action items are deleted. A published postmortem must be "
            "unpublished first."
        ),
    )


def _back_to_items(request: HttpRequest, incident: Incident) -> HttpResponse:
    if request.headers.get("HX-Request"):
        return _postmortem_page(request, incident, _postmortem_of(request, incident))
    return redirect(_postmortem_url(request, incident) + "#action-items")


@org_view("incidents.edit")
@require_POST
def action_item_add(request: HttpRequest, incident_id: str) -> HttpResponse:
    incident = _get(request, incident_id, Kind.INCIDENT)
    form = forms.ActionItemForm(request.POST)
    if form.is_valid():
        try:
            current = _postmortem_of(request, incident) or services.save_postmortem(
                incident, actor=request.principal
            )
            services.add_action_item(current, actor=request.principal, **form.cleaned_data)
        except ValidationError as error:
            _form_error(form, error)
        else:
            if not request.headers.get("HX-Request"):
                messages.success(request, _("Action item added."))
            return _back_to_items(request, incident)
    return _postmortem_page(
        request, incident, _postmortem_of(request, incident), item_form=form, status=400
    )


@org_view("incidents.edit")
def action_item_edit(request: HttpRequest, incident_id: str, item_id: str) -> HttpResponse:
    incident = _get(request, incident_id, Kind.INCIDENT)
    item = _action_item(request, incident, item_id)
    initial = {f: getattr(item, f) for f in ("title", "description", "status", "due_date")}
    form = forms.ActionItemForm(request.POST or None, initial=initial)
    if _submitted(
        request,
        form,
        lambda data: services.update_action_item(item, actor=request.principal, **data),
    ):
        messages.success(request, _("Action item saved."))
        return redirect(_postmortem_url(request, incident) + "#action-items")
    return _render(
        request,
        "incidents/dashboard/action_item_form.html",
        {"incident": incident, "item": item, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@org_view("incidents.edit")
@require_POST
def action_item_status(request: HttpRequest, incident_id: str, item_id: str) -> HttpResponse:
    incident = _get(request, incident_id, Kind.INCIDENT)
    item = _action_item(request, incident, item_id)
    form = forms.ActionItemStatusForm(request.POST)
    if form.is_valid():
        services.update_action_item(
            item, actor=request.principal, status=form.cleaned_data["status"]
        )
    else:
        messages.error(request, _("Choose planned, in progress or done."))
    return _back_to_items(request, incident)


@org_view("incidents.edit")
@require_POST
def action_item_move(request: HttpRequest, incident_id: str, item_id: str) -> HttpResponse:
    incident = _get(request, incident_id, Kind.INCIDENT)
    item = _action_item(request, incident, item_id)
    form = forms.MoveActionItemForm(request.POST)
    if form.is_valid():
        step = -1 if form.cleaned_data["direction"] == "up" else 1
        services.move_action_item(
            item, actor=request.principal, position=max(1, item.position + step)
        )
    return _back_to_items(request, incident)


@org_view("incidents.edit")
@require_POST
def action_item_delete(request: HttpRequest, incident_id: str, item_id: str) -> HttpResponse:
    incident = _get(request, incident_id, Kind.INCIDENT)
    item = _action_item(request, incident, item_id)
    services.delete_action_item(item, actor=request.principal)
    if not request.headers.get("HX-Request"):
        messages.success(request, _("Action item “%(title)s” deleted.") % {"title": item.title})
    return _back_to_items(request, incident)
