"""Forum moderation in the dashboard: each incident's and maintenance's discussion as staff see
it (every comment, pending, hidden and removed ones too, with revisions and flags), the staff
reply form, per-comment and per-thread moderation, the moderation queue, bans and the forum's
settings.

Every view goes through `org_view`: members read, editors and up moderate (`forum.moderate`),
owners and admins change the settings (`org.change_settings`). Views call the forum's services
for every write and turn their refusals (ForumError, a ValidationError) into a form error (400,
the typed text kept) or, for one-click buttons, an error message on the page they came from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from apps.incidents.models import Incident, Kind
from apps.organizations.models import Membership, Organization
from apps.organizations.tenancy import org_view
from apps.status.models import Component

from . import forms, services
from .models import Ban, Comment, CommentRevision, Flag, Thread

MODERATE = {"write_permission": "forum.moderate"}
ROOTS_PER_PAGE = 50
QUEUE_PAGE_SIZE = 50


def _render(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    """Render with the organization's timezone active, so every time reads in local time."""
    organization = request.organization
    membership = request.membership
    context = {
        "org": organization,
        "can_moderate": membership.can("forum.moderate"),
        "can_change_settings": membership.can("org.change_settings"),
        **(context or {}),
    }
    with timezone.override(organization.tzinfo):
        return render(request, template, context, status=status)


def _incident(request: HttpRequest, public_id: str, kind: str) -> Incident:
    # Same 404 for "no such incident" and "another organization's incident".
    return get_object_or_404(
        Incident.objects.for_org(request.organization).filter(kind=kind),
        public_id=public_id,
    )


def _comment(request: HttpRequest, public_id: str) -> Comment:
    return get_object_or_404(
        Comment.objects.for_org(request.organization).select_related(
            "thread__incident", "author", "organization"
        ),
        public_id=public_id,
    )


def discussion_url(organization: Organization, incident: Incident, comment: Comment | None = None):
    name = "forum:maintenance_discussion" if incident.is_maintenance else "forum:discussion"
    url = reverse(name, args=[organization.slug, incident.public_id])
    return f"{url}#c-{comment.public_id}" if comment is not None else url


def _back(request: HttpRequest, comment: Comment) -> str:
    """Where a moderation action returns: the queue it was taken from, or the comment in its
    discussion."""
    organization = request.organization
    if request.POST.get("back") == "queue":
        return reverse("forum:queue", args=[organization.slug])
    return discussion_url(organization, comment.thread.incident, comment)


