"""Forum notifications: who follows a thread, reply mail batched per person, and discussion
events for webhooks and Slack, all through the notifications pipeline (registered at ready()).

Reply mail:
- Commenting follows the thread (replies to my comments, staff answers); marking "affected"
  follows its staff answers. "Mute this discussion" (`ThreadFollow.muted`) and "mute all
  discussions of <organization>" (`MailOptOut`) are one-click links in every mail.
- When a comment becomes visible (posted visible, or approved), `comment_published` writes one
  `ReplyNotice` per recipient (unique per comment and recipient): the replied-to author and,
  for a staff comment, everyone following the thread; never the writer, nobody muted, nobody
  banned. Nothing is written for a comment awaiting moderation.
- At most one mail per person per thread per MAIL_WINDOW_MINUTES: a notice is due now, or when
  the recipient's window opens again; `send_due_reply_mails` (on commit, and the beat task
  `forum.send_due_reply_mails` every minute) gathers each person's due notices of a thread into
  ONE event, `discussion.replies`, addressed to that person's `Subscriber.people` row. The
  pipeline makes its one delivery (unique per event and subscriber). A comment hidden or removed
  before its mail is built is left out; if none is left, nothing is sent.

Discussion events (`comment.created`, `comment.flagged`, `thread.affected_threshold`) go to the
organization's webhook and Slack subscribers that opted in (`Subscriber.discussion_events`) and
follow the incident's components.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core import signing
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import ngettext, pgettext

from apps.core.i18n import supported
from apps.core.text import staff_text_slack
from apps.incidents.notifications import discussion_url, incident_url
from apps.notifications import registry
from apps.notifications.models import NotificationEvent, Subscriber
from apps.notifications.payloads import timestamp
from apps.notifications.pipeline import emit
from apps.notifications.registry import Mail, Renderer, format_time, one_line
from apps.notifications.subscribers import following_components
from apps.status.notifications import page_object

from .models import (
    MAIL_WINDOW_MINUTES,
    AffectedMark,
    Ban,
    Comment,
    Flag,
    ForumSettings,
    MailOptOut,
    ReplyNotice,
    Thread,
    ThreadFollow,
)

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from apps.accounts.models import User
    from apps.incidents.models import Incident
    from apps.organizations.models import Organization


logger = logging.getLogger(__name__)


class EventKind(models.TextChoices):
    """The forum's event kinds (plain strings on NotificationEvent). Never renamed: a kind is
    in stored events, webhook bodies (`meta.event_type`) and the API's `kind` filter."""

    REPLIES = "discussion.replies", "Discussion replies (mail to one person)"
    COMMENT_CREATED = "comment.created", "Discussion: new comment"
    COMMENT_FLAGGED = "comment.flagged", "Discussion: comment flagged"
    AFFECTED_THRESHOLD = "thread.affected_threshold", "Discussion: many people affected"


# Kinds for the organization's webhooks and Slack (those that opted in).
HOOK_KINDS = (EventKind.COMMENT_CREATED, EventKind.COMMENT_FLAGGED, EventKind.AFFECTED_THRESHOLD)
MAIL_WINDOW = timedelta(minutes=MAIL_WINDOW_MINUTES)
DEFAULT_AFFECTED_ALERT_THRESHOLD = ForumSettings._meta.get_field("affected_alert_threshold").default
SLACK_EXCERPT = 500
MUTE_SALT = "candor.forum.mute-thread"
MUTE_ALL_SALT = "candor.forum.mute-all"
# Due (thread, person) pairs one run of send_due_reply_mails handles; the rest wait a minute.
FLUSH_LIMIT = 500


# --- following ----------------------------------------------------------------------------------


def thread_of(incident: Incident) -> Thread:
    """The incident's thread, created on first use (an "affected" mark may come first)."""
    thread = Thread.objects.filter(incident=incident).first()
    if thread is not None:
        return thread
    try:
        with transaction.atomic():
            return Thread.objects.create(
                organization_id=incident.organization_id, incident=incident
            )
    except IntegrityError:  # created concurrently
        return Thread.objects.get(incident=incident)


