"""Staff dashboard for subscribers and deliveries (below /dashboard/<org_slug>/).

Every member reads the subscriber list and the notification log; editors and up
(`subscribers.manage`) remove, import, export and retry. Writes go through services; the
import sends confirmation mails through `subscribe_email` and never confirms anyone.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from apps.organizations.tenancy import org_view

from . import conf, csv_import, registry, services
from .forms import (
    DeliveryFilterForm,
    EventFilterForm,
    ImportForm,
    NotificationSettingsForm,
    SubscriberFilterForm,
)
from .models import Delivery, NotificationEvent, NotificationSettings, Subscriber
from .subscribers import Component

READ = "org.view"
MANAGE = "subscribers.manage"
SUBSCRIBERS_PAGE_SIZE = 50
EVENTS_PAGE_SIZE = 25
DELIVERIES_PAGE_SIZE = 50
# Rows of each kind the import report lists before "and N more".
REPORT_ROWS_SHOWN = 100

State = Subscriber.State


def _render(request: HttpRequest, template: str, context: dict | None = None, **kwargs):
    """Render with the organization's timezone active, so every time reads in local time."""
    organization = request.organization
    context = {
        "org": organization,
        "can_manage": request.membership.can(MANAGE),
        **(context or {}),
    }
    with timezone.override(organization.tzinfo):
        return render(request, f"notifications/dashboard/{template}", context, **kwargs)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _state_filter(state: str) -> Q:
    return {
        "pending": Q(state=State.ACTIVE, confirmed_at__isnull=True),
        "active": Q(state=State.ACTIVE, confirmed_at__isnull=False),
        "disabled": Q(state=State.DISABLED),
    }[state]


def _with_components(subscribers: QuerySet[Subscriber]) -> QuerySet[Subscriber]:
    return subscribers.prefetch_related(
        Prefetch("components", queryset=Component.objects.select_related("group"))
    )


def _annotate(subscriber: Subscriber) -> Subscriber:
    # SECURITY: templates show `shown_address`, never `url` (it may carry the secret).
    subscriber.shown_address = services.display_address(subscriber)  # type: ignore[attr-defined]
    return subscriber


# --- subscribers ---------------------------------------------------------------------------


