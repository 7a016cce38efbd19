"""Dashboard forms of the forum: staff replies and moderation. They only clean input; the
services (apps/forum/services.py) decide and write."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.validators import TextRulesFormMixin

from . import markup
from .models import ForumSettings
from .services import MAX_HIDDEN_REASON

# Ban lengths offered to moderators: (days, label); 0 = until lifted.
BAN_LENGTHS = [
    ("0", _("Until lifted")),
    ("1", _("1 day")),
    ("7", _("7 days")),
    ("30", _("30 days")),
    ("90", _("90 days")),
]


class ReplyForm(TextRulesFormMixin, forms.Form):
    body = forms.CharField(
        label=_("Your comment"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=markup.MAX_SOURCE_LENGTH,
        help_text=_(
            "Markdown: emphasis, links, lists, code and quotes. Posted with the Staff badge."
        ),
    )
    # The public id of the comment answered; empty for a new top-level comment.
    parent = forms.CharField(required=False, widget=forms.HiddenInput)


class EditForm(TextRulesFormMixin, forms.Form):
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=markup.MAX_SOURCE_LENGTH,
        help_text=_("The previous text is kept as a revision that staff can read."),
    )
    reason = forms.CharField(
        label=_("Reason (for the audit log)"), required=False, max_length=MAX_HIDDEN_REASON
    )


class HideForm(TextRulesFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Public reason"),
        max_length=MAX_HIDDEN_REASON,
        help_text=_("Readers see it in place of the comment, e.g. “Off-topic” or “Duplicate”."),
    )


class ReasonForm(TextRulesFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason (for the audit log)"), required=False, max_length=MAX_HIDDEN_REASON
    )


class BanForm(TextRulesFormMixin, forms.Form):
    length = forms.ChoiceField(label=_("For how long"), choices=BAN_LENGTHS, initial="0")
    reason = forms.CharField(
        label=_("Reason (for the audit log)"), required=False, max_length=MAX_HIDDEN_REASON
    )

    def expires_in(self) -> timedelta | None:
        days = int(self.cleaned_data["length"])
        return timedelta(days=days) if days else None


class SlowModeForm(TextRulesFormMixin, forms.Form):
    seconds = forms.IntegerField(
        label=_("Seconds between two comments of one person"),
        min_value=0,
        max_value=24 * 60 * 60,
        help_text=_("0 turns slow mode off. Staff are never slowed down."),
    )


class ForumSettingsForm(TextRulesFormMixin, forms.Form):
    premoderation = forms.ChoiceField(
        label=_("Hold for review before publishing"),
        choices=ForumSettings.Premoderation.choices,
    )
    who_may_comment = forms.ChoiceField(
        label=_("Who may comment"), choices=ForumSettings.WhoMayComment.choices
    )
    allowed_domains = forms.CharField(
        label=_("Allowed email domains"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Used when only people at listed domains may comment. Separate with spaces, "
            "commas or new lines, e.g. example.com."
        ),
    )
    blocked_domains = forms.CharField(
        label=_("Blocked email domains"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("People with addresses at these domains may not comment."),
    )
    auto_lock_days = forms.IntegerField(
        label=_("Lock discussions this many days after resolution"),
        min_value=0,
        max_value=365,
        help_text=_("0 keeps them open."),
    )
    flag_threshold = forms.IntegerField(
        label=_("Hide a comment for review after this many flags"),
        min_value=0,
        max_value=100,
        help_text=_("Flags from different people; 0 never hides automatically."),
    )
    affected_alert_threshold = forms.IntegerField(
        label=_("Tell webhooks and Slack when this many people are affected"),
        min_value=0,
        max_value=1_000_000,
        help_text=_(
            "Sent once per discussion to webhook and Slack subscribers that receive "
            "discussion events; 0 never sends it."
        ),
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