def follow(thread: Thread, user: User, reason: str, *, language: str | None = None) -> ThreadFollow:
    """Follow the thread (idempotent). Commenting after marking "affected" widens the reason;
    a muted follow stays muted.

    `language`: the language the person acted in (the page's active language when they comment
    or mark themselves affected); their reply mail is written in it. None when someone else's
    action makes them follow (a reply to their comment): their language is left as it was."""
    defaults: dict[str, Any] = {"organization_id": thread.organization_id, "reason": reason}
    if language is not None:
        defaults["language"] = language
    found, created = ThreadFollow.objects.get_or_create(thread=thread, user=user, defaults=defaults)
    if created:
        return found
    changed = []
    if reason == ThreadFollow.Reason.COMMENTED and found.reason != reason:
        found.reason = reason
        changed.append("reason")
    if language is not None and found.language != language:
        found.language = language
        changed.append("language")
    if changed:
        found.save(update_fields=changed)
    return found


def acting_language() -> str:
    """The language of the person acting now (the public page's, chosen by apps.core.i18n;
    English on the dashboard and the API), as stored on their follow."""
    return supported(translation.get_language())


def comment_posted(comment: Comment) -> None:
    """Called by `services.post_comment` in its transaction: the writer follows the thread,
    and a visible comment is published (a pending one waits for its approval)."""
    if comment.author is not None:
        follow(
            comment.thread,
            comment.author,
            ThreadFollow.Reason.COMMENTED,
            language=acting_language(),
        )
    comment_published(comment)


def _banned_user_ids(organization_id: int, user_ids: set[int], now: datetime) -> set[int]:
    return set(
        Ban.objects.filter(organization_id=organization_id, user_id__in=user_ids)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values_list("user_id", flat=True)
    )


def comment_published(comment: Comment) -> int:
    """A comment became visible (posted, or approved by a moderator): tell the people it
    concerns (batched) and the discussion webhooks. Returns the notices written.

    Call it inside the transaction that made it visible; anything else is a no-op."""
    if comment.status != Comment.Status.VISIBLE:
        return 0
    thread = comment.thread
    now = timezone.now()
    why: dict[int, str] = {}
    target = comment.in_reply_to
    if target is not None and target.author is not None:
        # The replied-to author follows the thread as its commenter (older comments too).
        follow(thread, target.author, ThreadFollow.Reason.COMMENTED)
        why[target.author_id] = ReplyNotice.Why.REPLY
    # A customer's comment concerns one person (the replied-to author): read only their follow,
    # so posting costs the same however many people follow the thread.
    follow_rows = ThreadFollow.objects.filter(thread=thread)
    if not comment.is_staff:
        follow_rows = follow_rows.filter(user_id__in=set(why))
    follows = {f.user_id: f for f in follow_rows}
    if comment.is_staff:
        for user_id in follows:
            why.setdefault(user_id, ReplyNotice.Why.STAFF)
    why.pop(comment.author_id, None)
    muted = {user_id for user_id, f in follows.items() if f.muted}
    opted_out = set(
        MailOptOut.objects.filter(
            organization_id=comment.organization_id, user_id__in=set(why)
        ).values_list("user_id", flat=True)
    )
    banned = _banned_user_ids(comment.organization_id, set(why), now)
    notices = []
    for user_id, reason in why.items():
        if user_id in muted or user_id in opted_out or user_id in banned:
            continue
        last = follows[user_id].last_mailed_at if user_id in follows else None
        notices.append(
            ReplyNotice(
                organization_id=comment.organization_id,
                thread=thread,
                comment=comment,
                recipient_id=user_id,
                why=reason,
                due_at=max(now, last + MAIL_WINDOW) if last else now,
                created_at=now,
            )
        )
    # A comment published again (approved after an auto-hide) finds its notices already there.
    ReplyNotice.objects.bulk_create(notices, ignore_conflicts=True)
    if any(notice.due_at <= now for notice in notices):
        transaction.on_commit(_enqueue_due_reply_mails)
    _emit_comment_event(EventKind.COMMENT_CREATED, comment)
    return len(notices)


