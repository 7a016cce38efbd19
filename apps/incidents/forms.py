"""Forms for the incident and maintenance dashboard. They validate input only; services write."""

from __future__ import annotations

from collections.abc import Callable
from datetime import MAXYEAR, MINYEAR, UTC, datetime, time, timedelta, tzinfo
from itertools import groupby
from typing import TYPE_CHECKING

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from apps.core.dates import (
    AM_PM,
    DISPLAY_DATETIME,
    DisplayDateField,
    DisplayDateTimeInput,
    parse_display_datetime,
    reject_outside_window,
    window_problem,
)
from apps.core.validators import TextRulesFormMixin
from apps.notifications.services import update_cadence_minutes
from apps.organizations.models import Organization
from apps.status.models import Component, ComponentStatus

from . import texts
from .models import (
    UNRESOLVED_INCIDENT,
    ActionItem,
    FollowUpSettings,
    Impact,
    IncidentStatus,
    Kind,
    MaintenanceStatus,
)
from .services import (
    INCIDENT_IMPACTS,
    MAX_PROMISE_MINUTES,
    MAX_REMINDER_HOURS,
    POSTMORTEM_TEXT_MAX,
    check_promise,
    default_next_update,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

NOT_AFFECTED = ""
# The rule of apps/core/text.py, said where staff write text that customers read.
TEXT_RULE = gettext_lazy(
    "Plain text. Line breaks are kept and web addresses become links; what you type is shown "
    "exactly as written."
)
AUTO_IMPACT = "auto"
INCIDENT_STATUS_CHOICES = [(s, IncidentStatus(s).label) for s in UNRESOLVED_INCIDENT]
UPDATE_STATUS_CHOICES = [
    *INCIDENT_STATUS_CHOICES,
    (IncidentStatus.RESOLVED, pgettext_lazy("incident status", "Resolved")),
]
IMPACT_CHOICES = [(i, Impact(i).label) for i in INCIDENT_IMPACTS]


def org_components(organization: Organization):
    """The organization's components in page order: ungrouped first, then group by group."""
    return (
        Component.objects.for_org(organization)
        .select_related("group")
        .order_by(F("group__position").asc(nulls_first=True), "group_id", "position", "id")
    )


class OrgDateTimeField(forms.DateTimeField):
    """A time read and shown in the organization's timezone, in the format the pages display.

    Django's DateTimeField uses the *active* timezone; here the zone is explicit so a form can
    never silently fall back to UTC. Times that do not exist locally (the hour skipped when
    clocks go forward) are refused instead of being shifted. A zone typed after the time
    (copied from a page: "Dec 6, 2026 20:31 CET") is accepted when it is the organization's.
    """

    widget = DisplayDateTimeInput

    def __init__(self, *args, window: bool = True, **kwargs):
        """`window`: refuse times outside apps/core/dates.py's window (the years 2000 to ten
        years ahead). Off for promises, whose own rule (within 7 days) says more."""
        self.tzinfo: tzinfo = UTC
        super().__init__(*args, **kwargs)
        self.window = window
        if window:
            self.validators.append(reject_outside_window)

    def example(self) -> str:
        """Tomorrow at 09:00 in the organization's zone, written as the input wants it."""
        tomorrow = timezone.now().astimezone(self.tzinfo).date() + timedelta(days=1)
        return date_format(datetime.combine(tomorrow, time(9, 0)), DISPLAY_DATETIME)

    def prepare_value(self, value):
        if isinstance(value, datetime) and timezone.is_aware(value):
            return timezone.make_naive(value, self.tzinfo)
        return value

    def _invalid(self) -> ValidationError:
        return ValidationError(
            _("Write the time like %(example)s (in %(timezone)s time).")
            % {"example": self.example(), "timezone": self.tzinfo},
            code="invalid",
        )

    def to_python(self, value):
        if value in self.empty_values:
            return None
        zone_written = ""
        if isinstance(value, datetime):
            naive = value
        else:
            text = str(value).strip()
            naive = parse_display_datetime(text)
            if naive is None and " " in text:
                head, zone_written = text.rsplit(" ", 1)
                if zone_written.lower() in AM_PM:
                    raise self._invalid()
                naive = parse_display_datetime(head)
            if naive is None:
                raise self._invalid()
        # Before converting: a year at datetime's limits overflows in a zone behind UTC.
        checked = self.window or not MINYEAR < naive.year < MAXYEAR
        if checked and (problem := window_problem(naive)):
            raise ValidationError(problem, code="outside_window")
        if naive.tzinfo is not None:
            return naive
        aware = naive.replace(tzinfo=self.tzinfo)
        if aware.astimezone(UTC).astimezone(self.tzinfo).replace(tzinfo=None) != naive:
            raise ValidationError(
                _("%(time)s does not exist in %(timezone)s (the clocks skip it).")
                % {"time": date_format(naive, DISPLAY_DATETIME), "timezone": self.tzinfo},
                code="nonexistent",
            )
        if zone_written and zone_written.lower() not in {
            str(self.tzinfo).lower(),
            (aware.tzname() or "").lower(),
        }:
            raise ValidationError(
                # Translators: abbreviation is the zone's short name (CET); written is what
                # staff typed after the time.
                _(
                    "Times here are in %(timezone)s time (%(abbreviation)s); "
                    "leave out “%(written)s”."
                )
                % {
                    "timezone": self.tzinfo,
                    "abbreviation": aware.tzname(),
                    "written": zone_written,
                },
                code="other_zone",
            )
        return aware


class ComponentChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Component) -> str:
        # "Europe - API", not "API": two groups may both have an "API".
        return obj.display_name


