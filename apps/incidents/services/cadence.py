"""Update promises: when the next update of an active incident is due, and the staff reminders.

Every update of an active incident says when the next one is due. The organization's default
cadence (NotificationSettings.update_cadence_minutes, 5 minutes to 24 hours) pre-fills it; each
update can promise another time, or, while monitoring, "no further updates until resolved".
Resolving clears the promise.

Beat (apps/incidents/tasks.py) reminds the incident's responders shortly before the promised
time (settings.UPDATE_REMINDER_LEAD_MINUTES) and once more when it has passed. Each reminder is
claimed once per due time with a conditional UPDATE (`claim_reminder`), so two overlapping beat
runs never both send it, and a new promise (a new due time) gets its own two reminders.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from apps.notifications.services import check_update_cadence, update_cadence_minutes
from apps.organizations.models import AuditEntry, Membership, Organization
from apps.organizations.principals import System
from apps.organizations.roles import PERMISSIONS

from ..models import Incident, IncidentStatus, IncidentUpdate

if TYPE_CHECKING:
    from apps.accounts.models import User

# A promise further away than this is no promise: a week covers a long monitoring period.
MAX_PROMISE = timedelta(days=7)
MAX_PROMISE_MINUTES = int(MAX_PROMISE.total_seconds() // 60)

DUE_SOON = "due_soon"
OVERDUE = "overdue"
REMINDER_FIELDS = {DUE_SOON: "due_soon_reminded_for", OVERDUE: "overdue_reminded_for"}

NO_FURTHER_ONLY_MONITORING = gettext_noop(
    "“No further updates until resolved” is only for an incident being monitored: while you "
    "are still investigating or fixing it, promise a time for the next update."
)

# Beat acts as this principal in the audit log.
REMINDER = System("update reminders")


def default_next_update(organization: Organization, now: datetime) -> datetime:
    """The next update's due time when staff say nothing else: now + the default cadence."""
    return now + timedelta(minutes=update_cadence_minutes(organization))


def _local(when: datetime, organization: Organization) -> str:
    local = when.astimezone(organization.tzinfo)
    return f"{local:%b} {local.day}, {local:%H:%M} {local.tzname()}"


def check_promise(
    organization: Organization,
    *,
    status: str,
    next_update_due: datetime | None,
    no_further_updates: bool,
    now: datetime,
) -> tuple[datetime | None, bool]:
    """The promise an update of `status` makes, checked: (due time, no further updates).

    A resolved incident promises nothing. A due time must be in the future and within a week;
    "no further updates" is for monitoring only, and not together with a time. An empty
    promise (None, False) is accepted: automated callers (alerts) promise nothing.
    """
    if status == IncidentStatus.RESOLVED:
        return None, False
    if no_further_updates:
        if status != IncidentStatus.MONITORING:
            raise ValidationError(_(NO_FURTHER_ONLY_MONITORING), code="no_further_not_monitoring")
        if next_update_due is not None:
            raise ValidationError(
                _(
                    "Either promise a time for the next update or say there will be no further "
                    "updates until it is resolved, not both."
                ),
                code="promise_conflict",
            )
        return None, True
    if next_update_due is None:
        return None, False
    if next_update_due <= now:
        raise ValidationError(
            _("The next update time (%(time)s) has already passed. Choose a time in the future.")
            % {"time": _local(next_update_due, organization)},
            code="next_update_past",
        )
    if next_update_due > now + MAX_PROMISE:
        raise ValidationError(
            _(
                "The next update time (%(time)s) is more than %(days)s days away. "
                "Promise one within a week."
            )
            % {"time": _local(next_update_due, organization), "days": MAX_PROMISE.days},
            code="next_update_too_far",
        )
    return next_update_due, False