# --- batching: one mail per person per thread per window ---------------------------------------


def _enqueue_due_reply_mails() -> None:
    """Send what is due now. A broker failure is logged, never raised: the notices are in the
    database and the beat task sends them within a minute."""
    from .tasks import send_due_reply_mails  # tasks.py imports this module

    try:
        send_due_reply_mails.delay()
    except Exception:
        logger.exception("Could not enqueue forum reply mail; beat will send it")


def send_due_reply_mails(now: datetime | None = None) -> int:
    """Emit one `discussion.replies` event per (thread, person) with a due notice. Safe to run
    concurrently and repeatedly: each pair is decided under a lock on its follow row and its
    notices are claimed by a conditional update. Returns the mails emitted."""
    now = now or timezone.now()
    pairs = list(
        ReplyNotice.objects.filter(state=ReplyNotice.State.PENDING, due_at__lte=now)
        .values_list("thread_id", "recipient_id")
        .distinct()
        .order_by()[:FLUSH_LIMIT]
    )
    return sum(1 for thread_id, user_id in pairs if _send_one(thread_id, user_id, now))


@transaction.atomic
def _send_one(thread_id: int, user_id: int, now: datetime) -> bool:
    follow_row = (
        # Locks the follow row only (not the joined thread, incident, organization and user).
        ThreadFollow.objects.select_for_update(of=("self",))
        .select_related("thread__incident", "thread__organization", "user")
        .filter(thread_id=thread_id, user_id=user_id)
        .first()
    )
    pending = ReplyNotice.objects.filter(
        thread_id=thread_id, recipient_id=user_id, state=ReplyNotice.State.PENDING
    )
    if follow_row is None:
        _drop(pending, "No longer follows the thread.")
        return False
    if follow_row.last_mailed_at and follow_row.last_mailed_at + MAIL_WINDOW > now:
        # Mailed within the window (a concurrent run): the rest waits for the next mail.
        pending.update(due_at=follow_row.last_mailed_at + MAIL_WINDOW)
        return False
    thread = follow_row.thread
    organization = thread.organization
    user = follow_row.user
    if (
        follow_row.muted
        or MailOptOut.objects.filter(organization=organization, user=user).exists()
        or _banned_user_ids(organization.pk, {user.pk}, now)
        or not user.is_active
        or not user.email
    ):
        _drop(pending, "Muted, banned or without an address.")
        return False
    notices = list(pending.select_related("comment").order_by("comment_id"))
    shown = [n for n in notices if n.comment.status == Comment.Status.VISIBLE]
    # SECURITY: a comment hidden, removed or back in review since it was published is left
    # out, and never reaches anyone's inbox.
    _drop(pending.exclude(pk__in=[n.pk for n in shown]), "Hidden before the mail went out.")
    if not shown:
        return False
    subscriber = person_subscriber(organization, user, language=follow_row.language)
    incident = thread.incident
    event = emit(
        EventKind.REPLIES,
        organization,
        thread,
        {
            "incident": {"id": incident.public_id, "name": incident.name, "kind": incident.kind},
            "thread": thread.public_id,
            "recipient": subscriber.public_id,
            "comments": [n.comment.public_id for n in shown],
            "replies_to_you": [
                n.comment.public_id for n in shown if n.why == ReplyNotice.Why.REPLY
            ],
        },
    )
    claimed = ReplyNotice.objects.filter(
        pk__in=[n.pk for n in shown], state=ReplyNotice.State.PENDING
    ).update(state=ReplyNotice.State.SENT, event=event)
    if claimed != len(shown):  # another run took some: undo this event
        transaction.set_rollback(True)
        return False
    ThreadFollow.objects.filter(pk=follow_row.pk).update(last_mailed_at=now)
    return True