class OrgForm(TextRulesFormMixin, forms.Form):
    """A form that knows its organization: timezone for datetimes, components for pickers."""

    def __init__(self, *args, organization: Organization, **kwargs):
        self.organization = organization
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, OrgDateTimeField):
                field.tzinfo = organization.tzinfo
                # State the zone and the format beside every time input: staff are often
                # elsewhere, and the example is the format the pages show.
                zone = _("In %(timezone)s time, like %(example)s.") % {
                    "timezone": organization.timezone,
                    "example": field.example(),
                }
                field.help_text = f"{field.help_text} {zone}" if field.help_text else zone
                field.widget.attrs["placeholder"] = _("e.g. %(example)s") % {
                    "example": field.example()
                }


class ComponentPickerMixin:
    """One select per component: "Not affected" or a status. Field names carry public ids."""

    fields: dict
    cleaned_data: dict

    def add_component_pickers(
        self, components, initial: dict[int, str] | None = None, *, allow_untouched: bool = True
    ) -> None:
        self.picker_components = list(components)
        choices = [(NOT_AFFECTED, _("Not affected"))] if allow_untouched else []
        choices += ComponentStatus.choices
        for component in self.picker_components:
            self.fields[f"component_{component.public_id}"] = forms.ChoiceField(
                label=component.name,
                choices=choices,
                required=False,
                initial=(initial or {}).get(component.pk, NOT_AFFECTED),
            )

    def component_groups(self) -> list[tuple[str, list]]:
        """[(group name or "", [(component, bound field)])] for the template."""
        rows = [(c, self[f"component_{c.public_id}"]) for c in self.picker_components]
        return [
            (name, list(items))
            for name, items in groupby(rows, key=lambda r: r[0].group.name if r[0].group_id else "")
        ]

    def component_changes(self) -> dict[Component, str]:
        return {
            c: self.cleaned_data[f"component_{c.public_id}"]
            for c in self.picker_components
            if self.cleaned_data.get(f"component_{c.public_id}")
        }


