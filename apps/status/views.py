"""Staff dashboard for components, groups, status history and branding.

Every view goes through org_view: viewers read, editors and up write (components.edit),
non-members get 404. Views validate with forms and call apps.status.services to write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from apps.organizations.models import Organization
from apps.organizations.tenancy import org_view

from . import services, uptime
from .forms import (
    BrandingForm,
    ComponentForm,
    GroupForm,
    MoveForm,
    StarterComponentsForm,
    StatusForm,
)
from .models import (
    Component,
    ComponentGroup,
    ComponentStatus,
    ComponentStatusChange,
    UptimeDay,
    uptime_fraction,
)

# Pages that only read (the list, a history) are open to viewers and take writes from editors;
# pages that exist to write (forms, buttons' targets) need components.edit even to look at.
# org_view is always the outermost decorator, so a non-member gets 404 before anything else.
COMPONENTS_READ = "org.view"
COMPONENTS_WRITE = "components.edit"
HISTORY_PAGE_SIZE = 25
UPTIME_DAYS = 90


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _components_url(request: HttpRequest) -> str:
    return reverse("status:components", args=[request.organization.slug])


def _get_component(request: HttpRequest, public_id: str) -> Component:
    # Same 404 for "missing" and "another organization's".
    return get_object_or_404(
        Component.objects.for_org(request.organization).select_related("group"),
        public_id=public_id,
    )


def _get_group(request: HttpRequest, public_id: str) -> ComponentGroup:
    return get_object_or_404(
        ComponentGroup.objects.for_org(request.organization), public_id=public_id
    )


# --- the components page ---------------------------------------------------------------------


@dataclass
class TreeItem:
    """One top-level entry: a group with its components, or a component on its own."""

    group: ComponentGroup | None = None
    component: Component | None = None
    children: list[Component] = field(default_factory=list)
    first: bool = False
    last: bool = False

    @property
    def obj(self) -> ComponentGroup | Component:
        return self.group or self.component  # type: ignore[return-value]


def component_tree(organization: Organization) -> list[TreeItem]:
    """Top-level items in display order, each group with its components: three queries."""
    ordered = Component.objects.order_by("position", "created_at", "pk")
    groups = ComponentGroup.objects.for_org(organization).prefetch_related(
        Prefetch("components", queryset=ordered)
    )
    loose = ordered.filter(organization=organization, group__isnull=True)
    items = [TreeItem(group=g, children=list(g.components.all())) for g in groups]
    items += [TreeItem(component=c) for c in loose]
    items.sort(key=lambda i: (i.obj.position, i.component is not None, i.obj.created_at, i.obj.pk))
    if items:
        items[0].first = True
        items[-1].last = True
    return items


def _tree_context(request: HttpRequest) -> dict:
    return {
        "tree": component_tree(request.organization),
        "can_edit": request.membership.can(COMPONENTS_WRITE),
        "statuses": ComponentStatus.choices,
    }


@org_view(COMPONENTS_READ, write_permission=COMPONENTS_WRITE)
def components(request: HttpRequest) -> HttpResponse:
    context = _tree_context(request)
    context["starter_form"] = StarterComponentsForm()
    return render(request, "status/dashboard/components.html", context)


@org_view(COMPONENTS_WRITE)
@require_POST
def starter_components(request: HttpRequest) -> HttpResponse:
    """The empty state's one-click "create these components"."""
    form = StarterComponentsForm(request.POST)
    if form.is_valid():
        for name in form.cleaned_data["names"]:
            services.create_component(request.organization, actor=request.principal, name=name)
        count = len(form.cleaned_data["names"])
        messages.success(
            request,
            ngettext("Added %(count)s component.", "Added %(count)s components.", count)
            % {"count": count},
        )
        return redirect(_components_url(request))
    context = _tree_context(request)
    context["starter_form"] = form
    return render(request, "status/dashboard/components.html", context, status=400)


