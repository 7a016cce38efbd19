"""Every write of the forum, and its read functions (CONVENTIONS §2, §10).

Writers take the principal keyword-only (`actor`): a Member (staff) or a Customer. Moderation
needs "forum.moderate" (editors and above); taking part needs "forum.participate" (members and
customers). Each refusal raises ForumError (a ValidationError) with a message a person can act
on, before anything is written; every moderation action is in the audit log with its reason
and the state before and after.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.core.validators import text_problem
from apps.organizations.models import AuditEntry, Membership, Organization
from apps.organizations.principals import Principal, System
from apps.organizations.services import bump_content_version

from . import markup
from . import notifications as forum_notifications
from .markup import strip_invisible
from .models import (
    MAX_DEPTH,
    AffectedMark,
    Ban,
    Comment,
    CommentRevision,
    Flag,
    ForumSettings,
    Thread,
)
from .rules import customer_display_name

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.incidents.models import Incident
    from apps.status.models import Component

MAX_PINNED = 3
MAX_HIDDEN_REASON = 200
DUPLICATE_WINDOW = timedelta(minutes=5)
# Authors may fix their comment this long after posting (moderators any time, audited).
AUTHOR_EDIT_WINDOW = timedelta(minutes=15)
# Rate limits: (comments, seconds). A new commenter has no visible comment in the organization
# older than NEW_COMMENTER_AGE.
NEW_COMMENTER_AGE = timedelta(days=1)
NEW_COMMENTER_RATE = (1, 30)
NEW_COMMENTER_DAILY = (10, 24 * 60 * 60)
COMMENTER_RATE = (1, 5)
IP_RATE = (6, 60)
NEW_COMMENTER_MAX_LINKS = 2
# Flags a reader may raise in a day (Discourse's default).
FLAG_DAILY = (10, 24 * 60 * 60)
NEW_COMMENTER_MAX_MENTIONS = 2


class ForumError(ValidationError):
    """A refused forum action; `message` says why, for the person who tried (in the active
    language: the reader's on a public page, English on the dashboard and the API)."""


def _number(value: int) -> str:
    """A count as the reader writes it ("86,400", "86.400")."""
    return number_format(value, force_grouping=True)


# --- settings ----------------------------------------------------------------------------------


SETTINGS_FIELDS = (
    "premoderation", "who_may_comment", "allowed_domains", "blocked_domains", "auto_lock_days",
    "flag_threshold", "affected_alert_threshold",
)  # fmt: skip


def _domains(values: Any, label: str) -> list[str]:
    if isinstance(values, str):
        values = values.replace(",", " ").split()
    cleaned = sorted(
        {str(value).strip().lower().lstrip("@") for value in values if str(value).strip()}
    )
    for domain in cleaned:
        if "." not in domain or any(ch.isspace() or ch in "@/:" for ch in domain):
            raise ForumError(
                # Translators: "list" is the setting's name, "allowed domains" or "blocked domains".
                _("“%(domain)s” in %(list)s is not an email domain (like example.com).")
                % {"domain": domain, "list": label}
            )
    return cleaned


@transaction.atomic
def update_forum_settings(
    organization: Organization, *, actor: Principal, **changes: Any
) -> ForumSettings:
    """Change the organization's forum rules (owners and admins), audited before and after."""
    actor.require("org.change_settings", organization)
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ForumError(
            _("Unknown forum settings: %(names)s.") % {"names": ", ".join(sorted(unknown))}
        )
    settings = forum_settings(organization)
    before = {name: getattr(settings, name) for name in SETTINGS_FIELDS}
    for name in ("allowed_domains", "blocked_domains"):
        if name in changes:
            changes[name] = _domains(changes[name], name.replace("_", " "))
    for name, value in changes.items():
        setattr(settings, name, value)
    if (
        settings.who_may_comment == ForumSettings.WhoMayComment.DOMAINS
        and not settings.allowed_domains
    ):
        raise ForumError(_("List at least one email domain whose people may comment."))
    try:
        settings.full_clean(exclude=["organization"], validate_unique=False)
    except ValidationError as error:
        raise ForumError(" ".join(error.messages)) from error
    settings.save()
    after = {name: getattr(settings, name) for name in SETTINGS_FIELDS}
    _audit(actor, organization, "forum.settings", None, before=before, after=after)
    return settings


# --- small helpers ------------------------------------------------------------------------------


def forum_settings(organization: Organization) -> ForumSettings:
    """The organization's forum settings (defaults, unsaved, when it never changed them)."""
    found = ForumSettings.objects.for_org(organization).first()
    return found or ForumSettings(organization=organization)


def _person(actor: Principal) -> User:
    user = actor.audit_user
    if user is None:
        raise ForumError(_("Comments, flags and affected marks are made by signed-in people."))
    return user


def _is_staff(user: User, organization: Organization) -> bool:
    # SECURITY: the badge comes from membership in this organization, never from a name.
    return Membership.objects.filter(organization=organization, user=user).exists()


def active_ban(organization: Organization, user: User) -> Ban | None:
    ban = Ban.objects.for_org(organization).filter(user=user).first()
    return ban if ban is not None and ban.is_active() else None


def _refuse_banned(organization: Organization, user: User) -> None:
    if active_ban(organization, user) is not None:
        raise ForumError(_("You have been banned from commenting on this organization's pages."))


def _audit(
    actor: Principal,
    organization: Organization,
    action: str,
    target: Any | None,
    *,
    reason: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    AuditEntry.record(
        organization,
        actor=actor,
        action=action,
        target=target,
        data={"reason": reason, "before": before or {}, "after": after or {}},
    )


def _touch(thread: Thread) -> None:
    """A reader-visible change: bump the thread's version and the public page's cache key."""
    Thread.objects.filter(pk=thread.pk).update(version=F("version") + 1)
    bump_content_version(thread.organization)


def _comment_state(comment: Comment) -> dict[str, Any]:
    return {
        "status": comment.status,
        "hidden_reason": comment.hidden_reason,
        "pinned": comment.pinned,
        "is_answer": comment.is_answer,
    }


def auto_lock_at(incident: Incident, settings: ForumSettings) -> datetime | None:
    if incident.resolved_at is None or not settings.auto_lock_days:
        return None
    return incident.resolved_at + timedelta(days=settings.auto_lock_days)


def is_locked(thread: Thread, settings: ForumSettings | None = None) -> bool:
    """Locked by staff, or resolved more than the organization's auto-lock days ago."""
    if thread.locked:
        return True
    lock_at = auto_lock_at(thread.incident, settings or forum_settings(thread.organization))
    return lock_at is not None and lock_at <= timezone.now()


def get_or_create_thread(incident: Incident) -> Thread:
    """The incident's thread, created on first use (one per incident)."""
    thread = Thread.objects.filter(incident=incident).select_related("incident").first()
    if thread is not None:
        return thread
    try:
        with transaction.atomic():
            return Thread.objects.create(
                organization_id=incident.organization_id, incident=incident
            )
    except IntegrityError:  # created concurrently
        return Thread.objects.select_related("incident").get(incident=incident)


# --- rate limits (cache-backed fixed windows) ---------------------------------------------------


def _hit(key: str, limit: tuple[int, int]) -> bool:
    """Count one action under `key`; False when the window's limit is already reached."""
    count, seconds = limit
    cache.add(key, 0, seconds)  # starts the window; a no-op while it runs
    if cache.get(key, 0) >= count:
        return False
    try:
        cache.incr(key)
    except ValueError:  # the window ended in between
        cache.add(key, 1, seconds)
    return True


def _network(ip: str) -> str:
    """The unit an IP rate limit counts: the address for IPv4, its /64 for IPv6 (one
    subscriber's IPv6 network, whose addresses a spammer can rotate through at will)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _check_rate(organization: Organization, user: User, ip: str | None, new: bool) -> None:
    prefix = f"forum:rate:{organization.pk}"
    if ip and not _hit(f"{prefix}:ip:{_network(ip)}", IP_RATE):
        raise ForumError(_("Too many comments from your network. Wait a minute and try again."))
    if new:
        if not _hit(f"{prefix}:new-day:{user.pk}", NEW_COMMENTER_DAILY):
            raise ForumError(
                ngettext(
                    "New commenters may post %(count)s comment on their first day. "
                    "Try again tomorrow.",
                    "New commenters may post %(count)s comments on their first day. "
                    "Try again tomorrow.",
                    NEW_COMMENTER_DAILY[0],
                )
                % {"count": NEW_COMMENTER_DAILY[0]}
            )
        if not _hit(f"{prefix}:new:{user.pk}", NEW_COMMENTER_RATE):
            raise ForumError(
                ngettext(
                    "You are posting quickly. Wait %(seconds)s second and try again.",
                    "You are posting quickly. Wait %(seconds)s seconds and try again.",
                    NEW_COMMENTER_RATE[1],
                )
                % {"seconds": NEW_COMMENTER_RATE[1]}
            )
    elif not _hit(f"{prefix}:user:{user.pk}", COMMENTER_RATE):
        raise ForumError(_("You are posting quickly. Wait a few seconds and try again."))


# --- posting ------------------------------------------------------------------------------------


def _check_may_comment(
    user: User, organization: Organization, settings: ForumSettings, staff: bool
) -> None:
    if staff:
        return
    _refuse_banned(organization, user)
    domain = user.email.rsplit("@", 1)[-1].lower()
    if domain in {d.lower() for d in settings.blocked_domains}:
        raise ForumError(_("Comments from addresses at this email domain are not accepted."))
    if settings.who_may_comment == ForumSettings.WhoMayComment.NOBODY:
        raise ForumError(_("Comments are turned off on this status page."))
    if settings.who_may_comment == ForumSettings.WhoMayComment.DOMAINS:
        from allauth.account.models import EmailAddress

        allowed = {d.lower() for d in settings.allowed_domains}
        verified = EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
        if not any(email.rsplit("@", 1)[-1].lower() in allowed for email in verified):
            raise ForumError(
                # Translators: "domains" is a list of email domains: "example.com, example.org".
                _("Only people with a verified address at %(domains)s may comment here.")
                % {"domains": ", ".join(sorted(allowed))}
            )


def _check_content_limits(body: str) -> None:
    if markup.count_links(body) > NEW_COMMENTER_MAX_LINKS:
        raise ForumError(
            ngettext(
                "New commenters may include at most %(count)s link.",
                "New commenters may include at most %(count)s links.",
                NEW_COMMENTER_MAX_LINKS,
            )
            % {"count": NEW_COMMENTER_MAX_LINKS}
        )
    if markup.count_mentions(body) > NEW_COMMENTER_MAX_MENTIONS:
        raise ForumError(
            ngettext(
                "New commenters may mention at most %(count)s person.",
                "New commenters may mention at most %(count)s people.",
                NEW_COMMENTER_MAX_MENTIONS,
            )
            % {"count": NEW_COMMENTER_MAX_MENTIONS}
        )


def _is_new_commenter(organization: Organization, user: User, now: datetime) -> bool:
    return not (
        Comment.objects.for_org(organization)
        .filter(author=user, status=Comment.Status.VISIBLE, created_at__lte=now - NEW_COMMENTER_AGE)
        .exists()
    )


def _check_new_commenter_content(organization: Organization, user: User, body: str) -> None:
    """An edit may not slip in what a new commenter could not post."""
    if not _is_staff(user, organization) and _is_new_commenter(organization, user, timezone.now()):
        _check_content_limits(body)


def _structural_parent(target: Comment) -> Comment:
    """Where a reply to `target` hangs: `target`, or its parent when the depth cap is reached."""
    if target.depth < MAX_DEPTH:
        return target
    parent = target.parent
    assert parent is not None  # depth > 0
    return parent


def _postable_body(body: str) -> str:
    """The body to store, or a ForumError saying why it cannot be posted."""
    body = body.strip()
    if not body:
        raise ForumError(_("Write something before posting."))
    if len(body) > markup.MAX_SOURCE_LENGTH:
        raise ForumError(
            _("Comments are limited to %(limit)s characters (this one has %(length)s).")
            % {"limit": _number(markup.MAX_SOURCE_LENGTH), "length": _number(len(body))}
        )
    # The page's form and the API both post through here: one rule for both.
    if problem := text_problem(body):
        # Translators: "problem" is a sentence saying what is wrong with the text.
        raise ForumError(_("The comment cannot be posted. %(problem)s") % {"problem": problem})
    return body


def _thread_to_post_in(incident: Incident) -> Thread:
    """The incident's thread, or an unsaved one: it is created with the first comment, not
    before a refusal (nothing written)."""
    return Thread.objects.filter(incident=incident).select_related("incident").first() or Thread(
        organization=incident.organization, incident=incident
    )


def post_comment(
    incident: Incident,
    *,
    actor: Principal,
    body: str,
    reply_to: Comment | None = None,
    ip: str | None = None,
) -> Comment:
    """Post a comment (or a reply) in the incident's thread, applying every rule; the comment
    is visible at once or pending review (pre-moderation). Staff are exempt from rate, link
    and pre-moderation rules; no one is exempt from tenancy, locks and markup sanitising."""
    organization = incident.organization
    actor.require("forum.participate", organization)
    user = _person(actor)
    body = _postable_body(body)
    thread = _thread_to_post_in(incident)
    settings = forum_settings(organization)
    staff = _is_staff(user, organization)
    # SECURITY: the target must be in this very thread (and so this organization).
    if reply_to is not None and (
        reply_to.organization_id != organization.pk or reply_to.thread_id != thread.pk
    ):
        raise ForumError(_("You can only reply to comments in this discussion."))
    if reply_to is not None and reply_to.status in (Comment.Status.REMOVED, Comment.Status.PENDING):
        raise ForumError(_("This comment can no longer be replied to."))
    if is_locked(thread, settings):
        raise ForumError(_("This discussion is locked; no new comments can be posted."))
    _check_may_comment(user, organization, settings, staff)

    now = timezone.now()
    # A first-time commenter has no visible comment in this organization; a new commenter none
    # older than a day. Pre-moderation looks at the first, rate and link limits at the second.
    visible_before = Comment.objects.for_org(organization).filter(
        author=user, status=Comment.Status.VISIBLE
    )
    first = not staff and not visible_before.exists()
    new = not staff and (first or _is_new_commenter(organization, user, now))
    if new:
        _check_content_limits(body)
    if (
        Comment.objects.for_org(organization)
        .filter(author=user, body_source=body, created_at__gte=now - DUPLICATE_WINDOW)
        .exists()
    ):
        raise ForumError(_("You have just posted this same comment."))
    if not staff and thread.slow_mode_seconds:
        last = (
            Comment.objects.filter(thread=thread, author=user)
            .order_by("-id")
            .values_list("created_at", flat=True)
            .first()
        )
        if last is not None and now - last < timedelta(seconds=thread.slow_mode_seconds):
            raise ForumError(
                ngettext(
                    "Slow mode is on: wait %(seconds)s second between comments.",
                    "Slow mode is on: wait %(seconds)s seconds between comments.",
                    thread.slow_mode_seconds,
                )
                % {"seconds": _number(thread.slow_mode_seconds)}
            )
    if not staff:
        _check_rate(organization, user, ip, new)

    status = Comment.Status.VISIBLE
    if not staff:
        mode = settings.premoderation
        first_with_link = first and markup.count_links(body) > 0
        if (
            mode == ForumSettings.Premoderation.ALL
            or (mode == ForumSettings.Premoderation.FIRST and first)
            or (mode == ForumSettings.Premoderation.FIRST_WITH_LINK and first_with_link)
        ):
            status = Comment.Status.PENDING

    parent = _structural_parent(reply_to) if reply_to is not None else None
    with transaction.atomic():
        if thread.pk is None:
            thread = get_or_create_thread(incident)
        comment = Comment(
            organization=organization,
            thread=thread,
            author=user,
            author_name=(
                strip_invisible(user.display_name).strip() or user.email.split("@")[0]
                if staff
                else customer_display_name(user, organization)
            )[:80],
            parent=parent,
            in_reply_to=reply_to,
            root_id=(parent.root_id or parent.pk) if parent is not None else None,
            depth=parent.depth + 1 if parent is not None else 0,
            body_source=body,
            body_html=markup.render(body),
            status=status,
            is_staff=staff,
            created_at=now,
        )
        comment.save()
        if status == Comment.Status.VISIBLE:
            _touch(thread)
        forum_notifications.comment_posted(comment)
    return comment


def _require_moderator(actor: Principal, organization: Organization) -> None:
    actor.require("forum.moderate", organization)


def _require_author_or_moderator(actor: Principal, comment: Comment) -> bool:
    """True when acting as a moderator; an author may edit only their own visible comment."""
    try:
        _require_moderator(actor, comment.organization)
        return True
    except PermissionDenied:
        actor.require("forum.participate", comment.organization)
        if actor.audit_user is None or comment.author_id != actor.audit_user.pk:
            raise
        return False


@transaction.atomic
def edit_comment(comment: Comment, *, actor: Principal, body: str, reason: str = "") -> Comment:
    """Change a comment's body, keeping the previous one as a revision. Authors edit their own
    (not after removal); moderators edit any (audited)."""
    moderator = _require_author_or_moderator(actor, comment)
    if comment.status == Comment.Status.REMOVED:
        raise ForumError(_("A removed comment cannot be edited."))
    if not moderator:
        _refuse_banned(comment.organization, _person(actor))
        if timezone.now() - comment.created_at > AUTHOR_EDIT_WINDOW:
            raise ForumError(_("Comments can be edited for 15 minutes after posting."))
        if is_locked(comment.thread):
            raise ForumError(_("This discussion is locked; comments can no longer be edited."))
    body = body.strip()
    if not body:
        raise ForumError(_("Write something before saving."))
    if len(body) > markup.MAX_SOURCE_LENGTH:
        raise ForumError(
            _("Comments are limited to %(limit)s characters.")
            % {"limit": _number(markup.MAX_SOURCE_LENGTH)}
        )
    if body == comment.body_source:
        return comment
    if not moderator:
        _check_new_commenter_content(comment.organization, _person(actor), body)
    CommentRevision.objects.create(
        organization=comment.organization,
        comment=comment,
        body_source=comment.body_source,
        body_html=comment.body_html,
        edited_by=actor.audit_user,
    )
    before = comment.body_source
    comment.body_source = body
    comment.body_html = markup.render(body)
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body_source", "body_html", "edited_at"])
    if moderator:
        _audit(
            actor,
            comment.organization,
            "forum.comment.edit",
            comment,
            reason=reason,
            before={"body": before},
            after={"body": body},
        )
    _touch(comment.thread)
    return comment


# --- moderation ---------------------------------------------------------------------------------


def _set_status(
    comment: Comment, *, actor: Principal, status: str, reason: str, action: str
) -> Comment:
    _require_moderator(actor, comment.organization)
    reason = reason.strip()
    if len(reason) > MAX_HIDDEN_REASON:
        raise ForumError(
            _("Keep the reason under %(limit)s characters.") % {"limit": MAX_HIDDEN_REASON}
        )
    before = _comment_state(comment)
    comment.status = status
    comment.hidden_reason = (
        reason if status in (Comment.Status.HIDDEN, Comment.Status.REMOVED) else ""
    )
    if status == Comment.Status.REMOVED:
        comment.pinned = False
        comment.is_answer = False
    comment.save(update_fields=["status", "hidden_reason", "pinned", "is_answer"])
    _audit(actor, comment.organization, action, comment, reason=reason, before=before,
           after=_comment_state(comment))  # fmt: skip
    _touch(comment.thread)
    return comment


@transaction.atomic
def hide_comment(comment: Comment, *, actor: Principal, reason: str) -> Comment:
    """Collapse a comment behind a public reason (spam, off-topic, outdated, ...)."""
    if not reason.strip():
        raise ForumError(_("Give a reason; readers see it in place of the comment."))
    if comment.status == Comment.Status.REMOVED:
        raise ForumError(_("This comment has been removed."))
    return _set_status(
        comment,
        actor=actor,
        status=Comment.Status.HIDDEN,
        reason=reason,
        action="forum.comment.hide",
    )


@transaction.atomic
def unhide_comment(comment: Comment, *, actor: Principal, reason: str = "") -> Comment:
    """Show a hidden comment again, or approve one pending review."""
    if comment.status not in (Comment.Status.HIDDEN, Comment.Status.PENDING):
        raise ForumError(_("Only a hidden or pending comment can be shown."))
    was_pending = comment.status == Comment.Status.PENDING
    action = "forum.comment.approve" if was_pending else "forum.comment.unhide"
    _set_status(comment, actor=actor, status=Comment.Status.VISIBLE, reason=reason, action=action)
    if was_pending:
        forum_notifications.comment_published(comment)
    return comment


approve_comment = unhide_comment


@transaction.atomic
def remove_comment(comment: Comment, *, actor: Principal, reason: str = "") -> Comment:
    """Tombstone a comment: replies keep their place, the body is no longer shown."""
    if comment.status == Comment.Status.REMOVED:
        raise ForumError(_("This comment has already been removed."))
    return _set_status(
        comment, actor=actor, status=Comment.Status.REMOVED, reason=reason,
        action="forum.comment.remove",
    )  # fmt: skip


@transaction.atomic
def pin_comment(comment: Comment, *, actor: Principal, pinned: bool = True) -> Comment:
    """Pin a top-level comment (at most MAX_PINNED per thread), or unpin it."""
    _require_moderator(actor, comment.organization)
    if pinned and (comment.depth != 0 or comment.status != Comment.Status.VISIBLE):
        raise ForumError(_("Only visible top-level comments can be pinned."))
    if pinned and not comment.pinned:
        count = Comment.objects.filter(thread_id=comment.thread_id, pinned=True).count()
        if count >= MAX_PINNED:
            raise ForumError(
                _("At most %(limit)s comments can be pinned; unpin one first.")
                % {"limit": MAX_PINNED}
            )
    before = _comment_state(comment)
    comment.pinned = pinned
    comment.save(update_fields=["pinned"])
    action = "forum.comment.pin" if pinned else "forum.comment.unpin"
    _audit(
        actor, comment.organization, action, comment, before=before, after=_comment_state(comment)
    )
    _touch(comment.thread)
    return comment


@transaction.atomic
def mark_answer(comment: Comment, *, actor: Principal, is_answer: bool = True) -> Comment:
    """Mark a visible reply as the answer to its question (one per question), or unmark it."""
    _require_moderator(actor, comment.organization)
    if is_answer and (comment.root_id is None or comment.status != Comment.Status.VISIBLE):
        raise ForumError(_("Only a visible reply can be marked as the answer."))
    before = _comment_state(comment)
    if is_answer:
        Comment.objects.filter(root_id=comment.root_id, is_answer=True).exclude(
            pk=comment.pk
        ).update(is_answer=False)
    comment.is_answer = is_answer
    comment.save(update_fields=["is_answer"])
    action = "forum.comment.mark_answer" if is_answer else "forum.comment.unmark_answer"
    _audit(
        actor, comment.organization, action, comment, before=before, after=_comment_state(comment)
    )
    _touch(comment.thread)
    return comment


@transaction.atomic
def lock_thread(
    thread: Thread, *, actor: Principal, locked: bool = True, reason: str = ""
) -> Thread:
    _require_moderator(actor, thread.organization)
    before = {"locked": thread.locked}
    thread.locked = locked
    thread.save(update_fields=["locked"])
    action = "forum.thread.lock" if locked else "forum.thread.unlock"
    _audit(actor, thread.organization, action, thread, reason=reason, before=before,
           after={"locked": locked})  # fmt: skip
    _touch(thread)
    return thread


@transaction.atomic
def set_slow_mode(thread: Thread, *, actor: Principal, seconds: int, reason: str = "") -> Thread:
    """Customers wait `seconds` between two comments in the thread (0 turns it off)."""
    _require_moderator(actor, thread.organization)
    if not 0 <= seconds <= 24 * 60 * 60:
        raise ForumError(_("Slow mode is between 0 (off) and 86,400 seconds (a day)."))
    before = {"slow_mode_seconds": thread.slow_mode_seconds}
    thread.slow_mode_seconds = seconds
    thread.save(update_fields=["slow_mode_seconds"])
    _audit(actor, thread.organization, "forum.thread.slow_mode", thread, reason=reason,
           before=before, after={"slow_mode_seconds": seconds})  # fmt: skip
    _touch(thread)
    return thread


@transaction.atomic
def ban_user(
    organization: Organization,
    user: User,
    *,
    actor: Principal,
    reason: str = "",
    expires_at: datetime | None = None,
) -> Ban:
    """Ban a person from commenting in the organization's forums (until `expires_at`)."""
    _require_moderator(actor, organization)
    if _is_staff(user, organization):
        raise ForumError(_("Members of the organization cannot be banned from its forums."))
    if expires_at is not None and expires_at <= timezone.now():
        raise ForumError(_("A ban's end must be in the future."))
    ban = Ban.objects.for_org(organization).filter(user=user).first()
    before = {"banned": ban is not None and ban.is_active()}
    if ban is None:
        ban = Ban(organization=organization, user=user)
    ban.reason = reason.strip()[:200]
    ban.expires_at = expires_at
    ban.save()
    _audit(actor, organization, "forum.ban", ban, reason=reason, before=before,
           after={"banned": True, "user": user.email,
                  "expires_at": expires_at.isoformat() if expires_at else None})  # fmt: skip
    return ban


@transaction.atomic
def unban_user(
    organization: Organization, user: User, *, actor: Principal, reason: str = ""
) -> None:
    _require_moderator(actor, organization)
    deleted, _by_model = Ban.objects.for_org(organization).filter(user=user).delete()
    if not deleted:
        raise ForumError(_("This person is not banned."))
    AuditEntry.record(organization, actor=actor, action="forum.unban",
                      data={"reason": reason, "before": {"banned": True},
                            "after": {"banned": False, "user": user.email}})  # fmt: skip


# --- readers' actions ---------------------------------------------------------------------------


@transaction.atomic
def flag_comment(comment: Comment, *, actor: Principal, reason: str, message: str = "") -> Flag:
    """Flag a comment for the moderators; enough distinct flags hide it pending review."""
    organization = comment.organization
    actor.require("forum.participate", organization)
    user = _person(actor)
    if reason not in Flag.Reason.values:
        raise ForumError(_("Choose why: spam, off-topic, abusive or other."))
    if problem := text_problem(message):
        # Translators: "problem" is a sentence saying what is wrong with the text.
        raise ForumError(_("The flag's message cannot be sent. %(problem)s") % {"problem": problem})
    _refuse_banned(organization, user)
    if comment.author_id == user.pk:
        raise ForumError(_("You cannot flag your own comment."))
    if comment.status in (Comment.Status.REMOVED, Comment.Status.PENDING):
        raise ForumError(_("This comment is not shown; there is nothing to flag."))
    already = ForumError(_("You have already flagged this comment."))
    if Flag.objects.filter(comment=comment, user=user).exists():
        raise already
    if not _is_staff(user, organization) and not _hit(
        f"forum:rate:{organization.pk}:flags:{user.pk}", FLAG_DAILY
    ):
        raise ForumError(
            ngettext(
                "You have flagged %(count)s comment today; moderators will review it. Thank you.",
                "You have flagged %(count)s comments today; moderators will review them. "
                "Thank you.",
                FLAG_DAILY[0],
            )
            % {"count": FLAG_DAILY[0]}
        )
    try:
        with transaction.atomic():
            flag = Flag.objects.create(
                organization=organization,
                comment=comment,
                user=user,
                reason=reason,
                message=message[:500],
            )
    except IntegrityError:  # the same person flagged it concurrently
        raise already from None
    threshold = forum_settings(organization).flag_threshold
    if comment.status == Comment.Status.VISIBLE and not comment.is_staff:
        count = Flag.objects.filter(comment=comment).count()
        if threshold and count >= threshold:
            before = _comment_state(comment)
            comment.status = Comment.Status.PENDING
            comment.save(update_fields=["status"])
            _audit(System("forum auto-hide", organization), organization,
                   "forum.comment.auto_hide", comment,
                   reason=f"{count} readers flagged it", before=before,
                   after=_comment_state(comment))  # fmt: skip
            _touch(comment.thread)
    forum_notifications.comment_flagged(comment, flag)
    return flag


@transaction.atomic
def mark_affected(
    incident: Incident, *, actor: Principal, component: Component | None = None
) -> AffectedMark:
    """Mark "I'm affected too": one per person per incident; marking again changes the
    component."""
    organization = incident.organization
    actor.require("forum.participate", organization)
    user = _person(actor)
    _refuse_banned(organization, user)
    if component is not None and (
        component.organization_id != organization.pk
        or not incident.components.filter(pk=component.pk).exists()
    ):
        raise ForumError(_("Choose one of the components this incident affects."))
    mark, created = AffectedMark.objects.get_or_create(
        organization=organization, incident=incident, user=user, defaults={"component": component}
    )
    if not created and mark.component_id != (component.pk if component else None):
        mark.component = component
        mark.save(update_fields=["component"])
    # The count is on the page and in its discussion: the thread's version moves too, so a
    # closed incident's discussion poll brings it.
    _touch(get_or_create_thread(incident))
    forum_notifications.marked_affected(incident, user, created=created)
    return mark


@transaction.atomic
def unmark_affected(incident: Incident, *, actor: Principal) -> None:
    actor.require("forum.participate", incident.organization)
    user = _person(actor)
    AffectedMark.objects.for_org(incident.organization).filter(
        incident=incident, user=user
    ).delete()
    thread = Thread.objects.filter(incident=incident).first()
    if thread is not None:
        _touch(thread)
    else:
        bump_content_version(incident.organization)


# --- reading ------------------------------------------------------------------------------------


@dataclass
class CommentNode:
    comment: Comment
    replies: list[Comment] = field(default_factory=list)
    # The reply marked as the answer, taken out of `replies` to be shown first.
    answer: Comment | None = None

    def all_comments(self) -> list[Comment]:
        return [self.comment, *([self.answer] if self.answer else []), *self.replies]


#: What a page of the discussion shows: everything, official updates only (no comments), or
#: only staff comments and accepted answers (flat, oldest first).
SHOW_CHOICES = ("all", "updates", "staff")


@dataclass
class ThreadPage:
    thread: Thread | None
    nodes: list[CommentNode]
    page: int
    has_next: bool
    comment_count: int
    affected_count: int
    affected_by_component: dict[int, int]
    show: str = "all"
    # Comments on this page someone replied to (an author may no longer edit those).
    replied: set[int] = field(default_factory=set)
    # The span of time this page's top-level comments cover, `since <= t < until` (None: open
    # on that side); the page interleaves the official updates of the same span.
    since: datetime | None = None
    until: datetime | None = None

    def covers(self, moment: datetime) -> bool:
        return (self.since is None or moment >= self.since) and (
            self.until is None or moment < self.until
        )


def _readable(viewer: User | None) -> Q:
    # Tombstones are returned so replies keep their context; a viewer also sees their own
    # pending comments.
    shown = Q(status__in=[Comment.Status.VISIBLE, Comment.Status.HIDDEN, Comment.Status.REMOVED])
    if viewer is not None:
        shown |= Q(status=Comment.Status.PENDING, author=viewer)
    return shown


def _without_hidden_bodies(comment: Comment) -> Comment:
    # SECURITY: a hidden or removed comment's body never reaches a reader (nor a template that
    # might forget to check): only its public reason or tombstone does.
    if comment.status in (Comment.Status.HIDDEN, Comment.Status.REMOVED):
        comment.body_source = ""
        comment.body_html = ""
    return comment


def affected_counts(incident: Incident) -> tuple[int, dict[int, int]]:
    """How many people are affected, and how many named each component (by component pk)."""
    rows = (
        AffectedMark.objects.for_org(incident.organization)
        .filter(incident=incident)
        .values("component_id")
        .annotate(n=Count("id"))
    )
    total = 0
    by_component: dict[int, int] = {}
    for row in rows:
        total += row["n"]
        if row["component_id"] is not None:
            by_component[row["component_id"]] = row["n"]
    return total, by_component


def read_thread(
    incident: Incident,
    *,
    viewer: User | None = None,
    page: int = 1,
    per_page: int = 50,
    show: str = "all",
    newest_first: bool = False,
) -> ThreadPage:
    """One page of top-level comments (pinned first, then oldest first), each with all its
    replies, plus counts. A constant number of queries whatever the thread's size.

    Hidden and removed comments come without their bodies. `show="staff"` gives staff comments
    and accepted answers only (flat), `show="updates"` no comments (the counts only).
    `newest_first` orders top-level comments newest first (replies stay oldest first)."""
    if show not in SHOW_CHOICES:
        raise ValueError(f"show must be one of {SHOW_CHOICES}")
    thread = Thread.objects.filter(incident=incident).first()
    total, by_component = affected_counts(incident)
    if thread is None:
        return ThreadPage(None, [], 1, False, 0, total, by_component, show)
    thread.incident = incident  # what is_locked reads, without another query
    thread.organization = incident.organization
    page = max(page, 1)
    shown = _readable(viewer)
    base = Comment.objects.filter(thread=thread).filter(shown).select_related("in_reply_to")
    offset = (page - 1) * per_page
    since: datetime | None = None
    until: datetime | None = None
    nodes: dict[int, CommentNode] = {}
    replied: set[int] = set()
    has_next = False
    order = "-id" if newest_first else "id"
    if show == "staff":
        staff = base.filter(Q(is_staff=True) | Q(is_answer=True), status=Comment.Status.VISIBLE)
        found = list(staff.order_by(order)[offset : offset + per_page + 1])
        has_next = len(found) > per_page
        nodes = {c.pk: CommentNode(c) for c in found[:per_page]}
    elif show == "all":
        # One row before the page (where its span starts) and one after (is there a next page).
        start = max(offset - 1, 0)
        found = list(base.filter(depth=0).order_by("-pinned", order)[start : offset + per_page + 1])
        before = found[0] if offset and found else None
        roots = found[1:] if offset and found else found
        has_next = len(roots) > per_page
        roots = roots[:per_page]
        unpinned = [root for root in roots if not root.pinned]
        edge = before.created_at if before is not None and not before.pinned else None
        last = unpinned[-1].created_at if has_next and unpinned else None
        since, until = (last, edge) if newest_first else (edge, last)
        nodes = {root.pk: CommentNode(_without_hidden_bodies(root)) for root in roots}
        if nodes:
            children: dict[int, list[Comment]] = {}
            for reply in base.filter(root_id__in=list(nodes)).order_by("id"):
                assert reply.parent_id is not None
                children.setdefault(reply.parent_id, []).append(_without_hidden_bodies(reply))
            replied = set(children) | {
                reply.in_reply_to_id
                for replies in children.values()
                for reply in replies
                if reply.in_reply_to_id is not None
            }
            for node in nodes.values():
                # Depth first, oldest first among siblings: a reply follows the one it answers.
                stack = list(reversed(children.get(node.comment.pk, [])))
                while stack:
                    reply = stack.pop()
                    if reply.is_answer and node.answer is None:
                        node.answer = reply
                    else:
                        node.replies.append(reply)
                    stack.extend(reversed(children.get(reply.pk, [])))
    count = Comment.objects.filter(thread=thread, status=Comment.Status.VISIBLE).count()
    return ThreadPage(
        thread,
        list(nodes.values()),
        page,
        has_next,
        count,
        total,
        by_component,
        show,
        replied,
        since,
        until,
    )


# --- replies in the organization's name (management API) ----------------------------------------


def team_name(organization: Organization) -> str:
    """The author shown on a reply written in the organization's name, not a person's."""
    return f"{strip_invisible(organization.name).strip()} team"[:80]


@transaction.atomic
def post_team_reply(
    incident: Incident, *, actor: Principal, body: str, reply_to: Comment | None = None
) -> Comment:
    """Post a staff comment in the organization's name, for a principal that is no person (an
    API key; the system). An API key is shared by scripts and chat-ops, so its comments are
    not put under the name of whoever created it: the author is "<organization> team", with
    the Staff badge (the key belongs to the organization) and no user, and the audit log
    records which key posted it. It speaks for the organization, so it needs what moderation
    needs ("forum.moderate": editors, write and admin keys). The same rules as a staff member's
    comment: no rate or pre-moderation rules, but tenancy, locks, length and sanitising hold."""
    organization = incident.organization
    actor.require("forum.moderate", organization)
    body = _postable_body(body)
    thread = _thread_to_post_in(incident)
    # SECURITY: the target must be in this very thread (and so this organization).
    if reply_to is not None and (
        reply_to.organization_id != organization.pk or reply_to.thread_id != thread.pk
    ):
        raise ForumError(_("You can only reply to comments in this discussion."))
    if reply_to is not None and reply_to.status in (Comment.Status.REMOVED, Comment.Status.PENDING):
        raise ForumError(_("This comment can no longer be replied to."))
    if is_locked(thread):
        raise ForumError(_("This discussion is locked; no new comments can be posted."))
    now = timezone.now()
    if (
        thread.pk is not None
        and Comment.objects.filter(
            thread=thread,
            author=None,
            is_staff=True,
            body_source=body,
            created_at__gte=now - DUPLICATE_WINDOW,
        ).exists()
    ):
        raise ForumError(_("The same reply was posted in this discussion a moment ago."))
    parent = _structural_parent(reply_to) if reply_to is not None else None
    if thread.pk is None:
        thread = get_or_create_thread(incident)
    comment = Comment.objects.create(
        organization=organization,
        thread=thread,
        author=None,
        author_name=team_name(organization),
        parent=parent,
        in_reply_to=reply_to,
        root_id=(parent.root_id or parent.pk) if parent is not None else None,
        depth=parent.depth + 1 if parent is not None else 0,
        body_source=body,
        body_html=markup.render(body),
        status=Comment.Status.VISIBLE,
        is_staff=True,
        created_at=now,
    )
    answered = reply_to.public_id if reply_to is not None else None
    _audit(
        actor,
        organization,
        "forum.comment.post",
        comment,
        after={"body": body, "in_reply_to": answered},
    )
    _touch(thread)
    return comment


@transaction.atomic
def moderate_thread(
    incident: Incident,
    *,
    actor: Principal,
    locked: bool | None = None,
    slow_mode_seconds: int | None = None,
    reason: str = "",
) -> Thread:
    """Lock or unlock the incident's discussion and/or set its slow mode, in one transaction
    (the thread is created if it has no comment yet; a refusal leaves nothing behind)."""
    _require_moderator(actor, incident.organization)
    if slow_mode_seconds is not None and not 0 <= slow_mode_seconds <= 24 * 60 * 60:
        raise ForumError(_("Slow mode is between 0 (off) and 86,400 seconds (a day)."))
    thread = get_or_create_thread(incident)
    if locked is not None:
        thread = lock_thread(thread, actor=actor, locked=locked, reason=reason)
    if slow_mode_seconds is not None:
        thread = set_slow_mode(thread, actor=actor, seconds=slow_mode_seconds, reason=reason)
    return thread


# --- the public page: an author's own edits and deletions, the viewer's state ----------------


def is_deleted_by_author(comment: Comment) -> bool:
    return comment.status == Comment.Status.REMOVED and comment.deleted_by_author


def _has_replies(comment: Comment) -> bool:
    return Comment.objects.filter(Q(parent=comment) | Q(in_reply_to=comment)).exists()


def edit_own_comment(comment: Comment, *, actor: Principal, body: str) -> Comment:
    """An author's edit from the page: `edit_comment`'s rules, and not once someone replied
    (moderators edit any comment at any time through `edit_comment`)."""
    user = _person(actor)
    if comment.author_id == user.pk and _has_replies(comment):
        raise ForumError(_("Someone has replied to this comment, so it can no longer be edited."))
    return edit_comment(comment, actor=actor, body=body)


@transaction.atomic
def delete_own_comment(comment: Comment, *, actor: Principal) -> Comment | None:
    """An author deletes their comment: gone when nobody replied, otherwise a tombstone
    ("[deleted by its author]") so the replies keep their place. The body stays stored for
    moderators, as with a removal; readers never get it. Returns the tombstone, or None."""
    actor.require("forum.participate", comment.organization)
    user = _person(actor)
    if comment.author_id != user.pk:
        raise PermissionDenied(_("You can only delete your own comments."))
    if comment.status == Comment.Status.REMOVED:
        raise ForumError(_("This comment has already been removed."))
    thread = comment.thread
    if _has_replies(comment):
        comment.status = Comment.Status.REMOVED
        comment.deleted_by_author = True
        comment.hidden_reason = ""
        comment.pinned = False
        comment.is_answer = False
        comment.save(
            update_fields=["status", "deleted_by_author", "hidden_reason", "pinned", "is_answer"]
        )
        _touch(thread)
        return comment
    visible = comment.status == Comment.Status.VISIBLE
    comment.delete()
    if visible:
        _touch(thread)
    return None


def affected_mark_of(incident: Incident, user: User) -> AffectedMark | None:
    """The person's own "I'm affected too" mark on the incident, if any."""
    return (
        AffectedMark.objects.for_org(incident.organization)
        .filter(incident=incident, user=user)
        .first()
    )


# --- reviewing flags (dashboard moderation queue) -----------------------------------------------


@transaction.atomic
def dismiss_flags(comment: Comment, *, actor: Principal, reason: str = "") -> Comment:
    """A moderator reviewed a flagged comment and keeps it: its flags are cleared (the audit
    entry keeps who flagged it and why), and a comment the flags hid pending review is shown
    again. Readers may flag it again later."""
    _require_moderator(actor, comment.organization)
    flags = list(
        Flag.objects.filter(comment=comment).select_related("user").order_by("created_at", "id")
    )
    if not flags:
        raise ForumError(_("This comment has no flags to dismiss."))
    reason = reason.strip()
    if len(reason) > MAX_HIDDEN_REASON:
        raise ForumError(
            _("Keep the reason under %(limit)s characters.") % {"limit": MAX_HIDDEN_REASON}
        )
    before = {
        **_comment_state(comment),
        "flags": [{"by": flag.user.email, "reason": flag.reason} for flag in flags],
    }
    Flag.objects.filter(pk__in=[flag.pk for flag in flags]).delete()
    # Readers cannot flag a pending comment, so a flagged pending one was hidden by its flags.
    if comment.status == Comment.Status.PENDING:
        comment.status = Comment.Status.VISIBLE
        comment.save(update_fields=["status"])
        _touch(comment.thread)
    _audit(actor, comment.organization, "forum.comment.dismiss_flags", comment, reason=reason,
           before=before, after={**_comment_state(comment), "flags": []})  # fmt: skip
    return comment