def _drop(notices: QuerySet[ReplyNotice], reason: str) -> None:
    notices.filter(state=ReplyNotice.State.PENDING).update(
        state=ReplyNotice.State.DROPPED, dropped_reason=reason[:100]
    )


def person_subscriber(
    organization: Organization, user: User, *, language: str | None = None
) -> Subscriber:
    """The person's own mail row in the organization (`Subscriber.people`), its address kept
    up to date with the account's, and its language with the one the person last used on the
    page (`ThreadFollow.language`), which the mail channel renders in."""
    found = Subscriber.people.for_org(organization).filter(user=user).first()
    if found is None:
        try:
            with transaction.atomic():
                return Subscriber.people.create(
                    organization=organization,
                    scope=Subscriber.Scope.PERSON,
                    user=user,
                    channel=Subscriber.Channel.EMAIL,
                    email=user.email,
                    # The account's address: verified by sign-in, so no double opt-in here.
                    confirmed_at=timezone.now(),
                    language=supported(language),
                )
        except IntegrityError:  # created concurrently
            found = Subscriber.people.for_org(organization).get(user=user)
    wanted = supported(language) if language else found.language
    if (
        found.email != user.email
        or found.state != Subscriber.State.ACTIVE
        or found.language != wanted
    ):
        found.email = user.email
        found.state = Subscriber.State.ACTIVE
        found.language = wanted
        found.save(update_fields=["email", "state", "language"])
    return found


# --- muting (links in every mail) ---------------------------------------------------------------


# Signed (HMAC keyed by SECRET_KEY, salted per purpose), never stored, and without expiry: a
# List-Unsubscribe link must keep working for as long as the mail sits in an inbox.


def mute_token(thread: Thread, user_id: int) -> str:
    return signing.Signer(salt=MUTE_SALT).sign_object(
        {"o": thread.organization_id, "t": thread.pk, "u": user_id}
    )


def mute_all_token(organization_id: int, user_id: int) -> str:
    return signing.Signer(salt=MUTE_ALL_SALT).sign_object({"o": organization_id, "u": user_id})