class PromiseMixin:
    """What an update promises: the next update in N minutes (pre-filled with the
    organization's default cadence), by a time (overrides the minutes), or, while monitoring,
    no further updates until resolved. After validation `self.promised` is the
    (next_update_due, no_further_updates) pair for the services."""

    fields: dict
    cleaned_data: dict
    organization: Organization
    add_error: Callable

    promised: tuple[datetime | None, bool] = (None, False)

    def add_promise_fields(self, cadence: int | None = None) -> None:
        """`cadence`: the organization's default, when the caller has read it already."""
        cadence = cadence or update_cadence_minutes(self.organization)
        self.fields["next_update_in_minutes"] = forms.IntegerField(
            required=False,
            min_value=1,
            max_value=MAX_PROMISE_MINUTES,
            initial=cadence,
            label=_("Next update in (minutes)"),
            help_text=_(
                "Readers see when the next update is due. Your default is %(cadence)s "
                "minutes; change it for this update if you need to."
            )
            % {"cadence": cadence},
        )
        self.fields["no_further_updates"] = forms.BooleanField(
            required=False,
            label=_("No further updates until resolved"),
            help_text=_(
                "Only while monitoring: readers see “No further updates until it is resolved.”"
            ),
        )

    def clean_promise(self, status: str | None) -> None:
        data = self.cleaned_data
        if status is None or status == IncidentStatus.RESOLVED:
            self.promised = (None, False)
            return
        now = timezone.now()
        at = data.get("next_update_due")
        no_further = bool(data.get("no_further_updates"))
        if at is not None:
            due = at
        elif no_further:
            due = None
        elif data.get("next_update_in_minutes") is not None:
            due = now + timedelta(minutes=data["next_update_in_minutes"])
        elif "next_update_in_minutes" in self.errors:
            return
        else:
            due = default_next_update(self.organization, now)
        try:
            self.promised = check_promise(
                self.organization,
                status=status,
                next_update_due=due,
                no_further_updates=no_further,
                now=now,
            )
        except ValidationError as error:
            field = "next_update_due" if error.code in PAST_OR_FAR else "no_further_updates"
            self.add_error(field, error)


PAST_OR_FAR = {"next_update_past", "next_update_too_far"}


class IncidentForm(PromiseMixin, ComponentPickerMixin, OrgForm):
    template = forms.CharField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(max_length=255, label=gettext_lazy("Incident name"))
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=INCIDENT_STATUS_CHOICES)
    impact = forms.ChoiceField(
        label=gettext_lazy("Impact"),
        choices=[(AUTO_IMPACT, pgettext_lazy("incident impact", "Automatic")), *IMPACT_CHOICES],
        initial=AUTO_IMPACT,
        help_text=gettext_lazy(
            "Automatic: a major outage is critical, a partial outage major, "
            "degraded performance minor."
        ),
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        label=gettext_lazy("Message"),
        initial=texts.default_update_text(IncidentStatus.INVESTIGATING),
        help_text=TEXT_RULE,
    )
    notify = forms.BooleanField(
        required=False, initial=True, label=gettext_lazy("Notify subscribers")
    )
    next_update_due = OrgDateTimeField(
        required=False,
        label=gettext_lazy("Or by a time"),
        help_text=gettext_lazy("Overrides the minutes."),
        window=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_component_pickers(org_components(self.organization))
        self.add_promise_fields()

    def clean(self):
        data = super().clean()
        self.clean_promise(data.get("status"))
        return data

    def impact_or_none(self) -> str | None:
        impact = self.cleaned_data["impact"]
        return None if impact == AUTO_IMPACT else impact


class UpdateForm(PromiseMixin, ComponentPickerMixin, OrgForm):
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=UPDATE_STATUS_CHOICES)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), label=gettext_lazy("Message"), help_text=TEXT_RULE
    )
    notify = forms.BooleanField(
        required=False, initial=True, label=gettext_lazy("Notify subscribers")
    )
    next_update_due = OrgDateTimeField(
        required=False,
        label=gettext_lazy("Or by a time"),
        help_text=gettext_lazy("Overrides the minutes."),
        window=False,
    )

    def clean(self):
        data = super().clean()
        self.clean_promise(data.get("status"))
        return data

    def __init__(self, *args, incident, cadence: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        affected = {c.pk for c in incident.components.all()}
        components = list(org_components(self.organization))
        # Prefilled with the current status of the components this incident affects, so an
        # update that does not touch them keeps them as they are.
        self.add_component_pickers(
            components, {c.pk: c.status for c in components if c.pk in affected}
        )
        self.fields["status"].initial = incident.status
        self.add_promise_fields(cadence)


class MaintenanceUpdateForm(OrgForm):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), label=gettext_lazy("Message"), help_text=TEXT_RULE
    )
    notify = forms.BooleanField(
        required=False, initial=True, label=gettext_lazy("Notify subscribers")
    )


