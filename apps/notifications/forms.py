"""Forms of the staff pages for subscribers and deliveries (apps.notifications.views)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from . import registry
from .csv_import import MAX_ADDRESSES, MAX_FILE_BYTES
from .models import MAX_UPDATE_CADENCE_MINUTES, MIN_UPDATE_CADENCE_MINUTES, Delivery, Subscriber
from .subscribers import check_update_cadence

# The list's state filter: "pending" and "active" are both State.ACTIVE, told apart by
# confirmed_at (see Subscriber.is_active).
STATE_CHOICES = [
    ("", "Any state"),
    ("pending", "Pending confirmation"),
    ("active", "Active"),
    ("disabled", "Disabled"),
]


class SubscriberFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=254,
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Address or host"}),
    )
    channel = forms.ChoiceField(
        required=False, choices=[("", "Any channel"), *Subscriber.Channel.choices]
    )
    state = forms.ChoiceField(required=False, choices=STATE_CHOICES)


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            f"Up to {MAX_FILE_BYTES // 1024 // 1024} MB and {MAX_ADDRESSES:,} addresses. One "
            "address per row, or a column named “email” and optionally one named “components” "
            "(component names separated by “;”, empty for all components)."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_FILE_BYTES // 1024 // 1024} MB. Split it into "
                "several files."
            )
        return upload


class EventFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False)
    failed = forms.BooleanField(required=False, label="Only with failed deliveries")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The kinds the emitting apps registered (at ready(), after this class was defined).
        self.fields["kind"].choices = [("", "Any kind"), *registry.kind_choices()]


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Delivery.Status.choices]
    )


class NotificationSettingsForm(forms.Form):
    email_component_changes = forms.BooleanField(
        required=False,
        label="Email subscribers when a component's status changes without an incident",
        help_text="Webhook and Slack subscribers always get these. Off by default: most "
        "readers only want mail about incidents and maintenance.",
    )
    update_cadence_minutes = forms.IntegerField(
        required=False,
        label="Promise the next update within (minutes)",
        help_text=f"Every update of an active incident says when the next one is due: this "
        f"pre-fills it, and each update can change it. From {MIN_UPDATE_CADENCE_MINUTES} "
        f"minutes to {MAX_UPDATE_CADENCE_MINUTES // 60} hours ({MAX_UPDATE_CADENCE_MINUTES}).",
        widget=forms.NumberInput(
            attrs={"min": MIN_UPDATE_CADENCE_MINUTES, "max": MAX_UPDATE_CADENCE_MINUTES}
        ),
    )
    staff_slack_url = forms.CharField(
        required=False,
        max_length=500,
        label="Staff Slack webhook URL",
        help_text="A Slack incoming webhook of your team's own channel (it starts with "
        "https://hooks.slack.com/). Update reminders go there as well as by email; "
        "subscribers never see it. Leave empty to keep the current one.",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.slack.com/services/…"}),
    )
    remove_staff_slack = forms.BooleanField(
        required=False, label="Stop sending reminders to the staff Slack channel"
    )

    def clean_update_cadence_minutes(self) -> int | None:
        value = self.cleaned_data.get("update_cadence_minutes")
        if value is None:
            # Absent (an older form that only switches the email setting): left as it is.
            if "update_cadence_minutes" in self.data:
                raise ValidationError("Say how many minutes until the next update is due.")
            return None
        try:
            return check_update_cadence(value)
        except ValidationError as error:
            raise ValidationError(error.messages) from error

    def clean(self):
        data = super().clean()
        if data.get("remove_staff_slack") and data.get("staff_slack_url"):
            self.add_error("staff_slack_url", "Give a new URL or remove the current one, not both.")
        return data

    def staff_slack_change(self) -> str | None:
        """The staff Slack URL to store: "" removes it, None keeps it."""
        if self.cleaned_data.get("remove_staff_slack"):
            return ""
        return self.cleaned_data.get("staff_slack_url") or None
