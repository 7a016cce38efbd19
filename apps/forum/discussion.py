"""What the public incident page shows of the forum: the timeline of official updates and
comments, and (for a signed-in reader only) what that reader may do.

The page is cached for anonymous readers (apps/public/caching.py); `discussion(...)` with
`viewer=None` holds nothing about any person, so that rendering is the same for everyone.
Everything viewer-specific (their pending comments, their affected mark, edit and moderation
controls, the form's token) is added only when a viewer is given, and such renderings are never
stored in the shared cache (apps/public/views_public.incident).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy

from apps.organizations.models import Membership
from apps.organizations.principals import Customer, Member, Principal

from . import services
from .markup import MAX_SOURCE_LENGTH
from .models import AffectedMark, Comment, Flag
from .rules import HONEYPOT_FIELD, sign_form_timestamp
from .services import SHOW_CHOICES, CommentNode, ThreadPage

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.incidents.models import Incident

#: Top-level comments per screen ("Load more" asks for the next page).
PER_PAGE = 30
SHOW_LABELS = {
    "all": pgettext_lazy("discussion filter", "Everything"),
    "updates": pgettext_lazy("discussion filter", "Official updates only"),
    "staff": gettext_lazy("Staff answers"),
}


def principal_for(user: User, organization: Any) -> Principal:
    """A signed-in reader acts as a Member of the page's organization (staff) or a Customer."""
    membership = (
        Membership.objects.select_related("organization", "user")
        .filter(organization=organization, user=user)
        .first()
    )
    return Member(membership) if membership is not None else Customer(user, organization)