class IncidentDetailsForm(TextRulesFormMixin, forms.Form):
    name = forms.CharField(max_length=255, label=gettext_lazy("Incident name"))
    impact = forms.ChoiceField(
        label=gettext_lazy("Impact"),
        choices=IMPACT_CHOICES,
        help_text=gettext_lazy(
            "Setting it by hand stops the automatic impact from component statuses."
        ),
    )


class EditUpdateForm(TextRulesFormMixin, forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), label=gettext_lazy("Message"), help_text=TEXT_RULE
    )


class ResolveForm(TextRulesFormMixin, forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label=gettext_lazy("Message"),
        initial=texts.default_update_text(IncidentStatus.RESOLVED),
        help_text=TEXT_RULE,
    )
    notify = forms.BooleanField(
        required=False, initial=True, label=gettext_lazy("Notify subscribers")
    )


class ReopenForm(TextRulesFormMixin, forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=INCIDENT_STATUS_CHOICES)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label=gettext_lazy("Message"),
        initial=texts.REOPENED_TEXT,
        help_text=TEXT_RULE,
    )
    notify = forms.BooleanField(
        required=False, initial=True, label=gettext_lazy("Notify subscribers")
    )


BACKFILL_STEPS = [*UNRESOLVED_INCIDENT, IncidentStatus.RESOLVED]


class BackfillForm(OrgForm):
    """A past incident: up to one update per status, in order; only "resolved" is required."""

    name = forms.CharField(max_length=255, label=gettext_lazy("Incident name"))
    impact = forms.ChoiceField(
        label=gettext_lazy("Impact"), choices=IMPACT_CHOICES, initial=Impact.MINOR
    )
    components = ComponentChoiceField(
        queryset=Component.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Affected components"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["components"].queryset = org_components(self.organization)
        for status in BACKFILL_STEPS:
            required = status == IncidentStatus.RESOLVED
            self.fields[f"body_{status}"] = forms.CharField(
                widget=forms.Textarea(attrs={"rows": 2}),
                required=required,
                # The step's fieldset legend names the status; the labels stay short.
                label=_("Message"),
                initial=texts.default_update_text(status) if required else "",
                help_text=TEXT_RULE,
            )
            field = OrgDateTimeField(required=required, label=_("Time"))
            field.tzinfo = self.organization.tzinfo
            field.help_text = _("In %(timezone)s time, like %(example)s.") % {
                "timezone": self.organization.timezone,
                "example": field.example(),
            }
            field.widget.attrs["placeholder"] = _("e.g. %(example)s") % {"example": field.example()}
            self.fields[f"at_{status}"] = field

    def steps(self) -> list[tuple[str, object, object]]:
        return [
            (IncidentStatus(s).label, self[f"body_{s}"], self[f"at_{s}"]) for s in BACKFILL_STEPS
        ]

    def clean(self):
        data = super().clean()
        for status in BACKFILL_STEPS:
            body, at = data.get(f"body_{status}"), data.get(f"at_{status}")
            if body and not at:
                self.add_error(f"at_{status}", _("When did this update happen?"))
            if at and not body:
                self.add_error(f"body_{status}", _("Write what was said at that time."))
        return data

    def updates(self) -> list[tuple[str, str, datetime]]:
        return [
            (s, self.cleaned_data[f"body_{s}"], self.cleaned_data[f"at_{s}"])
            for s in BACKFILL_STEPS
            if self.cleaned_data.get(f"body_{s}")
        ]


class DeleteForm(TextRulesFormMixin, forms.Form):
    confirm_name = forms.CharField(label=gettext_lazy("Type the name to confirm"), max_length=255)

    def __init__(self, *args, expected: str, **kwargs):
        self.expected = expected
        super().__init__(*args, **kwargs)

    def clean_confirm_name(self) -> str:
        value = self.cleaned_data["confirm_name"].strip()
        if value != self.expected.strip():
            raise ValidationError(_("That is not the name. Nothing was deleted."))
        return value


class MaintenanceForm(OrgForm):
    name = forms.CharField(max_length=255, label=gettext_lazy("Title"))
    scheduled_for = OrgDateTimeField(label=gettext_lazy("Starts"))
    scheduled_until = OrgDateTimeField(label=gettext_lazy("Ends"))
    components = ComponentChoiceField(
        queryset=Component.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Components under maintenance"),
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        label=gettext_lazy("Message"),
        initial=texts.default_update_text(MaintenanceStatus.SCHEDULED),
        help_text=TEXT_RULE,
    )
    auto_start = forms.BooleanField(
        required=False, initial=True, label=gettext_lazy("Start automatically at the start time")
    )
    auto_complete = forms.BooleanField(
        required=False, initial=True, label=gettext_lazy("Complete automatically at the end time")
    )
    reminder_hours = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_REMINDER_HOURS,
        label=gettext_lazy("Remind subscribers (hours before)"),
        help_text=gettext_lazy("Leave empty for no reminder."),
    )
    notify = forms.BooleanField(
        required=False, initial=True, label=gettext_lazy("Notify subscribers")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["components"].queryset = org_components(self.organization)

    def clean(self):
        data = super().clean()
        start, end = data.get("scheduled_for"), data.get("scheduled_until")
        if start and end and end <= start:
            self.add_error("scheduled_until", _("The maintenance must end after it starts."))
        return data


class ExtendForm(OrgForm):
    scheduled_until = OrgDateTimeField(label=gettext_lazy("New end"))
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label=gettext_lazy("Message"),
        help_text=format_lazy(
            "{} {}",
            gettext_lazy("Leave empty to say the maintenance takes longer and when it should end."),
            TEXT_RULE,
        ),
    )
    notify = forms.BooleanField(
        required=False, initial=True, label=gettext_lazy("Notify subscribers")
    )


