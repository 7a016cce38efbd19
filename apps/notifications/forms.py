"""Forms of the staff pages for subscribers and deliveries (apps.notifications.views)."""

from __future__ import annotations

from django import forms

from . import registry
from .csv_import import MAX_ADDRESSES, MAX_FILE_BYTES
from .models import Delivery, Subscriber

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
