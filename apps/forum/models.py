"""The incident forum: one thread per incident, shallow threaded comments, moderation state.

Tree storage follows docs in /work/shared/reference/forum-design.md §2, adapted to run on
SQLite as well as PostgreSQL: an adjacency list (`parent`) plus `root` and `depth`, so a page of
top-level comments and all their replies are two indexed queries, and posting writes O(1) rows
(no renumbering of siblings). Ids come from one sequence, so id order is creation order.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.core.ids import PublicIdField
from apps.organizations.models import OrgOwnedModel

#: A reply deeper than this attaches to its parent and keeps `in_reply_to` (0 = root).
MAX_DEPTH = 2


class Thread(OrgOwnedModel):
    """The discussion of one incident or maintenance, created on its first use."""

    public_id = PublicIdField()
    incident = models.OneToOneField(
        "incidents.Incident", on_delete=models.CASCADE, related_name="forum_thread"
    )
    locked = models.BooleanField(default=False)
    # Seconds a customer waits between two comments in this thread; 0 = off. Staff are exempt.
    slow_mode_seconds = models.PositiveIntegerField(default=0)
    # Bumped in the same transaction as every change a reader can see (later: polling cursor).
    version = models.PositiveBigIntegerField(default=1)
    # The "affected" threshold a `thread.affected_threshold` event was last sent for: each
    # threshold is announced once.
    affected_alerted_at = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Thread of {self.incident_id}"


class Comment(OrgOwnedModel):
    class Status(models.TextChoices):
        VISIBLE = "visible", pgettext_lazy("comment status", "Visible")
        PENDING = "pending", pgettext_lazy("comment status", "Pending review")
        HIDDEN = "hidden", pgettext_lazy("comment status", "Hidden")
        REMOVED = "removed", pgettext_lazy("comment status", "Removed")

    id = models.BigAutoField(primary_key=True)
    public_id = PublicIdField()
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # The name shown, decided at write time (a customer's impersonating name is replaced).
    author_name = models.CharField(max_length=80)
    # Structural parent (depth-capped); `in_reply_to` keeps the real target when flattened.
    # Comments are never deleted one by one once replied to (a tombstone stays), so CASCADE only
    # acts when a whole thread goes (its incident or organization deleted).
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    in_reply_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    root = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    depth = models.PositiveSmallIntegerField(default=0)
    body_source = models.TextField()
    body_html = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.VISIBLE)
    hidden_reason = models.CharField(max_length=200, blank=True)
    # A REMOVED comment its author deleted ("[deleted by its author]"), not a moderator.
    deleted_by_author = models.BooleanField(default=False)
    pinned = models.BooleanField(default=False)
    is_answer = models.BooleanField(default=False)
    # SECURITY: decided on the server from Membership when written, never from a name.
    is_staff = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["thread", "depth", "id"], name="forum_comment_roots"),
            # The page's order (pinned first, newest first) read from the index, not sorted.
            models.Index(
                fields=["thread", "depth", "pinned", "id"], name="forum_comment_pinned_roots"
            ),
            models.Index(fields=["thread", "root"], name="forum_comment_subtree"),
            models.Index(fields=["organization", "status", "created_at"], name="forum_modqueue"),
        ]

    def __str__(self) -> str:
        return f"Comment {self.public_id}"


class CommentRevision(OrgOwnedModel):
    """The body before an edit (kept for staff)."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="revisions")
    body_source = models.TextField()
    body_html = models.TextField()
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)


class Flag(OrgOwnedModel):
    class Reason(models.TextChoices):
        SPAM = "spam", pgettext_lazy("reason for flagging a comment", "Spam")
        OFF_TOPIC = "off_topic", pgettext_lazy("reason for flagging a comment", "Off-topic")
        ABUSIVE = "abusive", pgettext_lazy("reason for flagging a comment", "Abusive")
        OTHER = "other", pgettext_lazy("reason for flagging a comment", "Other")

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="flags")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=12, choices=Reason.choices)
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="forum_flag_once_per_user")
        ]