TEMPLATE_STATUS_CHOICES = [
    *INCIDENT_STATUS_CHOICES,
    (MaintenanceStatus.SCHEDULED, gettext_lazy("Scheduled (maintenance)")),
]


class TemplateForm(TextRulesFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=Kind.choices, initial=Kind.INCIDENT
    )
    name = forms.CharField(max_length=100, label=gettext_lazy("Template name"))
    title = forms.CharField(max_length=255, label=gettext_lazy("Incident name"))
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=TEMPLATE_STATUS_CHOICES)
    impact = forms.ChoiceField(
        label=gettext_lazy("Impact"), choices=Impact.choices, initial=Impact.MINOR
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        label=gettext_lazy("Message"),
        help_text=format_lazy(
            "{} {}",
            gettext_lazy("Say what customers experience, in plain words. Do not play it down."),
            TEXT_RULE,
        ),
    )

    def clean(self):
        data = super().clean()
        if data.get("kind") == Kind.MAINTENANCE:
            # A maintenance is always announced as scheduled with maintenance impact.
            data["status"], data["impact"] = MaintenanceStatus.SCHEDULED, Impact.MAINTENANCE
        elif data.get("status") == MaintenanceStatus.SCHEDULED:
            self.add_error(
                "status", _("Incidents start as investigating, identified or monitoring.")
            )
        elif data.get("impact") == Impact.MAINTENANCE:
            self.add_error("impact", _("Maintenance impact is for maintenance templates."))
        return data


# --- postmortems -----------------------------------------------------------------------------


def _section(
    label: StrOrPromise,
    help_text: StrOrPromise,
    rows: int,
    placeholder: StrOrPromise,
    *,
    required: bool = False,
) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=format_lazy("{} {}", help_text, TEXT_RULE),
        required=required,
        max_length=POSTMORTEM_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": rows, "placeholder": placeholder}),
    )


