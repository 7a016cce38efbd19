"""Forms of the staff pages for subscribers and deliveries (apps.notifications.views)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from . import registry
from .csv_import import MAX_ADDRESSES, MAX_FILE_BYTES
from .models import MAX_UPDATE_CADENCE_MINUTES, MIN_UPDATE_CADENCE_MINUTES, Delivery, Subscriber
from .subscribers import check_update_cadence

# The list's state filter: "pending" and "active" are both State.ACTIVE, told apart by
# confirmed_at (see Subscriber.is_active).
STATE_CHOICES = [
    ("", gettext_lazy("Any state")),
    ("pending", pgettext_lazy("subscriber state", "Pending confirmation")),
    ("active", pgettext_lazy("subscriber state", "Active")),
    ("disabled", pgettext_lazy("subscriber state", "Disabled")),
]


class SubscriberFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=254,
        label=gettext_lazy("Search"),
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": gettext_lazy("Address or host")}
        ),
    )
    channel = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Channel"),
        choices=[("", gettext_lazy("Any channel")), *Subscriber.Channel.choices],
    )
    state = forms.ChoiceField(required=False, label=gettext_lazy("State"), choices=STATE_CHOICES)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "Up to %(megabytes)s MB and %(addresses)s addresses. One address per row, or a "
            "column named “email” and optionally one named “components” (component names "
            "separated by “;”, empty for all components)."
        ) % {"megabytes": MAX_FILE_BYTES // 1024 // 1024, "addresses": f"{MAX_ADDRESSES:,}"}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(megabytes)s MB. Split it into several files.")
                % {"megabytes": MAX_FILE_BYTES // 1024 // 1024}
            )
        return upload


class EventFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False, label=gettext_lazy("Kind"))
    failed = forms.BooleanField(required=False, label=gettext_lazy("Only with failed deliveries"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The kinds the emitting apps registered (at ready(), after this class was defined).
        self.fields["kind"].choices = [("", _("Any kind")), *registry.kind_choices()]


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Status"),
        choices=[("", gettext_lazy("Any status")), *Delivery.Status.choices],
    )


class NotificationSettingsForm(forms.Form):
    email_component_changes = forms.BooleanField(
        required=False,
        label=gettext_lazy(
            "Email subscribers when a component's status changes without an incident"
        ),
        help_text=gettext_lazy(
            "Webhook and Slack subscribers always get these. Off by default: most "
            "readers only want mail about incidents and maintenance."
        ),
    )
    update_cadence_minutes = forms.IntegerField(
        required=False,
        label=gettext_lazy("Promise the next update within (minutes)"),
        widget=forms.NumberInput(
            attrs={"min": MIN_UPDATE_CADENCE_MINUTES, "max": MAX_UPDATE_CADENCE_MINUTES}
        ),
    )
    staff_slack_url = forms.CharField(
        required=False,
        max_length=500,
        label=gettext_lazy("Staff Slack webhook URL"),
        help_text=gettext_lazy(
            "A Slack incoming webhook of your team's own channel (it starts with "
            "https://hooks.slack.com/). Update reminders go there as well as by email; "
            "subscribers never see it. Leave empty to keep the current one."
        ),
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.slack.com/services/…"}),
    )
    remove_staff_slack = forms.BooleanField(
        required=False, label=gettext_lazy("Stop sending reminders to the staff Slack channel")
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["update_cadence_minutes"].help_text = _(
            "Every update of an active incident says when the next one is due: this pre-fills "
            "it, and each update can change it. From %(min)s minutes to %(hours)s hours "
            "(%(max)s)."
        ) % {
            "min": MIN_UPDATE_CADENCE_MINUTES,
            "hours": MAX_UPDATE_CADENCE_MINUTES // 60,
            "max": MAX_UPDATE_CADENCE_MINUTES,
        }

    def clean_update_cadence_minutes(self) -> int | None:
        value = self.cleaned_data.get("update_cadence_minutes")
        if value is None:
            # Absent (an older form that only switches the email setting): left as it is.
            if "update_cadence_minutes" in self.data:
                raise ValidationError(_("Say how many minutes until the next update is due."))
            return None
        try:
            return check_update_cadence(value)
        except ValidationError as error:
            raise ValidationError(error.messages) from error

    def clean(self):
        data = super().clean()
        if data.get("remove_staff_slack") and data.get("staff_slack_url"):
            self.add_error(
                "staff_slack_url", _("Give a new URL or remove the current one, not both.")
            )
        return data

    def staff_slack_change(self) -> str | None:
        """The staff Slack URL to store: "" removes it, None keeps it."""
        if self.cleaned_data.get("remove_staff_slack"):
            return ""
        return self.cleaned_data.get("staff_slack_url") or None
