"""The forum's actions on a public incident page: post, reply, edit, delete, flag, "I'm affected
too", and the moderators' inline controls.

Every action is a CSRF-protected POST by a signed-in reader, calls the forum's services (which
decide every rule and audit moderation), and answers:
- done: 303 back to the incident page (at the comment or the discussion), or, for htmx, the
  discussion fragment;
- refused: the page again with the message beside the form and the typed text kept (400, or 403
  for an action the reader's role does not allow; htmx gets the fragment with 422/403).
Incidents and comments are looked up within `request.organization` only, and a comment within
its incident: anything else is the same 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    HttpResponseRedirect,
)
from django.urls import reverse
from django.utils.http import parse_etags
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from apps.incidents.models import Incident
from apps.organizations.middleware import client_ip
from apps.public.caching import mark_shared
from apps.public.views_public import PRIVATE_CACHE_CONTROL, render_incident
from apps.public.views_public import incident as incident_page
from apps.status.models import Component

from . import services
from .discussion import FormState, principal_for, signed_in_user, signin_url
from .models import Comment, Thread
from .rules import HONEYPOT_FIELD, check_form_submission

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.organizations.principals import Principal

FRAGMENT = "forum/public/_discussion.html"
NOT_FOUND = "There is no such comment in this discussion."


class Refused(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _incident(request: HttpRequest, public_id: str) -> Incident:
    # SECURITY: only this page's organization; another's incident id is the same 404.
    found = Incident.objects.for_org(request.organization).filter(public_id=public_id).first()
    if found is None:
        raise Http404("There is no such incident on this status page.")
    return found


def _comment(request: HttpRequest, incident: Incident, comment_id: str) -> Comment:
    # SECURITY: scoped to the organization and to this incident's thread.
    found = (
        Comment.objects.for_org(request.organization)
        .filter(public_id=comment_id, thread__incident=incident)
        .select_related("thread", "thread__incident", "organization", "parent")
        .first()
    )
    if found is None:
        raise Http404(NOT_FOUND)
    return found


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _page_url(public_id: str, anchor: str = "discussion") -> str:
    return reverse("public:incident", args=[public_id]) + f"#{anchor}"


def _sign_in_first(request: HttpRequest, public_id: str) -> HttpResponse:
    url = signin_url(request, reverse("public:incident", args=[public_id]))
    return HttpResponseRedirect(url, status=303)


def _done(
    request: HttpRequest, public_id: str, viewer: User, anchor: str, notice: str = ""
) -> HttpResponse:
    if _is_htmx(request):
        if notice:
            messages.info(request, notice)
        return render_incident(request, public_id, viewer=viewer, template=FRAGMENT)
    if notice:
        messages.info(request, notice)
    response = HttpResponseRedirect(_page_url(public_id, anchor))
    response.status_code = 303
    return response


def _refused(
    request: HttpRequest, public_id: str, viewer: User, form: FormState, status: int
) -> HttpResponse:
    if _is_htmx(request):
        # Swapped by htmx (the page's htmx-config lets 4xx fragments through).
        return render_incident(
            request,
            public_id,
            viewer=viewer,
            form=form,
            status=422 if status == 400 else status,
            template=FRAGMENT,
        )
    return render_incident(request, public_id, viewer=viewer, form=form, status=status)


def _message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or _("This is not allowed.")


def _act(
    request: HttpRequest,
    public_id: str,
    action: Any,
    *,
    form: FormState,
) -> HttpResponse:
    """Run `action(incident, viewer, principal)` -> (anchor, notice), answering as above."""
    viewer = signed_in_user(request)
    if viewer is None:
        return _sign_in_first(request, public_id)
    incident = _incident(request, public_id)
    principal = principal_for(viewer, request.organization)
    try:
        anchor, notice = action(incident, viewer, principal)
    except Refused as refused:
        form.error = refused.message
        return _refused(request, public_id, viewer, form, refused.status)
    except PermissionDenied as denied:
        form.error = _message(denied)
        return _refused(request, public_id, viewer, form, 403)
    except ValidationError as error:
        form.error = _message(error)
        return _refused(request, public_id, viewer, form, 400)
    return _done(request, public_id, viewer, anchor, notice)


# --- readers -----------------------------------------------------------------------------------


@require_POST
def post(request: HttpRequest, public_id: str) -> HttpResponse:
    """A new comment, or a reply (`parent` = the public id of the comment replied to)."""
    body = request.POST.get("body", "")
    parent_id = request.POST.get("parent", "").strip()
    form = FormState(
        body=body, parent=parent_id, target=f"reply:{parent_id}" if parent_id else "comment"
    )

    def action(incident: Incident, viewer: User, principal: Principal) -> tuple[str, str]:
        problem = check_form_submission(
            request.POST.get("ts", ""), request.POST.get(HONEYPOT_FIELD, "")
        )
        if problem:
            raise Refused(problem)
        reply_to = None
        if parent_id:
            reply_to = (
                Comment.objects.for_org(request.organization)
                .filter(public_id=parent_id, thread__incident=incident)
                .select_related("parent")
                .first()
            )
            if reply_to is None:
                raise Refused(_("You can only reply to comments in this discussion."))
        comment = services.post_comment(
            incident, actor=principal, body=body, reply_to=reply_to, ip=client_ip(request)
        )
        notice = ""
        if comment.status == Comment.Status.PENDING:
            notice = _(
                "Thank you: your comment is awaiting review by a moderator. Only you can see "
                "it until it is approved."
            )
        return f"comment-{comment.public_id}", notice

    return _act(request, public_id, action, form=form)


@require_POST
def edit(request: HttpRequest, public_id: str, comment_id: str) -> HttpResponse:
    body = request.POST.get("body", "")
    form = FormState(body=body, target=f"edit:{comment_id}")

    def action(incident: Incident, viewer: User, principal: Principal) -> tuple[str, str]:
        comment = _comment(request, incident, comment_id)
        if comment.author_id == viewer.pk and not principal.can("forum.moderate"):
            services.edit_own_comment(comment, actor=principal, body=body)
        else:
            services.edit_comment(comment, actor=principal, body=body)
        return f"comment-{comment.public_id}", ""

    return _act(request, public_id, action, form=form)


@require_POST
def delete(request: HttpRequest, public_id: str, comment_id: str) -> HttpResponse:
    form = FormState(target=f"delete:{comment_id}")

    def action(incident: Incident, viewer: User, principal: Principal) -> tuple[str, str]:
        comment = _comment(request, incident, comment_id)
        services.delete_own_comment(comment, actor=principal)
        return "discussion", _("Your comment was deleted.")

    return _act(request, public_id, action, form=form)


@require_POST
def flag(request: HttpRequest, public_id: str, comment_id: str) -> HttpResponse:
    form = FormState(target=f"flag:{comment_id}")

    def action(incident: Incident, viewer: User, principal: Principal) -> tuple[str, str]:
        comment = _comment(request, incident, comment_id)
        services.flag_comment(
            comment,
            actor=principal,
            reason=request.POST.get("reason", ""),
            message=request.POST.get("message", ""),
        )
        return f"comment-{comment.public_id}", _("Thank you: the moderators will look at it.")

    return _act(request, public_id, action, form=form)


@require_POST
def affected(request: HttpRequest, public_id: str) -> HttpResponse:
    """Mark "I'm affected too" (optionally naming one of the incident's components), or undo."""
    form = FormState(target="affected")

    def action(incident: Incident, viewer: User, principal: Principal) -> tuple[str, str]:
        if request.POST.get("action") == "unmark":
            services.unmark_affected(incident, actor=principal)
            return "affected", ""
        component = None
        component_id = request.POST.get("component", "").strip()
        if component_id:
            component = (
                Component.objects.for_org(request.organization)
                .filter(public_id=component_id)
                .first()
            )
            if component is None:
                raise Refused(_("Choose one of the components this incident affects."))
        services.mark_affected(incident, actor=principal, component=component)
        return "affected", ""

    return _act(request, public_id, action, form=form)


# --- moderators --------------------------------------------------------------------------------

COMMENT_ACTIONS = {
    "hide": lambda c, p, reason: services.hide_comment(c, actor=p, reason=reason),
    "unhide": lambda c, p, reason: services.unhide_comment(c, actor=p, reason=reason),
    "remove": lambda c, p, reason: services.remove_comment(c, actor=p, reason=reason),
    "pin": lambda c, p, reason: services.pin_comment(c, actor=p, pinned=True),
    "unpin": lambda c, p, reason: services.pin_comment(c, actor=p, pinned=False),
    "answer": lambda c, p, reason: services.mark_answer(c, actor=p, is_answer=True),
    "unanswer": lambda c, p, reason: services.mark_answer(c, actor=p, is_answer=False),
}


@require_POST
def moderate(request: HttpRequest, public_id: str, comment_id: str) -> HttpResponse:
    name = request.POST.get("action", "")
    form = FormState(target=f"moderate:{comment_id}")

    def action(incident: Incident, viewer: User, principal: Principal) -> tuple[str, str]:
        comment = _comment(request, incident, comment_id)
        if name not in COMMENT_ACTIONS:
            raise Refused(
                _("Choose what to do: hide, unhide, remove, pin, unpin, answer or unanswer.")
            )
        COMMENT_ACTIONS[name](comment, principal, request.POST.get("reason", ""))
        return f"comment-{comment.public_id}", ""

    return _act(request, public_id, action, form=form)


@require_POST
def moderate_thread(request: HttpRequest, public_id: str) -> HttpResponse:
    """Lock or unlock the discussion, or set slow mode (seconds between a customer's comments)."""
    name = request.POST.get("action", "")
    form = FormState(target="thread")

    def action(incident: Incident, viewer: User, principal: Principal) -> tuple[str, str]:
        principal.require("forum.moderate", request.organization)
        if name not in ("lock", "unlock", "slow_mode"):
            raise Refused(_("Choose what to do: lock, unlock or slow mode."))
        thread: Thread = services.get_or_create_thread(incident)
        reason = request.POST.get("reason", "")
        if name == "slow_mode":
            try:
                seconds = int(request.POST.get("seconds", ""))
            except ValueError:
                raise Refused(_("Slow mode takes a number of seconds (0 turns it off).")) from None
            services.set_slow_mode(thread, actor=principal, seconds=seconds, reason=reason)
        else:
            services.lock_thread(thread, actor=principal, locked=name == "lock", reason=reason)
        return "discussion", ""

    return _act(request, public_id, action, form=form)


# --- polling (static/js/forum.js) ----------------------------------------------------------------

LIVE_CACHE_CONTROL = "public, max-age=0, s-maxage=1"


def thread_tag(version: int) -> str:
    return f'W/"t{version}"'


@require_safe
def discussion_live(request: HttpRequest, public_id: str) -> HttpResponse:
    """A closed incident's discussion poll: 304 while the thread's version is the reader's
    (one indexed query), else the incident page (the anonymous one from the shared cache),
    whose #discussion the script swaps in. `Thread.version` is bumped with every change a
    reader can see (apps.forum.services._touch)."""
    version = (
        Thread.objects.for_org(request.organization)
        .filter(incident__public_id=public_id)
        .values_list("version", flat=True)
        .first()
    ) or 0
    tag = thread_tag(version)
    asked = {t.removeprefix("W/") for t in parse_etags(request.headers.get("If-None-Match", ""))}
    if tag.removeprefix("W/") in asked:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = incident_page(request, public_id)
        if response.status_code != 200:
            return response
        served = getattr(response, "content_version", None)
        if served is not None and served != request.organization.content_version:
            # A burst's coalesced copy (apps.public.caching.COALESCE_SECONDS) may not hold the
            # thread's latest version yet: no tag, so the next poll brings the page again.
            del response["ETag"]
            response["Cache-Control"] = LIVE_CACHE_CONTROL
            return response
    response["ETag"] = tag
    private = signed_in_user(request) is not None
    response["Cache-Control"] = PRIVATE_CACHE_CONTROL if private else LIVE_CACHE_CONTROL
    if response.has_header("CDN-Cache-Control"):
        del response["CDN-Cache-Control"]
    if not private:
        # Every change of the thread bumps the organization's content version too
        # (services._touch), so this answer holds for everyone until the next version.
        mark_shared(response)
    return response
