"""Dashboard forms of the forum: staff replies and moderation. They only clean input; the
services (apps/forum/services.py) decide and write."""

from __future__ import annotations

from datetime import timedelta

from django import forms

from apps.core.validators import TextRulesFormMixin

from . import markup
from .models import ForumSettings
from .services import MAX_HIDDEN_REASON

# Ban lengths offered to moderators: (days, label); 0 = until lifted.
BAN_LENGTHS = [
    ("0", "Until lifted"),
    ("1", "1 day"),
    ("7", "7 days"),
    ("30", "30 days"),
    ("90", "90 days"),
]


class ReplyForm(TextRulesFormMixin, forms.Form):
    body = forms.CharField(
        label="Your comment",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=markup.MAX_SOURCE_LENGTH,
        help_text="Markdown: emphasis, links, lists, code and quotes. Posted with the Staff badge.",
    )
    # The public id of the comment answered; empty for a new top-level comment.
    parent = forms.CharField(required=False, widget=forms.HiddenInput)


class EditForm(TextRulesFormMixin, forms.Form):
    body = forms.CharField(
        label="Text",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=markup.MAX_SOURCE_LENGTH,
        help_text="The previous text is kept as a revision that staff can read.",
    )
    reason = forms.CharField(
        label="Reason (for the audit log)", required=False, max_length=MAX_HIDDEN_REASON
    )


class HideForm(TextRulesFormMixin, forms.Form):
    reason = forms.CharField(
        label="Public reason",
        max_length=MAX_HIDDEN_REASON,
        help_text="Readers see it in place of the comment, e.g. “Off-topic” or “Duplicate”.",
    )


class ReasonForm(TextRulesFormMixin, forms.Form):
    reason = forms.CharField(
        label="Reason (for the audit log)", required=False, max_length=MAX_HIDDEN_REASON
    )


class BanForm(TextRulesFormMixin, forms.Form):
    length = forms.ChoiceField(label="For how long", choices=BAN_LENGTHS, initial="0")
    reason = forms.CharField(
        label="Reason (for the audit log)", required=False, max_length=MAX_HIDDEN_REASON
    )

    def expires_in(self) -> timedelta | None:
        days = int(self.cleaned_data["length"])
        return timedelta(days=days) if days else None


class SlowModeForm(TextRulesFormMixin, forms.Form):
    seconds = forms.IntegerField(
        label="Seconds between two comments of one person",
        min_value=0,
        max_value=24 * 60 * 60,
        help_text="0 turns slow mode off. Staff are never slowed down.",
    )


class ForumSettingsForm(TextRulesFormMixin, forms.Form):
    premoderation = forms.ChoiceField(
        label="Hold for review before publishing",
        choices=ForumSettings.Premoderation.choices,
    )
    who_may_comment = forms.ChoiceField(
        label="Who may comment", choices=ForumSettings.WhoMayComment.choices
    )
    allowed_domains = forms.CharField(
        label="Allowed email domains",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Used when only people at listed domains may comment. Separate with spaces, "
        "commas or new lines, e.g. example.com.",
    )
    blocked_domains = forms.CharField(
        label="Blocked email domains",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="People with addresses at these domains may not comment.",
    )
    auto_lock_days = forms.IntegerField(
        label="Lock discussions this many days after resolution",
        min_value=0,
        max_value=365,
        help_text="0 keeps them open.",
    )
    flag_threshold = forms.IntegerField(
        label="Hide a comment for review after this many flags",
        min_value=0,
        max_value=100,
        help_text="Flags from different people; 0 never hides automatically.",
    )
    affected_alert_threshold = forms.IntegerField(
        label="Tell webhooks and Slack when this many people are affected",
        min_value=0,
        max_value=1_000_000,
        help_text="Sent once per discussion to webhook and Slack subscribers that receive "
        "discussion events; 0 never sends it.",
    )

    @classmethod
    def initial_from(cls, current: ForumSettings) -> dict:
        return {
            "premoderation": current.premoderation,
            "who_may_comment": current.who_may_comment,
            "allowed_domains": "\n".join(current.allowed_domains),
            "blocked_domains": "\n".join(current.blocked_domains),
            "auto_lock_days": current.auto_lock_days,
            "flag_threshold": current.flag_threshold,
            "affected_alert_threshold": current.affected_alert_threshold,
        }