class PostmortemForm(TextRulesFormMixin, forms.Form):
    """The sections. Writing starts with the summary (publishing needs it); the others may
    wait."""

    summary = _section(
        gettext_lazy("What happened"),
        gettext_lazy(
            "In plain words, for someone who does not work here: what customers saw, from when to "
            "when. Avoid internal names, acronyms and jargon."
        ),
        5,
        gettext_lazy(
            "From 10:02 to 10:47 UTC, most attempts to sign in failed with an error page."
        ),
        required=True,
    )
    customer_impact = _section(
        gettext_lazy("How this affected you"),
        gettext_lazy(
            "Who was affected, how, and for how long. A new postmortem starts with what Candor "
            "measured (how long it lasted, each component's worst status and time out, "
            "subscribers notified, readers who said they were affected): check it and add what "
            "you know. Do not minimise it (“some users”, “brief”) unless that is the truth."
        ),
        6,
        gettext_lazy(
            "Everyone trying to sign in during those 45 minutes could not reach their account."
        ),
    )
    acknowledgement = _section(
        gettext_lazy("Your words to the people this affected"),
        gettext_lazy(
            "Say it as you would to a customer in front of you: that you understand the trouble "
            "this caused and that you are sorry. Nobody writes this part for you; you can publish "
            "without it."
        ),
        3,
        gettext_lazy(
            "We know many of you were in the middle of work when this happened. We are sorry."
        ),
    )
    cause = _section(
        gettext_lazy("Why it happened"),
        gettext_lazy("The cause, explained simply and without blame."),
        4,
        gettext_lazy(
            "A change to our sign-in service sent every request to a server that was restarting."
        ),
    )
    resolution = _section(
        gettext_lazy("How we fixed it"),
        gettext_lazy(
            "What restored service. What you are changing so it does not happen again goes in the "
            "action items below."
        ),
        3,
        gettext_lazy("We undid the change at 10:45 and sign-ins recovered within two minutes."),
    )


class FollowUpSettingsForm(TextRulesFormMixin, forms.Form):
    postmortem_due_days = forms.IntegerField(
        label=gettext_lazy("List resolved incidents without a postmortem after"),
        min_value=1,
        max_value=FollowUpSettings.MAX_POSTMORTEM_DUE_DAYS,
        error_messages={
            "min_value": gettext_lazy("Choose at least 1 day: a postmortem takes time to write."),
            "max_value": gettext_lazy(
                "Choose at most %(limit_value)s days: later than that, readers have moved on."
            ),
            "invalid": gettext_lazy("Enter a whole number of days."),
            "required": gettext_lazy("Enter a number of days."),
        },
        widget=forms.NumberInput(attrs={"class": "input-narrow"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["postmortem_due_days"].help_text = _(
            "Days after resolution, from 1 to %(max)s."
        ) % {"max": FollowUpSettings.MAX_POSTMORTEM_DUE_DAYS}


class PublishPostmortemForm(TextRulesFormMixin, forms.Form):
    notify = forms.BooleanField(
        required=False,
        initial=True,
        label=gettext_lazy("Notify subscribers"),
        help_text=gettext_lazy(
            "Email, webhook and Slack subscribers of the affected components get the "
            "summary and a link."
        ),
    )


class ActionItemForm(TextRulesFormMixin, forms.Form):
    title = forms.CharField(
        max_length=255,
        label=gettext_lazy("What will change"),
        help_text=gettext_lazy("One concrete change, in plain words."),
        widget=forms.TextInput(
            attrs={"placeholder": gettext_lazy("Test sign-in changes on one server first")}
        ),
    )
    description = forms.CharField(
        required=False,
        max_length=POSTMORTEM_TEXT_MAX,
        label=gettext_lazy("Details"),
        help_text=TEXT_RULE,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=ActionItem.Status.choices,
        initial=ActionItem.Status.PLANNED,
    )
    due_date = DisplayDateField(required=False, label=gettext_lazy("Due"))


class ActionItemStatusForm(TextRulesFormMixin, forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=ActionItem.Status.choices)


class MoveActionItemForm(TextRulesFormMixin, forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])


class ConfirmForm(TextRulesFormMixin, forms.Form):
    """No fields: the POST itself is the confirmation."""