def signed_in_user(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None  # type: ignore[return-value]


def signin_url(request: HttpRequest, next_path: str) -> str:
    """The page host's sign-in page (apps/forum/views_signin.py) with ?next=."""
    return f"{reverse('public:signin')}?{urlencode({'next': next_path})}"


@dataclass
class Entry:
    """One row of the timeline: an official update or a top-level comment with its replies."""

    kind: str  # "update" or "comment"
    at: datetime
    update: Any = None
    node: CommentNode | None = None


@dataclass
class FormState:
    """What the reader typed and why it was refused, kept when a post is refused."""

    body: str = ""
    parent: str = ""
    error: str = ""
    target: str = ""  # "comment", "reply:<id>", "edit:<id>", "flag:<id>", "affected", ...


@dataclass
class Discussion:
    incident: Any
    page: ThreadPage
    show: str
    entries: list[Entry]
    pinned: list[CommentNode]
    latest_update: Any
    locked: bool
    viewer: User | None = None
    can_moderate: bool = False
    may_comment: bool = False
    comment_refusal: str = ""
    my_affected: AffectedMark | None = None
    form: FormState = field(default_factory=FormState)
    form_token: str = ""
    signin_url: str | None = None
    components: list[Any] = field(default_factory=list)
    flag_reasons: list[tuple[str, str]] = field(default_factory=list)
    max_length: int = MAX_SOURCE_LENGTH
    honeypot: str = HONEYPOT_FIELD
    show_labels: dict[str, str] = field(default_factory=lambda: dict(SHOW_LABELS))

    @property
    def next_page(self) -> int | None:
        return self.page.page + 1 if self.page.has_next else None

    @property
    def max_length_text(self) -> str:
        """The length limit as the reader writes numbers ("10,000", "10.000")."""
        return number_format(self.max_length, force_grouping=True)

    @property
    def affected_by_component(self) -> list[tuple[Any, int]]:
        counts = self.page.affected_by_component
        return [(c, counts[c.pk]) for c in self.components if counts.get(c.pk)]

    @property
    def affected_by_component_text(self) -> str:
        """ "API: 3, Dashboard: 2", for the sentence that counts the affected."""
        # Translators: one component's count in a list ("API: 3, Dashboard: 2").
        part = _("%(component)s: %(count)s")
        return pgettext("separator between the items of a list", ", ").join(
            part % {"component": component.display_name, "count": count}
            for component, count in self.affected_by_component
        )


def parse_show(value: str | None) -> str:
    return value if value in SHOW_CHOICES else "all"


def _describe_public(comment: Comment) -> None:
    """Attach what every reader sees of one comment."""
    comment.author_deleted = services.is_deleted_by_author(comment)
    comment.replying_to = (
        comment.in_reply_to.author_name
        if comment.in_reply_to is not None and comment.in_reply_to_id != comment.parent_id
        else ""
    )


def _describe(
    comment: Comment, viewer: User | None, can_moderate: bool, locked: bool, replied: set[int]
) -> None:
    """Attach what one signed-in reader may do with one comment."""
    comment.is_mine = viewer is not None and comment.author_id == viewer.pk
    live = comment.status in (Comment.Status.VISIBLE, Comment.Status.PENDING)
    fresh = timezone.now() - comment.created_at <= services.AUTHOR_EDIT_WINDOW
    comment.can_edit = (
        comment.is_mine and live and fresh and not locked and comment.pk not in replied
    ) or (can_moderate and live)
    comment.can_delete = comment.is_mine and live
    comment.can_reply = (
        viewer is not None and not locked and comment.status == Comment.Status.VISIBLE
    )
    comment.can_flag = (
        viewer is not None and not comment.is_mine and comment.status == Comment.Status.VISIBLE
    )


def discussion(
    incident: Incident,
    *,
    show: str = "all",
    page: int = 1,
    viewer: User | None = None,
    principal: Principal | None = None,
    request: HttpRequest | None = None,
    form: FormState | None = None,
) -> Discussion:
    """The forum part of the incident page. A constant number of queries for anonymous
    readers (read_thread's, whatever the thread's size); a few more for a signed-in one."""
    thread_page = services.read_thread(
        incident, viewer=viewer, page=page, per_page=PER_PAGE, show=show, newest_first=True
    )
    updates = list(getattr(incident, "public_updates", []))
    latest_update = updates[0] if updates else None
    entries: list[Entry] = []
    pinned: list[CommentNode] = []
    if show in ("all", "staff"):
        for node in thread_page.nodes:
            if node.comment.pinned and show == "all":
                pinned.append(node)
            else:
                entries.append(Entry("comment", node.comment.created_at, node=node))
    if show in ("all", "updates"):
        for update in updates:
            if show == "updates" or thread_page.covers(update.display_at):
                entries.append(Entry("update", update.display_at, update=update))
    entries.sort(key=lambda entry: entry.at, reverse=True)
    thread = thread_page.thread
    settings = services.forum_settings(incident.organization)
    if thread is not None:
        locked = services.is_locked(thread, settings)
    else:
        lock_at = services.auto_lock_at(incident, settings)
        locked = lock_at is not None and lock_at <= timezone.now()
    result = Discussion(
        incident=incident,
        page=thread_page,
        show=show,
        entries=entries,
        pinned=pinned,
        latest_update=latest_update,
        locked=locked,
        components=list(getattr(incident, "public_components", [])),
        flag_reasons=list(Flag.Reason.choices),
    )
    nodes = [*pinned, *(e.node for e in entries if e.node is not None)]
    for node in nodes:
        for comment in node.all_comments():
            _describe_public(comment)
    if viewer is None:
        if request is not None:
            # The incident page itself, also when this rendering answers its poll (live/):
            # the shared cached copy must send every reader back to the page.
            page = reverse("public:incident", args=[incident.public_id])
            result.signin_url = signin_url(request, page)
        return result
    principal = principal or principal_for(viewer, incident.organization)
    result.viewer = viewer
    result.can_moderate = principal.can("forum.moderate")
    result.my_affected = services.affected_mark_of(incident, viewer)
    result.form = form or FormState()
    result.form_token = sign_form_timestamp()
    result.may_comment, result.comment_refusal = _may_comment(
        incident, viewer, locked, staff=isinstance(principal, Member)
    )
    placed = form is None or ":" not in form.target
    for node in nodes:
        for comment in node.all_comments():
            _describe(comment, viewer, result.can_moderate, locked, thread_page.replied)
            if form is not None and form.target.partition(":")[2] == comment.public_id:
                comment.form = form
                placed = True
    if not placed and form is not None:
        # The comment the action was about is not on this screen (another page, or not in this
        # discussion at all): say why above the form, and keep a reply's text in it.
        result.form = FormState(
            body=form.body if form.target.startswith("reply:") else "",
            error=form.error,
            target="comment",
        )
    return result


def _may_comment(
    incident: Incident, viewer: User, locked: bool, *, staff: bool
) -> tuple[bool, str]:
    """Whether to offer the comment form, and if not, why (the services decide on posting).
    `staff`: the viewer is a member (their principal, already looked up, says so)."""
    if locked:
        return False, _("This discussion is locked; no new comments can be posted.")
    if staff:
        return True, ""
    organization = incident.organization
    settings = services.forum_settings(organization)
    ban = services.active_ban(organization, viewer)
    if ban is not None:
        return False, _("You have been banned from commenting on this organization's pages.")
    if settings.who_may_comment == settings.WhoMayComment.NOBODY:
        return False, _("Comments are turned off on this status page.")
    return True, ""