def follow_for_token(organization: Organization, token: str) -> ThreadFollow | None:
    """The follow a "mute this discussion" link was made for, in this organization only."""
    try:
        data = signing.Signer(salt=MUTE_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    # SECURITY: a token of another organization's thread is refused like a forged one.
    if not isinstance(data, dict) or data.get("o") != organization.pk:
        return None
    return (
        ThreadFollow.objects.for_org(organization)
        .select_related("thread__incident", "user")
        .filter(thread_id=data.get("t"), user_id=data.get("u"))
        .first()
    )


def user_for_mute_all_token(organization: Organization, token: str) -> User | None:
    try:
        data = signing.Signer(salt=MUTE_ALL_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(data, dict) or data.get("o") != organization.pk:
        return None
    user_model = ThreadFollow._meta.get_field("user").related_model
    return user_model.objects.filter(pk=data.get("u")).first()


def mute_thread(follow_row: ThreadFollow) -> bool:
    """ "Mute this discussion": idempotent; its waiting notices are dropped. True if changed."""
    with transaction.atomic():
        changed = ThreadFollow.objects.filter(pk=follow_row.pk, muted=False).update(muted=True)
        _drop(
            ReplyNotice.objects.filter(thread_id=follow_row.thread_id, recipient=follow_row.user),
            "Muted.",
        )
    follow_row.muted = True
    return bool(changed)


def unmute_thread(follow_row: ThreadFollow) -> None:
    ThreadFollow.objects.filter(pk=follow_row.pk).update(muted=False)
    follow_row.muted = False


def mute_all(organization: Organization, user: User) -> bool:
    """ "Mute all discussions of <organization>": idempotent. True if changed."""
    with transaction.atomic():
        _, created = MailOptOut.objects.get_or_create(organization=organization, user=user)
        _drop(ReplyNotice.objects.for_org(organization).filter(recipient=user), "Muted all.")
    return created


def unmute_all(organization: Organization, user: User) -> None:
    MailOptOut.objects.for_org(organization).filter(user=user).delete()


def is_muted_all(organization: Organization, user: User) -> bool:
    return MailOptOut.objects.for_org(organization).filter(user=user).exists()


def mute_url(thread: Thread, user_id: int) -> str:
    return f"{thread.organization.public_url}discussions/mute/{mute_token(thread, user_id)}/"


def mute_all_url(organization: Organization, user_id: int) -> str:
    token = mute_all_token(organization.pk, user_id)
    return f"{organization.public_url}discussions/mute-all/{token}/"


# --- flags and "affected" -----------------------------------------------------------------------


def comment_flagged(comment: Comment, flag: Flag) -> None:
    """Called by `services.flag_comment` once the flag is written (and the comment perhaps
    auto-hidden): the discussion webhooks hear of it."""
    _emit_comment_event(EventKind.COMMENT_FLAGGED, comment, flag={"reason": flag.reason})


def marked_affected(incident: Incident, user: User, *, created: bool) -> None:
    """Called by `services.mark_affected`: the person follows the thread's staff answers, and
    passing the organization's threshold is announced once per threshold."""
    thread = thread_of(incident)
    follow(thread, user, ThreadFollow.Reason.AFFECTED, language=acting_language())
    if not created:
        return
    row = ForumSettings.objects.for_org(incident.organization).first()
    threshold = row.affected_alert_threshold if row else DEFAULT_AFFECTED_ALERT_THRESHOLD
    if not threshold:
        return
    count = AffectedMark.objects.filter(incident=incident).count()
    if count < threshold:
        return
    # Claimed with a conditional update: one event per threshold, whoever crosses it.
    if not Thread.objects.filter(pk=thread.pk, affected_alerted_at__lt=threshold).update(
        affected_alerted_at=threshold
    ):
        return
    emit(
        EventKind.AFFECTED_THRESHOLD,
        incident.organization,
        thread,
        {
            "incident": {"id": incident.public_id, "name": incident.name, "kind": incident.kind},
            "thread": thread.public_id,
            "threshold": threshold,
            "affected": count,
        },
        component_ids=list(incident.components.values_list("public_id", flat=True)),
    )


def _emit_comment_event(kind: str, comment: Comment, **facts: Any) -> None:
    incident = comment.thread.incident
    emit(
        kind,
        comment.organization,
        comment,
        {
            "incident": {"id": incident.public_id, "name": incident.name, "kind": incident.kind},
            "thread": comment.thread.public_id,
            "comment": comment.public_id,
            **facts,
        },
        component_ids=list(incident.components.values_list("public_id", flat=True)),
    )


# --- rendering ----------------------------------------------------------------------------------


def comment_url(incident: Incident, comment: Comment) -> str:
    return f"{incident_url(incident)}#comment-{comment.public_id}"


def _thread_of_event(event: NotificationEvent) -> Thread:
    cached = getattr(event, "_forum_thread", None)
    if cached is None:
        cached = (
            Thread.objects.filter(
                organization_id=event.organization_id, public_id=event.snapshot.get("thread")
            )
            .select_related("incident")
            .first()
        )
        if cached is None:
            raise registry.SubjectGone("The incident and its discussion were deleted.")
        cached.organization = event.organization
        cached.incident.organization = event.organization
        event._forum_thread = cached  # type: ignore[attr-defined]
    return cached


def _comment_of_event(event: NotificationEvent) -> Comment:
    thread = _thread_of_event(event)
    comment = (
        Comment.objects.filter(thread=thread, public_id=event.snapshot.get("comment"))
        .select_related("in_reply_to")
        .first()
    )
    if comment is None:
        raise registry.SubjectGone("The comment was deleted.")
    return comment


def comment_object(comment: Comment, incident: Incident) -> dict[str, Any]:
    """A comment in a webhook body. The text only while the comment is shown on the page."""
    tz = incident.organization.tzinfo
    shown = comment.status == Comment.Status.VISIBLE
    return {
        "id": comment.public_id,
        "incident_id": incident.public_id,
        "in_reply_to": comment.in_reply_to.public_id if comment.in_reply_to else None,
        "author_name": comment.author_name,
        "is_staff": comment.is_staff,
        "status": comment.status,
        "body": comment.body_source if shown else None,
        "body_html": comment.body_html if shown else None,
        "created_at": timestamp(comment.created_at, tz),
        "url": comment_url(incident, comment),
    }


def _incident_ref(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.public_id,
        "name": incident.name,
        "status": incident.status,
        "shortlink": incident_url(incident),
        "discussion_url": discussion_url(incident),
    }


class DiscussionHookRenderer(Renderer):
    """Discussion events: webhook bodies and Slack text, for hooks that opted in only.

    Webhook body: `{"page": {...}, "incident": {"id", "name", "status", "shortlink",
    "discussion_url"}, ...}` plus, by kind, `"comment"` (comment_object; `body` is null unless
    the comment is shown), `"flag": {"reason"}` and `"affected": {"count", "threshold"}`."""

    def audience(
        self, event: NotificationEvent, subscribers: QuerySet[Subscriber]
    ) -> QuerySet[Subscriber]:
        hooks = subscribers.filter(
            channel__in=[Subscriber.Channel.WEBHOOK, Subscriber.Channel.SLACK],
            discussion_events=True,
        )
        return following_components(hooks, event.component_ids)

    def mail(self, event: NotificationEvent) -> Mail:
        raise registry.SubjectGone("Discussion events are not mailed to subscribers.")

    def webhook_body(self, event: NotificationEvent) -> dict[str, Any]:
        thread = _thread_of_event(event)
        body: dict[str, Any] = {
            "page": page_object(event.organization),
            "incident": _incident_ref(thread.incident),
        }
        if event.kind == EventKind.AFFECTED_THRESHOLD:
            body["affected"] = {
                "count": event.snapshot.get("affected"),
                "threshold": event.snapshot.get("threshold"),
            }
            return body
        body["comment"] = comment_object(_comment_of_event(event), thread.incident)
        if event.kind == EventKind.COMMENT_FLAGGED:
            body["flag"] = event.snapshot.get("flag", {})
        return body

    def slack_text(self, event: NotificationEvent) -> str:
        escape = staff_text_slack
        thread = _thread_of_event(event)
        incident = thread.incident
        head = f"*{escape(event.organization.name)}*: "
        link = f"<{discussion_url(incident)}|{escape(incident.name)}>"
        if event.kind == EventKind.AFFECTED_THRESHOLD:
            return (
                f"{head}{event.snapshot.get('affected')} people say they are affected by {link} "
                f"(alert at {event.snapshot.get('threshold')})"
            )
        comment = _comment_of_event(event)
        who = f"*{escape(comment.author_name)}*" + (" (staff)" if comment.is_staff else "")
        if event.kind == EventKind.COMMENT_FLAGGED:
            reason = dict(Flag.Reason.choices).get(event.snapshot.get("flag", {}).get("reason"))
            state = (
                " It is hidden pending review." if comment.status == Comment.Status.PENDING else ""
            )
            return (
                f"{head}a comment by {who} on {link} was flagged as "
                f"{escape(str(reason or 'other')).lower()}.{state}\n"
                f"<{comment_url(incident, comment)}|Review the comment>"
            )
        text = f"{head}{who} commented on {link}"
        if comment.status == Comment.Status.VISIBLE:
            text += f"\n>{escape(comment.body_source, limit=SLACK_EXCERPT)}"
        return text + f"\n<{comment_url(incident, comment)}|Open the comment>"


class RepliesRenderer(Renderer):
    """One person's mail about replies in one thread (mail only)."""

    def audience(
        self, event: NotificationEvent, subscribers: QuerySet[Subscriber]
    ) -> QuerySet[Subscriber]:
        # The one person the event was made for: a `Subscriber.people` row, which the status
        # page's audience (`subscribers`, page subscribers only) never contains.
        return (
            Subscriber.people.for_org(event.organization)
            .active()
            .filter(public_id=event.snapshot.get("recipient"))
        )

    def mail(self, event: NotificationEvent) -> Mail:
        thread = _thread_of_event(event)
        organization = event.organization
        recipient = (
            Subscriber.people.for_org(organization)
            .filter(public_id=event.snapshot.get("recipient"))
            .values_list("user_id", flat=True)
            .first()
        )
        if recipient is None:
            raise registry.SubjectGone("The recipient's account was deleted.")
        follow_row = ThreadFollow.objects.filter(thread=thread, user_id=recipient).first()
        if (follow_row is not None and follow_row.muted) or MailOptOut.objects.filter(
            organization=organization, user_id=recipient
        ).exists():
            raise registry.SubjectGone("The recipient muted this discussion.")
        # The follower's language (stored when they last commented or marked themselves
        # affected); whatever is stored that we have no catalog for reads as English. The
        # templates render their whole text inside `{% language language %}` too, because the
        # mail channel renders them later, outside this block.
        language = supported(follow_row.language if follow_row is not None else None)
        with translation.override(language):
            return self._mail(event, thread, recipient, language)

    def _mail(
        self, event: NotificationEvent, thread: Thread, recipient: int, language: str
    ) -> Mail:
        incident = thread.incident
        organization = event.organization
        to_you = set(event.snapshot.get("replies_to_you", []))
        # SECURITY: only comments shown on the page now; a comment hidden, removed or back in
        # review since the event was written is left out (its text never goes out).
        comments = list(
            Comment.objects.filter(
                thread=thread,
                public_id__in=event.snapshot.get("comments", []),
                status=Comment.Status.VISIBLE,
            ).order_by("id")
        )
        if not comments:
            raise registry.SubjectGone("Every comment of this mail was hidden before it went.")
        tz = organization.tzinfo
        title = one_line(incident.name)
        count = len(comments)
        what = ngettext("New reply in %(title)s", "%(counter)s new replies in %(title)s", count) % {
            "counter": count,
            "title": title,
        }
        subject = one_line(f"[{organization.name}] {what}")
        # Translators: the badge beside a comment written by the organization's staff.
        staff = pgettext("badge beside a comment of the organization's staff", "Staff")
        items = [
            {
                "author_name": comment.author_name,
                "staff_badge": f"{staff} · {organization.name}" if comment.is_staff else "",
                "to_you": comment.public_id in to_you,
                "body_text": comment.body_source,
                "body_html": comment.body_html,
                "url": comment_url(incident, comment),
                "posted_at": format_time(comment.created_at, tz),
            }
            for comment in comments
        ]

        def links(subscriber: Subscriber) -> tuple[str, str]:
            return mute_url(thread, recipient), mute_all_url(organization, recipient)

        return Mail(
            subject=subject,
            text_template="forum/email/replies.txt",
            html_template="forum/email/replies.html",
            context={
                "organization": organization,
                "incident": incident,
                "title": title,
                "count": count,
                "language": language,
                "comments": items,
                "incident_url": incident_url(incident),
                "discussion_url": discussion_url(incident),
                "page_url": organization.public_url,
                "window_minutes": MAIL_WINDOW_MINUTES,
            },
            thread=f"discussion/{incident.public_id}",
            links=links,
            list_label=f"{organization.name} discussions",
        )


def register_renderers() -> None:
    hooks = DiscussionHookRenderer()
    registry.register(EventKind.REPLIES, RepliesRenderer(), label=EventKind.REPLIES.label)
    for kind in HOOK_KINDS:
        registry.register(kind, hooks, label=kind.label)