def _refused(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- the discussion page -------------------------------------------------------------------------


def _staff_thread(thread: Thread, page: int) -> tuple[list[tuple[Comment, list[Comment]]], bool]:
    """One page of top-level comments (pinned first, then oldest first), each with all its
    replies depth first, in every status, with their flags and revisions: a constant number
    of queries whatever the thread's size."""
    base = Comment.objects.filter(thread=thread).select_related("author", "in_reply_to")
    offset = (page - 1) * ROOTS_PER_PAGE
    roots = list(
        base.filter(depth=0).order_by("-pinned", "id")[offset : offset + ROOTS_PER_PAGE + 1]
    )
    has_next = len(roots) > ROOTS_PER_PAGE
    roots = roots[:ROOTS_PER_PAGE]
    replies = list(base.filter(root_id__in=[r.pk for r in roots]).order_by("id")) if roots else []
    every = roots + replies
    flags: dict[int, list[Flag]] = {}
    revisions: dict[int, list[CommentRevision]] = {}
    ids = [c.pk for c in every]
    if ids:
        for flag in Flag.objects.filter(comment_id__in=ids).select_related("user").order_by("id"):
            flags.setdefault(flag.comment_id, []).append(flag)
        for revision in (
            CommentRevision.objects.filter(comment_id__in=ids)
            .select_related("edited_by")
            .order_by("id")
        ):
            revisions.setdefault(revision.comment_id, []).append(revision)
    for comment in every:
        comment.flag_list = flags.get(comment.pk, [])
        comment.revision_list = revisions.get(comment.pk, [])
    children: dict[int, list[Comment]] = {}
    for reply in replies:
        assert reply.parent_id is not None
        children.setdefault(reply.parent_id, []).append(reply)
    nodes = []
    for root in roots:
        ordered: list[Comment] = []
        stack = list(reversed(children.get(root.pk, [])))
        while stack:
            reply = stack.pop()
            ordered.append(reply)
            stack.extend(reversed(children.get(reply.pk, [])))
        nodes.append((root, ordered))
    return nodes, has_next


def affected_summary(incident: Incident) -> tuple[int, list[tuple[str, int]]]:
    """How many people marked themselves affected, and per component (by name, most first)."""
    total, by_component = services.affected_counts(incident)
    names = dict(
        Component.objects.for_org(incident.organization)
        .filter(pk__in=list(by_component))
        .values_list("pk", "name")
    )
    per_component = sorted(
        ((names[pk], n) for pk, n in by_component.items() if pk in names),
        key=lambda item: (-item[1], item[0]),
    )
    return total, per_component


def _discussion(request: HttpRequest, incident: Incident) -> HttpResponse:
    organization = request.organization
    form = forms.ReplyForm(request.POST or None)
    reply_to: Comment | None = None
    parent_id = request.POST.get("parent", "") if request.method == "POST" else ""
    if parent_id:
        # SECURITY: the comment answered must be in this very discussion.
        reply_to = (
            Comment.objects.for_org(organization)
            .filter(thread__incident=incident, public_id=parent_id)
            .select_related("parent")
            .first()
        )
        if reply_to is None:
            form.add_error(None, _("The comment you are replying to is not in this discussion."))
    if request.method == "POST" and form.is_valid():
        try:
            comment = services.post_comment(
                incident,
                actor=request.principal,
                body=form.cleaned_data["body"],
                reply_to=reply_to,
            )
        except ValidationError as error:
            form.add_error(None, _refused(error))
        else:
            kind = "Reply" if reply_to is not None else "Comment"
            messages.success(request, f"{kind} posted with the Staff badge.")
            return redirect(discussion_url(organization, incident, comment))

    incident.organization = organization  # the same row: no query for it below
    thread = Thread.objects.filter(incident=incident).first()
    if thread is not None:
        thread.incident = incident
    rules = services.forum_settings(organization)
    try:
        page = max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        page = 1
    nodes: list[tuple[Comment, list[Comment]]] = []
    has_next = False
    counts: dict[str, int] = {}
    banned: set[int] = set()
    members: set[int] = set()
    if thread is not None:
        nodes, has_next = _staff_thread(thread, page)
        counts = dict(
            Comment.objects.filter(thread=thread)
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        authors = {c.author_id for root, replies in nodes for c in [root, *replies]} - {None}
        if authors:
            members = set(
                Membership.objects.filter(
                    organization=organization, user_id__in=authors
                ).values_list("user_id", flat=True)
            )
            now = timezone.now()
            banned = set(
                Ban.objects.for_org(organization)
                .filter(user_id__in=authors)
                .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                .values_list("user_id", flat=True)
            )
    affected_total, affected_by_component = affected_summary(incident)
    # A refused reply shows its error (and the typed text) under the comment it answers; one
    # to a comment not on this page, in the main form.
    parent = reply_to.public_id if reply_to is not None else ""
    context = {
        "incident": incident,
        "thread": thread,
        "discussion_action": discussion_url(organization, incident),
        "locked": services.is_locked(thread, rules) if thread is not None else False,
        "auto_lock_at": services.auto_lock_at(incident, rules),
        "nodes": nodes,
        "page": page,
        "has_next": has_next,
        "counts": {
            "visible": counts.get(Comment.Status.VISIBLE, 0),
            "pending": counts.get(Comment.Status.PENDING, 0),
            "hidden": counts.get(Comment.Status.HIDDEN, 0),
            "removed": counts.get(Comment.Status.REMOVED, 0),
        },
        "affected_total": affected_total,
        "affected_by_component": affected_by_component,
        "form": form if not parent else forms.ReplyForm(),
        "reply_form": form if parent else None,
        "reply_parent": parent,
        "slow_form": forms.SlowModeForm(
            initial={"seconds": thread.slow_mode_seconds if thread else 0}
        ),
        "members": members,
        "banned": banned,
    }
    status = 400 if request.method == "POST" else 200
    return _render(request, "forum/dashboard/discussion.html", context, status=status)


@org_view("org.view", **MODERATE)
def discussion(request: HttpRequest, incident_id: str) -> HttpResponse:
    """An incident's discussion as staff see it; POST posts a staff reply (editors and up)."""
    return _discussion(request, _incident(request, incident_id, Kind.INCIDENT))


@org_view("org.view", **MODERATE)
def maintenance_discussion(request: HttpRequest, maintenance_id: str) -> HttpResponse:
    """A scheduled maintenance's discussion, the same page."""
    return _discussion(request, _incident(request, maintenance_id, Kind.MAINTENANCE))


@org_view("org.view")
@require_GET
def comment_link(request: HttpRequest, comment_id: str) -> HttpResponse:
    """A comment's address (audit log, queue): its place in its discussion."""
    comment = _comment(request, comment_id)
    return redirect(discussion_url(request.organization, comment.thread.incident, comment))


@org_view("org.view")
@require_GET
def thread_link(request: HttpRequest, thread_id: str) -> HttpResponse:
    """A discussion's address by its thread (audit log)."""
    thread = get_object_or_404(
        Thread.objects.for_org(request.organization).select_related("incident"),
        public_id=thread_id,
    )
    return redirect(discussion_url(request.organization, thread.incident))


# --- one-click moderation buttons ----------------------------------------------------------------


def _comment_button(
    run: Callable[[HttpRequest, Comment], object], done: str
) -> Callable[..., HttpResponse]:
    """A POST-only button on a comment: run the service, say what happened, go back."""

    @org_view("forum.moderate")
    @require_POST
    def view(request: HttpRequest, comment_id: str) -> HttpResponse:
        comment = _comment(request, comment_id)
        try:
            run(request, comment)
        except ValidationError as error:
            messages.error(request, _refused(error))
        else:
            messages.success(request, done)
        return redirect(_back(request, comment))

    return view


def _wants(request: HttpRequest) -> bool:
    """A toggle's direction: value "0" undoes (unpin, unmark), anything else does."""
    return request.POST.get("value", "1") != "0"


def _answer(request: HttpRequest, comment: Comment) -> object:
    return services.mark_answer(comment, actor=request.principal, is_answer=_wants(request))


def _pin(request: HttpRequest, comment: Comment) -> object:
    return services.pin_comment(comment, actor=request.principal, pinned=_wants(request))


def _reason(request: HttpRequest) -> str:
    return request.POST.get("reason", "")


def _unhide(request: HttpRequest, comment: Comment) -> object:
    if comment.status != Comment.Status.HIDDEN:
        raise services.ForumError(_("Only a hidden comment can be shown again."))
    return services.unhide_comment(comment, actor=request.principal, reason=_reason(request))


def _approve(request: HttpRequest, comment: Comment) -> object:
    if comment.status != Comment.Status.PENDING:
        raise services.ForumError(_("Only a comment awaiting review can be approved."))
    if comment.flags.exists():
        # Hidden by readers' flags: approving it keeps it, so the flags are dismissed with it.
        return services.dismiss_flags(comment, actor=request.principal, reason=_reason(request))
    return services.approve_comment(comment, actor=request.principal, reason=_reason(request))


def _remove(request: HttpRequest, comment: Comment) -> object:
    return services.remove_comment(comment, actor=request.principal, reason=_reason(request))


def _dismiss(request: HttpRequest, comment: Comment) -> object:
    return services.dismiss_flags(comment, actor=request.principal, reason=_reason(request))


mark_answer = _comment_button(_answer, gettext_lazy("Answer updated."))
pin = _comment_button(_pin, gettext_lazy("Pinned comments updated."))
unhide = _comment_button(_unhide, gettext_lazy("The comment is shown again."))
approve = _comment_button(_approve, gettext_lazy("Approved: the comment is now public."))
remove = _comment_button(_remove, gettext_lazy("Removed: readers see a tombstone in its place."))
dismiss_flags = _comment_button(
    _dismiss, gettext_lazy("Flags dismissed; the comment stays public.")
)


# --- moderation with a form ----------------------------------------------------------------------


def _comment_form_page(
    request: HttpRequest,
    comment: Comment,
    form: Any,
    run: Callable[[dict[str, Any]], object],
    *,
    done: str,
    title: str,
    submit: str,
    explain: str,
) -> HttpResponse:
    """A form that runs one service on a comment: on success a message and back; a refusal
    becomes a form error (400, the typed text kept) and nothing is written."""
    if request.method == "POST" and form.is_valid():
        try:
            run(form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, _refused(error))
        else:
            messages.success(request, done)
            return redirect(_back(request, comment))
    context = {
        "comment": comment,
        "incident": comment.thread.incident,
        "form": form,
        "title": title,
        "submit": submit,
        "explain": explain,
        "back": request.POST.get("back") or request.GET.get("back", ""),
        "revisions": comment.revisions.select_related("edited_by").order_by("id"),
    }
    status = 400 if request.method == "POST" else 200
    return _render(request, "forum/dashboard/comment_form.html", context, status=status)


@org_view("forum.moderate")
def hide(request: HttpRequest, comment_id: str) -> HttpResponse:
    comment = _comment(request, comment_id)
    return _comment_form_page(
        request,
        comment,
        forms.HideForm(request.POST or None),
        lambda data: services.hide_comment(
            comment,
            actor=request.principal,
            reason=data["reason"],
        ),
        done=_("Hidden: readers see your reason in its place."),
        title=_("Hide a comment"),
        submit=_("Hide comment"),
        explain=_("Readers see the reason instead of the text; staff still see the text here."),
    )


@org_view("forum.moderate")
def edit(request: HttpRequest, comment_id: str) -> HttpResponse:
    comment = _comment(request, comment_id)
    form = forms.EditForm(request.POST or None, initial={"body": comment.body_source})
    return _comment_form_page(
        request,
        comment,
        form,
        lambda data: services.edit_comment(
            comment,
            actor=request.principal,
            body=data["body"],
            reason=data["reason"],
        ),
        done=_("Comment edited. The previous text is kept for staff."),
        title=_("Edit a comment"),
        submit=_("Save text"),
        explain=_("Readers see the new text marked “edited”."),
    )


@org_view("forum.moderate")
def ban(request: HttpRequest, comment_id: str) -> HttpResponse:
    comment = _comment(request, comment_id)
    if comment.author is None:
        raise Http404("This comment's author no longer has an account.")
    author = comment.author
    form = forms.BanForm(request.POST or None)

    def run(data: dict[str, Any]) -> object:
        expires_in = form.expires_in()
        return services.ban_user(
            request.organization,
            author,
            actor=request.principal,
            reason=data["reason"],
            expires_at=timezone.now() + expires_in if expires_in else None,
        )

    return _comment_form_page(
        request,
        comment,
        form,
        run,
        done=_("%(name)s may no longer comment, flag or mark themselves affected.")
        % {"name": comment.author_name},
        title=_("Ban %(name)s") % {"name": comment.author_name},
        submit=_("Ban"),
        explain=(
            _(
                "%(name)s (%(email)s) will not be able to comment, flag or mark themselves "
                "affected on any of your discussions. Their comments stay as they are; hide or "
                "remove them separately."
            )
            % {"name": comment.author_name, "email": author.email}
        ),
    )


# --- the thread ----------------------------------------------------------------------------------


def _thread_of(request: HttpRequest, incident_id: str) -> Thread:
    incident = get_object_or_404(
        Incident.objects.for_org(request.organization),
        public_id=incident_id,
    )
    return services.get_or_create_thread(incident)


@org_view("forum.moderate")
@require_POST
def lock(request: HttpRequest, incident_id: str) -> HttpResponse:
    thread = _thread_of(request, incident_id)
    locked = _wants(request)
    services.lock_thread(thread, actor=request.principal, locked=locked, reason=_reason(request))
    messages.success(
        request,
        _("Discussion locked: nobody can post or edit comments.")
        if locked
        else _("Discussion unlocked."),
    )
    return redirect(discussion_url(request.organization, thread.incident))


@org_view("forum.moderate")
def slow_mode(request: HttpRequest, incident_id: str) -> HttpResponse:
    incident = get_object_or_404(
        Incident.objects.for_org(request.organization),
        public_id=incident_id,
    )
    form = forms.SlowModeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        seconds = form.cleaned_data["seconds"]
        services.set_slow_mode(
            services.get_or_create_thread(incident),
            actor=request.principal,
            seconds=seconds,
        )
        messages.success(
            request,
            ngettext(
                "Slow mode on: %(seconds)s second between two comments of one person.",
                "Slow mode on: %(seconds)s seconds between two comments of one person.",
                seconds,
            )
            % {"seconds": seconds}
            if seconds
            else _("Slow mode off."),
        )
        return redirect(discussion_url(request.organization, incident))
    status = 400 if request.method == "POST" else 200
    return _render(
        request,
        "forum/dashboard/slow_mode.html",
        {"incident": incident, "form": form},
        status=status,
    )


# --- the moderation queue ------------------------------------------------------------------------


def awaiting_review(organization: Organization) -> QuerySet[Comment]:
    """Comments a moderator should look at: pending review (pre-moderation, or hidden by
    readers' flags) and public ones that readers flagged."""
    flagged = Exists(Flag.objects.filter(comment=OuterRef("pk")))
    return Comment.objects.for_org(organization).filter(
        Q(status=Comment.Status.PENDING) | (Q(status=Comment.Status.VISIBLE) & flagged)
    )


@org_view("org.view")
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    comments = (
        awaiting_review(organization)
        .select_related("thread__incident", "author", "in_reply_to")
        .annotate(flag_count=Count("flags"))
        .order_by("created_at", "id")
    )
    page = Paginator(comments, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    flags: dict[int, list[Flag]] = {}
    for flag in (
        Flag.objects.filter(comment_id__in=[c.pk for c in items])
        .select_related("user")
        .order_by("id")
    ):
        flags.setdefault(flag.comment_id, []).append(flag)
    for comment in items:
        comment.flag_list = flags.get(comment.pk, [])
        reasons: dict[str, int] = {}
        for flag in comment.flag_list:
            label = str(Flag.Reason(flag.reason).label)
            reasons[label] = reasons.get(label, 0) + 1
        comment.flag_reasons = sorted(reasons.items(), key=lambda r: (-r[1], r[0]))
    return _render(
        request, "forum/dashboard/queue.html", {"page": page, "items": items, "tab": "queue"}
    )


# --- bans and settings ---------------------------------------------------------------------------


@org_view("org.view")
@require_GET
def bans(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    rows = list(Ban.objects.for_org(organization).select_related("user").order_by("-created_at"))
    now = timezone.now()
    for row in rows:
        row.active = row.is_active(now)
    return _render(request, "forum/dashboard/bans.html", {"bans": rows, "tab": "bans"})


@org_view("forum.moderate")
@require_POST
def unban(request: HttpRequest, ban_id: int) -> HttpResponse:
    organization = request.organization
    row = get_object_or_404(Ban.objects.for_org(organization).select_related("user"), pk=ban_id)
    services.unban_user(organization, row.user, actor=request.principal, reason=_reason(request))
    messages.success(
        request,
        _("%(email)s may take part in your discussions again.") % {"email": row.user.email},
    )
    return redirect("forum:bans", organization.slug)


@org_view("org.view", write_permission="org.change_settings")
def forum_settings(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    current = services.forum_settings(organization)
    form = forms.ForumSettingsForm(
        request.POST or None, initial=forms.ForumSettingsForm.initial_from(current)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_forum_settings(
                organization,
                actor=request.principal,
                **form.cleaned_data,
            )
        except ValidationError as error:
            form.add_error(None, _refused(error))
        else:
            messages.success(request, _("Forum settings saved."))
            return redirect("forum:settings", organization.slug)
    status = 400 if request.method == "POST" else 200
    return _render(
        request,
        "forum/dashboard/settings.html",
        {"form": form, "tab": "settings"},
        status=status,
    )