class AffectedMark(OrgOwnedModel):
    """'I'm affected too': one per person per incident, optionally naming a component."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="affected_marks"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    component = models.ForeignKey(
        "status.Component", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "user"], name="forum_affected_once_per_user"
            )
        ]


class Ban(OrgOwnedModel):
    """A person may not comment in this organization's forums (until `expires_at`, if set)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="forum_ban_once")
        ]

    def is_active(self, now: datetime | None = None) -> bool:
        return self.expires_at is None or self.expires_at > (now or timezone.now())


class ForumSettings(OrgOwnedModel):
    """Per-organization forum rules; a missing row means the defaults below."""

    class Premoderation(models.TextChoices):
        OFF = "off", pgettext_lazy("pre-moderation setting", "Off")
        FIRST_WITH_LINK = "first_with_link", _("A new commenter's first comment with a link")
        FIRST = "first", _("Every new commenter's first comment")
        ALL = "all", _("Every comment")

    class WhoMayComment(models.TextChoices):
        SIGNED_IN = "signed_in", _("Anyone signed in")
        DOMAINS = "domains", _("People with verified addresses at the listed domains")
        NOBODY = "nobody", _("Nobody")

    premoderation = models.CharField(
        max_length=16, choices=Premoderation.choices, default=Premoderation.FIRST_WITH_LINK
    )
    who_may_comment = models.CharField(
        max_length=10, choices=WhoMayComment.choices, default=WhoMayComment.SIGNED_IN
    )
    # Lowercase domains, one per entry.
    allowed_domains = models.JSONField(default=list, blank=True)
    blocked_domains = models.JSONField(default=list, blank=True)
    # Threads lock this many days after the incident is resolved; 0 = never.
    auto_lock_days = models.PositiveSmallIntegerField(default=14)
    # Distinct flags that hide a comment pending review.
    flag_threshold = models.PositiveSmallIntegerField(default=3)
    # People marked "affected" at which webhooks and Slack that opted in to discussion events
    # hear that the thread passed it (once per threshold); 0 = never.
    affected_alert_threshold = models.PositiveIntegerField(default=10)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="forum_settings_once_per_org")
        ]


# --- notifications (apps/forum/notifications.py) ------------------------------------------------

#: At most one mail per person per thread in this window; replies inside it wait for the next.
MAIL_WINDOW_MINUTES = 10


class ThreadFollow(OrgOwnedModel):
    """Someone who hears about a thread by mail: replies to their comments and staff answers.

    Written by the services: commenting follows the thread, and so does marking "affected"
    (staff answers only: official updates already reach status-page subscribers).
    """

    class Reason(models.TextChoices):
        COMMENTED = "commented", "Commented"
        AFFECTED = "affected", "Marked affected"

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    # "Mute this discussion" (the one-click link in every mail): nothing more about it.
    muted = models.BooleanField(default=False)
    # When this person was last mailed about this thread: the next mail waits for the window.
    last_mailed_at = models.DateTimeField(null=True, blank=True)
    # The language their reply mail is written in: the page's language when they last commented
    # or marked themselves affected (apps.core.i18n; read through `i18n.supported`).
    language = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "user"], name="forum_follow_once_per_user")
        ]


class MailOptOut(OrgOwnedModel):
    """ "Mute all discussions of <organization>": no forum mail from it to this person."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="forum_optout_once")
        ]


class ReplyNotice(OrgOwnedModel):
    """One published comment to tell one person about, gathered into their next mail of the
    thread. Unique per (comment, recipient): publishing a comment twice (approved, hidden,
    approved again) never tells anyone twice."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for the next mail"
        SENT = "sent", "In a mail"
        DROPPED = "dropped", "Not sent"

    class Why(models.TextChoices):
        REPLY = "reply", "A reply to their comment"
        STAFF = "staff", "A staff answer in a thread they follow"

    id = models.BigAutoField(primary_key=True)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    why = models.CharField(max_length=6, choices=Why.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    # When the mail carrying it may go: now, or when the recipient's window opens again.
    due_at = models.DateTimeField(default=timezone.now)
    # The notification event (one mail) that carried it; set when sent.
    event = models.ForeignKey(
        "notifications.NotificationEvent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    dropped_reason = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["comment", "recipient"], name="forum_notice_once_per_recipient"
            )
        ]
        indexes = [
            models.Index(
                fields=["due_at"], name="forum_notice_due", condition=models.Q(state="pending")
            ),
            models.Index(fields=["thread", "recipient", "state"], name="forum_notice_batch"),
        ]