@org_view(READ)
@require_http_methods(["GET", "HEAD"])
def subscriber_list(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    all_subscribers = Subscriber.objects.for_org(organization)
    subscribers = _with_components(all_subscribers).order_by("-created_at", "-id")
    form = SubscriberFilterForm(request.GET or None)
    filtered = False
    if form.is_valid():
        data = form.cleaned_data
        if query := data["q"].strip():
            # SECURITY: URLs match on their host only (a prefix of scheme://host). A contains
            # search on the whole URL would let staff probe the path or query-string secret
            # that the list hides, one character at a time.
            by_url = Q()
            if not any(char in query for char in "/?#@"):
                by_url = Q(url__istartswith=f"https://{query}") | Q(
                    url__istartswith=f"http://{query}"
                )
            subscribers = subscribers.filter(Q(email__icontains=query) | by_url)
        if data["channel"]:
            subscribers = subscribers.filter(channel=data["channel"])
        if data["state"]:
            subscribers = subscribers.filter(_state_filter(data["state"]))
        filtered = any(data.values())
    page = Paginator(subscribers, SUBSCRIBERS_PAGE_SIZE).get_page(request.GET.get("page"))
    for subscriber in page.object_list:
        _annotate(subscriber)
    totals = all_subscribers.aggregate(
        active=Count("id", filter=_state_filter("active")),
        pending=Count("id", filter=_state_filter("pending")),
        disabled=Count("id", filter=_state_filter("disabled")),
    )
    return _render(
        request,
        "subscribers.html",
        {
            "form": form,
            "page": page,
            "query": _query_without_page(request),
            "filtered": filtered,
            "totals": totals,
        },
    )


@org_view(MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def subscriber_remove(request: HttpRequest, subscriber_id: str) -> HttpResponse:
    # Same 404 for "no such subscriber" and "another organization's subscriber".
    subscriber = get_object_or_404(
        Subscriber.objects.for_org(request.organization), public_id=subscriber_id
    )
    _annotate(subscriber)
    if request.method == "POST":
        address = services.display_address(subscriber)
        if services.remove_subscriber(subscriber, actor=request.principal):
            messages.success(
                request,
                _("Removed %(address)s: nothing more will be sent to it.") % {"address": address},
            )
        else:
            messages.info(request, _("%(address)s was already disabled.") % {"address": address})
        return redirect("notifications:subscribers", request.organization.slug)
    return _render(request, "remove.html", {"subscriber": subscriber})


@org_view(MANAGE)
@require_POST
def subscriber_discussion_events(request: HttpRequest, subscriber_id: str) -> HttpResponse:
    # Same 404 for "no such subscriber" and "another organization's subscriber".
    subscriber = get_object_or_404(
        Subscriber.objects.for_org(request.organization).exclude(channel=Subscriber.Channel.EMAIL),
        public_id=subscriber_id,
    )
    enabled = request.POST.get("enabled") == "1"
    services.set_discussion_events(subscriber, enabled=enabled, actor=request.principal)
    address = services.display_address(subscriber)
    if enabled:
        messages.success(
            request,
            _(
                "%(address)s now also receives discussion events: new comments, flags, and a "
                "discussion passing the number of affected people set in the forum settings."
            )
            % {"address": address},
        )
    else:
        messages.success(
            request, _("%(address)s no longer receives discussion events.") % {"address": address}
        )
    return redirect("notifications:subscribers", request.organization.slug)


@org_view(MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def subscriber_import(request: HttpRequest) -> HttpResponse:
    """GET: the upload form. POST: check every row; with action=import, invite them too.

    All or nothing: a file with an invalid row imports nothing and shows why. Duplicates and
    addresses that already subscribe are skipped and listed.
    """
    organization = request.organization
    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict = {"form": form, "quota_left": csv_import.quota_left(organization)}
    if request.method != "POST":
        return _render(request, "import.html", context)
    if not form.is_valid():
        return _render(request, "import.html", context, status=400)
    importing = request.POST.get("action") == "import"
    try:
        report = csv_import.check_rows(organization, form.cleaned_data["file"].read())
    except csv_import.ImportFileError as exc:
        form.add_error("file", str(exc))
        return _render(request, "import.html", context, status=400)
    context.update(
        {
            "report": report,
            "importing": importing,
            "shown": REPORT_ROWS_SHOWN,
            "hidden_offset": -REPORT_ROWS_SHOWN,
            "file_name": form.cleaned_data["file"].name,
        }
    )
    if not report.ok:
        return _render(request, "import.html", context, status=400)
    if not importing or not report.valid:
        return _render(request, "import.html", context)
    if len(report.valid) > context["quota_left"]:
        context["over_quota"] = True
        return _render(request, "import.html", context, status=429)
    try:
        invited = services.import_email_subscribers(
            organization, actor=request.principal, rows=report.to_invite
        )
    except IntegrityError:
        # An address of the file subscribed on the status page in the meantime.
        form.add_error(
            "file",
            "Someone subscribed one of these addresses just now. Nothing was imported: "
            "check the file again.",
        )
        context.pop("report")
        return _render(request, "import.html", context, status=409)
    csv_import.use_quota(organization, len(invited))
    # The report says what happened (no flash message repeating it).
    context.update({"done": True, "invited": len(invited), "quota_left": None})
    return _render(request, "import.html", context)


class _Echo:
    """A file-like object whose write() returns the line: csv.writer into a streaming body."""

    def write(self, value: str) -> str:
        return value


# Spreadsheets run a cell starting with one of these as a formula (CSV injection): addresses
# come from the public and are prefixed with a quote, as OWASP recommends.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat() if moment else ""


def _state_word(subscriber: Subscriber) -> str:
    if subscriber.state == State.DISABLED:
        return "disabled"
    return "active" if subscriber.confirmed_at else "pending"


def _export_rows(subscribers: QuerySet[Subscriber]) -> Iterator[list[str]]:
    yield ["id", "channel", "address", "components", "state", "created", "confirmed"]
    for subscriber in subscribers.iterator(chunk_size=1000):
        yield [
            subscriber.public_id,
            subscriber.channel,
            _cell(services.display_address(subscriber)),
            _cell("; ".join(component.display_name for component in subscriber.components.all())),
            _state_word(subscriber),
            _iso(subscriber.created_at),
            _iso(subscriber.confirmed_at),
        ]


@org_view(MANAGE)
@require_http_methods(["GET", "HEAD"])
def subscriber_export(request: HttpRequest) -> StreamingHttpResponse:
    """Every subscriber of the organization as CSV, streamed (no list built in memory).

    Editors and up: viewers may look at the list, but a copy of every address is a bigger
    thing to hand out, and the audit log records who took one. Webhook and Slack URLs are
    exported as shown on the list, without their secrets.
    """
    organization = request.organization
    subscribers = _with_components(Subscriber.objects.for_org(organization)).order_by("id")
    services.record_subscriber_export(
        organization,
        actor=request.principal,
        count=Subscriber.objects.for_org(organization).count(),
    )
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in _export_rows(subscribers)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y-%m-%d")
    response["Content-Disposition"] = (
        f'attachment; filename="{organization.slug}-subscribers-{stamp}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response


# --- notifications and deliveries ----------------------------------------------------------


def _events(request: HttpRequest) -> QuerySet[NotificationEvent]:
    return NotificationEvent.objects.for_org(request.organization)


def _describe(event: NotificationEvent) -> NotificationEvent:
    """What the event list shows of it: its kind's label (registered by the emitting app) and,
    from its snapshot (written by that app), the incident's and the component's names and a
    status change in words."""
    event.kind_label = registry.kind_label(event.kind)  # type: ignore[attr-defined]
    snapshot = event.snapshot if isinstance(event.snapshot, dict) else {}
    change = snapshot.get("change")
    event.status_change = tuple(change) if change else None  # type: ignore[attr-defined]
    event.about_incident = snapshot.get("incident")  # type: ignore[attr-defined]
    event.about_component = snapshot.get("component")  # type: ignore[attr-defined]
    return event


@org_view(READ)
@require_http_methods(["GET", "HEAD"])
def event_list(request: HttpRequest) -> HttpResponse:
    return _event_list_page(request, _settings_form(request))


def _settings_form(request: HttpRequest, data=None) -> NotificationSettingsForm:
    row = NotificationSettings.for_org(request.organization)
    form = NotificationSettingsForm(
        data,
        initial={
            "email_component_changes": row.email_component_changes,
            "update_cadence_minutes": row.update_cadence_minutes,
        },
    )
    # Shown masked (the URL is a credential; display_url keeps only the workspace ids).
    form.current_staff_slack = (  # type: ignore[attr-defined]
        services.display_url(row.staff_slack_url) if row.staff_slack_url else ""
    )
    return form


def _event_list_page(
    request: HttpRequest, settings_form: NotificationSettingsForm, status: int = 200
) -> HttpResponse:
    events = _events(request).order_by("-created_at", "-id")
    form = EventFilterForm(request.GET or None)
    filtered = False
    if form.is_valid():
        if form.cleaned_data["kind"]:
            events = events.filter(kind=form.cleaned_data["kind"])
        if form.cleaned_data["failed"]:
            failed = Delivery.objects.filter(event=OuterRef("pk"), status=Delivery.Status.FAILED)
            events = events.filter(Exists(failed))
        filtered = any(form.cleaned_data.values())
    page = Paginator(events, EVENTS_PAGE_SIZE).get_page(request.GET.get("page"))
    # ONE aggregate query for the page's counts, not one per event.
    counts = services.delivery_counts_by_event(event.pk for event in page.object_list)
    for event in page.object_list:
        _describe(event)
        event.counts = counts[event.pk]  # type: ignore[attr-defined]
        event.total = sum(event.counts.values())  # type: ignore[attr-defined]
    return _render(
        request,
        "events.html",
        {
            "form": form,
            "page": page,
            "query": _query_without_page(request),
            "filtered": filtered,
            # Events nobody fanned out for a while: no worker consumes the queue.
            "waiting": services.waiting_events(request.organization),
            "waiting_minutes": round(conf.waiting_event_minutes()),
            "settings_form": settings_form,
            "reminder_lead_minutes": settings.UPDATE_REMINDER_LEAD_MINUTES,
        },
        status=status,
    )


@org_view(MANAGE)
@require_POST
def notification_settings(request: HttpRequest) -> HttpResponse:
    form = _settings_form(request, request.POST)
    if form.is_valid():
        try:
            # First, so a refused Slack URL or cadence writes nothing (one transaction each:
            # this one raises before the email switch below runs).
            reminders = services.set_update_reminders(
                request.organization,
                actor=request.principal,
                cadence_minutes=form.cleaned_data["update_cadence_minutes"],
                staff_slack_url=form.staff_slack_change(),
            )
        except ValidationError as error:
            form.add_error(
                "update_cadence_minutes"
                if getattr(error, "code", "") == "cadence_bounds"
                else "staff_slack_url",
                error,
            )
    if not form.is_valid():
        return _event_list_page(request, form, status=400)
    enabled = form.cleaned_data["email_component_changes"]
    changed = services.set_email_component_changes(
        request.organization, enabled=enabled, actor=request.principal
    )
    if changed:
        messages.success(
            request,
            _("Email subscribers now get component status changes.")
            if enabled
            else _("Email subscribers no longer get component status changes."),
        )
    said = {
        "update_cadence_minutes": _(
            "Updates now promise the next one within %(minutes)s minutes by default."
        )
        % {"minutes": form.cleaned_data["update_cadence_minutes"]},
        "staff_slack_url": _("Update reminders now also go to your staff Slack channel.")
        if form.staff_slack_change()
        else _("Update reminders no longer go to Slack."),
    }
    for name in reminders:
        messages.success(request, said[name])
    return redirect("notifications:events", request.organization.slug)


@org_view(READ)
@require_http_methods(["GET", "HEAD"])
def event_detail(request: HttpRequest, event_id: str) -> HttpResponse:
    event = _describe(get_object_or_404(_events(request), public_id=event_id))
    counts = services.delivery_counts(event)
    # What the retry button would resend: failures to subscribers still active.
    retryable = 0
    if counts[Delivery.Status.FAILED]:
        retryable = event.deliveries.filter(
            status=Delivery.Status.FAILED, subscriber__state=State.ACTIVE
        ).count()
    deliveries = event.deliveries.select_related("subscriber").order_by("id")
    form = DeliveryFilterForm(request.GET or None)
    status = ""
    if form.is_valid() and form.cleaned_data["status"]:
        status = form.cleaned_data["status"]
        deliveries = deliveries.filter(status=status)
    page = Paginator(deliveries, DELIVERIES_PAGE_SIZE).get_page(request.GET.get("page"))
    for delivery in page.object_list:
        _annotate(delivery.subscriber)
    return _render(
        request,
        "event_detail.html",
        {
            "event": event,
            "counts": counts,
            "retryable": retryable,
            "not_retryable": counts[Delivery.Status.FAILED] - retryable,
            "total": sum(counts.values()),
            "status_tabs": [
                (value, label, counts[value]) for value, label in Delivery.Status.choices
            ],
            "status": status,
            "form": form,
            "page": page,
            "query": _query_without_page(request),
        },
    )


@org_view(MANAGE)
@require_POST
def event_retry(request: HttpRequest, event_id: str) -> HttpResponse:
    event = get_object_or_404(_events(request), public_id=event_id)
    retried = services.retry_failed_deliveries(event, actor=request.principal)
    if retried:
        messages.success(
            request,
            ngettext(
                "Sending %(count)s failed delivery again. Reload in a moment to see how they went.",
                "Sending %(count)s failed deliveries again. "
                "Reload in a moment to see how they went.",
                retried,
            )
            % {"count": retried},
        )
    else:
        messages.info(
            request,
            _("Nothing to retry: no failed deliveries to subscribers that are still active."),
        )
    return redirect("notifications:event", request.organization.slug, event.public_id)