def promise_from(
    organization: Organization,
    *,
    now: datetime,
    minutes: int | None = None,
    at: datetime | None = None,
    no_further_updates: bool = False,
) -> datetime | None:
    """Turn what staff gave (minutes from now, a time, or "no further updates") into the due
    time to pass to the services; nothing given means the organization's default cadence."""
    given = [name for name, value in (("minutes", minutes), ("time", at)) if value is not None]
    if len(given) > 1:
        raise ValidationError(
            _("Give the next update either in minutes or as a time, not both."),
            code="minutes_and_time",
        )
    if no_further_updates:
        if given:
            raise ValidationError(
                _(
                    "Either promise a time for the next update or say there will be no further "
                    "updates until it is resolved, not both."
                ),
                code="promise_conflict",
            )
        return None
    if minutes is not None:
        if not 1 <= minutes <= MAX_PROMISE_MINUTES:
            raise ValidationError(
                _(
                    "The next update must be due in 1 to %(max)s minutes (a week); "
                    "%(minutes)s minutes cannot be promised."
                )
                % {"max": MAX_PROMISE_MINUTES, "minutes": minutes},
                code="next_update_minutes",
            )
        return now + timedelta(minutes=minutes)
    if at is not None:
        return at
    return default_next_update(organization, now)


# --- reminders -------------------------------------------------------------------------------


def incidents_to_remind(now: datetime, lead: timedelta) -> dict[str, list[Incident]]:
    """Unresolved incidents whose promised update is due within `lead` (not yet reminded for
    that time) and those whose promised time has passed (not yet reminded for it)."""
    unresolved = Incident.objects.unresolved().filter(next_update_due__isnull=False)
    due_soon = unresolved.filter(next_update_due__gt=now, next_update_due__lte=now + lead).exclude(
        due_soon_reminded_for=F("next_update_due")
    )
    overdue = unresolved.filter(next_update_due__lte=now).exclude(
        overdue_reminded_for=F("next_update_due")
    )
    return {
        DUE_SOON: list(due_soon.select_related("organization")),
        OVERDUE: list(overdue.select_related("organization")),
    }


def claim_reminder(incident: Incident, *, kind: str, due: datetime) -> bool:
    """Mark the `kind` reminder for this due time as sent; False when it was already (another
    beat run) or the promise changed since it was read (a new update was posted)."""
    field = REMINDER_FIELDS[kind]
    claimed = (
        Incident.objects.unresolved()
        .filter(pk=incident.pk, next_update_due=due)
        .filter(Q(**{f"{field}__isnull": True}) | ~Q(**{field: due}))
        .update(**{field: due})
    )
    if claimed != 1:
        return False
    setattr(incident, field, due)
    AuditEntry.record(
        incident.organization,
        actor=REMINDER,
        action="incident.update_reminder",
        target=incident,
        data={"reminder": kind, "due": due.isoformat()},
    )
    return True


def responders(incident: Incident) -> tuple[list[User], bool]:
    """Who is reminded, and whether they are the incident's own people: the members who opened
    the incident or posted its updates and can still post (editors and up), True; when none can
    (an API key or an alert opened it and nobody has posted since), every editor, admin and
    owner of the organization, False."""
    editors = Membership.objects.for_org(incident.organization).filter(
        role__in=PERMISSIONS["incidents.edit"]
    )
    posted = set(
        IncidentUpdate.objects.filter(incident=incident, created_by__isnull=False).values_list(
            "created_by", flat=True
        )
    )
    if incident.created_by_id:
        posted.add(incident.created_by_id)
    chosen = editors.filter(user_id__in=posted, user__is_active=True)
    own = chosen.exists()
    if not own:
        chosen = editors.filter(user__is_active=True)
    users = [m.user for m in chosen.select_related("user").order_by("user__email")]
    return users, own


def reminder_due_text(incident: Incident, *, kind: str, now: datetime | None = None) -> str:
    """One line saying what is due, in the organization's time zone."""
    now = now or timezone.now()
    due = incident.next_update_due
    if due is None:
        return _("No update is promised.")
    when = _local(due, incident.organization)
    if kind == OVERDUE:
        return _("The update you promised for %(time)s is overdue.") % {"time": when}
    minutes = max(1, round((due - now).total_seconds() / 60))
    return ngettext(
        "The next update is due by %(time)s (in %(minutes)s minute).",
        "The next update is due by %(time)s (in %(minutes)s minutes).",
        minutes,
    ) % {"time": when, "minutes": minutes}


__all__ = [
    "DUE_SOON",
    "MAX_PROMISE",
    "MAX_PROMISE_MINUTES",
    "OVERDUE",
    "check_promise",
    "check_update_cadence",
    "claim_reminder",
    "default_next_update",
    "incidents_to_remind",
    "promise_from",
    "reminder_due_text",
    "responders",
]