@org_view(COMPONENTS_WRITE)
@require_POST
def component_set_status(request: HttpRequest, component_id: str) -> HttpResponse:
    component = _get_component(request, component_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the listed statuses."))
        return redirect(_components_url(request))
    change = services.set_component_status(
        component, form.cleaned_data["status"], actor=request.principal
    )
    if _is_htmx(request):
        # The row, plus the group's header badge out of band: a group shows its worst child.
        group = None
        siblings: list[ComponentGroup | Component]
        if component.group_id:
            group = ComponentGroup.objects.prefetch_related("components").get(pk=component.group_id)
            siblings = list(group.components.all())
        else:
            siblings = services.top_level_items(request.organization)
        return render(
            request,
            "status/dashboard/_status_updated.html",
            {
                "component": component,
                "group": group,
                "can_edit": True,
                "statuses": ComponentStatus.choices,
                "first": siblings[0] == component,
                "last": siblings[-1] == component,
            },
        )
    if change is not None:
        messages.success(
            request,
            # Translators: status is a component status in lower case ("degraded performance").
            _("%(name)s is now %(status)s.")
            % {"name": component.name, "status": component.get_status_display().lower()},
        )
    return redirect(_components_url(request))


def _move(request: HttpRequest, item: ComponentGroup | Component) -> HttpResponse:
    form = MoveForm(request.POST)
    if form.is_valid():
        services.move(
            request.organization,
            actor=request.principal,
            item=item,
            direction=form.cleaned_data["direction"],
        )
    if _is_htmx(request):
        return render(request, "status/dashboard/_tree.html", _tree_context(request))
    return redirect(f"{_components_url(request)}#{type(item).__name__.lower()}-{item.public_id}")


@org_view(COMPONENTS_WRITE)
@require_POST
def component_move(request: HttpRequest, component_id: str) -> HttpResponse:
    return _move(request, _get_component(request, component_id))


@org_view(COMPONENTS_WRITE)
@require_POST
def group_move(request: HttpRequest, group_id: str) -> HttpResponse:
    return _move(request, _get_group(request, group_id))


# --- create, edit, delete --------------------------------------------------------------------


@org_view(COMPONENTS_WRITE)
def component_create(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    initial = {}
    if group_id := request.GET.get("group"):
        initial["group"] = group_id
    form = ComponentForm(request.POST or None, organization=organization, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            component = services.create_component(
                organization, actor=request.principal, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Added %(name)s.") % {"name": component.name})
            return redirect(_components_url(request))
    return render(
        request,
        "status/dashboard/component_form.html",
        {"form": form, "component": None},
    )


@org_view(COMPONENTS_WRITE)
def component_edit(request: HttpRequest, component_id: str) -> HttpResponse:
    component = _get_component(request, component_id)
    initial = {
        "name": component.name,
        "description": component.description,
        "group": component.group.public_id if component.group else None,
        "only_show_if_degraded": component.only_show_if_degraded,
        "showcase": component.showcase,
        "start_date": component.start_date,
    }
    form = ComponentForm(request.POST or None, organization=request.organization, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_component(component, actor=request.principal, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved %(name)s.") % {"name": component.name})
            return redirect(_components_url(request))
    return render(
        request,
        "status/dashboard/component_form.html",
        {"form": form, "component": component},
    )


@org_view(COMPONENTS_WRITE)
def component_delete(request: HttpRequest, component_id: str) -> HttpResponse:
    component = _get_component(request, component_id)
    if request.method == "POST":
        services.delete_component(component, actor=request.principal)
        messages.success(request, _("Deleted %(name)s.") % {"name": component.name})
        return redirect(_components_url(request))
    return render(
        request,
        "status/dashboard/confirm_delete.html",
        {
            "object": component,
            "kind": "component",
            "consequence": _(
                "Its status history and uptime records are deleted too. "
                "Past incidents keep their text but no longer link to it."
            ),
        },
    )


@org_view(COMPONENTS_WRITE)
def group_create(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        group = services.create_component_group(
            request.organization, actor=request.principal, **form.cleaned_data
        )
        messages.success(
            request, _("Added the group %(name)s. Now add components to it.") % {"name": group.name}
        )
        return redirect(_components_url(request))
    return render(request, "status/dashboard/group_form.html", {"form": form, "group": None})


@org_view(COMPONENTS_WRITE)
def group_edit(request: HttpRequest, group_id: str) -> HttpResponse:
    group = _get_group(request, group_id)
    form = GroupForm(
        request.POST or None, initial={"name": group.name, "description": group.description}
    )
    if request.method == "POST" and form.is_valid():
        services.update_component_group(group, actor=request.principal, **form.cleaned_data)
        messages.success(request, _("Saved the group %(name)s.") % {"name": group.name})
        return redirect(_components_url(request))
    return render(request, "status/dashboard/group_form.html", {"form": form, "group": group})


@org_view(COMPONENTS_WRITE)
def group_delete(request: HttpRequest, group_id: str) -> HttpResponse:
    group = _get_group(request, group_id)
    if request.method == "POST":
        services.delete_component_group(group, actor=request.principal)
        messages.success(
            request,
            _("Deleted the group %(name)s; its components are kept.") % {"name": group.name},
        )
        return redirect(_components_url(request))
    return render(
        request,
        "status/dashboard/confirm_delete.html",
        {
            "object": group,
            "kind": "group",
            "consequence": _("Its components are kept and move to the top level of the page."),
        },
    )


# --- history ---------------------------------------------------------------------------------


@dataclass
class UptimeBar:
    date: object
    row: UptimeDay | None

    @property
    def status(self) -> str | None:
        return self.row.worst_status if self.row else None

    @property
    def fraction(self) -> float | None:
        return self.row.uptime_fraction if self.row else None

    @property
    def percent(self) -> str:
        return _percent(self.fraction)


def _percent(fraction: float | None) -> str:
    """99.95% style: two decimals, because 99.9% and 99.99% differ by hours a year."""
    if fraction is None:
        return ""
    return f"{fraction * 100:.2f}%"


@org_view(COMPONENTS_READ, write_permission=COMPONENTS_WRITE)
def component_history(request: HttpRequest, component_id: str) -> HttpResponse:
    component = _get_component(request, component_id)
    organization = request.organization
    changes = (
        ComponentStatusChange.objects.for_org(organization)
        .filter(component=component)
        .select_related("actor", "incident")
    )
    page = Paginator(changes, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))

    today = timezone.now().astimezone(organization.tzinfo).date()
    first_day = today - timedelta(days=UPTIME_DAYS - 1)
    # As on the public page: days before the component existed are "no data", not counted.
    begins = uptime.first_day(component, organization)
    rows = {
        row.date: row
        for row in UptimeDay.objects.for_org(organization).filter(
            component=component, date__gte=max(first_day, begins), date__lte=today
        )
    }
    bars = [UptimeBar(first_day + timedelta(days=n), None) for n in range(UPTIME_DAYS)]
    for bar in bars:
        bar.row = rows.get(bar.date)  # type: ignore[arg-type]
    return render(
        request,
        "status/dashboard/component_history.html",
        {
            "component": component,
            "page": page,
            "bars": bars,
            "uptime": _percent(uptime_fraction(rows.values())),
            "uptime_since": begins if begins > first_day else None,
            "can_edit": request.membership.can(COMPONENTS_WRITE),
            "days": UPTIME_DAYS,
            "timezone_name": organization.timezone,
        },
    )


# --- branding --------------------------------------------------------------------------------


@org_view("branding.edit")
def branding(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    initial = {
        "accent_color": organization.accent_color,
        "website_url": organization.website_url,
        "support_url": organization.support_url,
        "footer_text": organization.footer_text,
    }
    form = BrandingForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_branding(organization, actor=request.principal, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved your branding. The status page shows it now."))
            return redirect("status:branding", organization.slug)
    return render(
        request, "status/dashboard/branding.html", {"form": form, "organization": organization}
    )
