"""Postmortems and their action items.

A postmortem belongs to an incident (never a maintenance) and is started once the incident is
resolved, pre-filled with its measured impact (apps/incidents/postmortem_facts.py); a draft
kept from before a reopening can still be edited. Publishing needs a resolved incident and a
summary, and moves the incident to `postmortem` (Statuspage's status for it); unpublishing
moves it back to `resolved`. No update row is added to the timeline: the postmortem is shown
beside it, as on Statuspage. Every change to a published postmortem (text or action items)
bumps the public page's content version.

"We did what we promised": when the last action item of a published postmortem is done, one
event tells subscribers, once per postmortem (`promise_kept_at`, set in that transaction and
never cleared: reopening an item and finishing it again sends nothing). It is delivered when
subscribers were notified of the postmortem itself; otherwise it is kept for the record only,
like every "don't notify" change.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.locking import lock_again
from apps.organizations.models import AuditEntry, Organization
from apps.organizations.services import bump_content_version

from ..models import (
    ActionItem,
    FollowUpSettings,
    Incident,
    IncidentStatus,
    Postmortem,
)
from ..postmortem_facts import measured_impact
from ._common import (
    EventKind,
    _claim_status,
    _require_text,
    emit,
)

if TYPE_CHECKING:
    from ._common import Actor


POSTMORTEM_TEXT_MAX = 20_000
SUMMARY_EXCERPT_CHARS = 600
UNSET: object = object()


def _postmortem_incident(incident: Incident) -> Incident:
    """The incident, locked: every postmortem write of one incident runs one at a time."""
    incident = lock_again(Incident.objects, pk=incident.pk)
    if incident.is_maintenance:
        raise ValidationError(
            _("Postmortems are written for incidents, not scheduled maintenance."),
            code="wrong_kind",
        )
    return incident


def _postmortem_of(incident: Incident) -> Postmortem:
    """The incident's postmortem; every change but the first save needs one to exist."""
    postmortem = Postmortem.objects.filter(incident=incident).first()
    if postmortem is None:
        raise ValidationError(_("This incident has no postmortem yet."), code="no_postmortem")
    postmortem.incident = incident
    return postmortem


def excerpt(text: str, limit: int = SUMMARY_EXCERPT_CHARS) -> str:
    """The start of `text`, cut at a word boundary, with an ellipsis when cut."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(None, 1)[0].rstrip(" ,;:.") + "…"


def _touch_postmortem(postmortem: Postmortem, at: datetime) -> None:
    """Record a change (action items too); a published one re-renders the public page."""
    Postmortem.objects.filter(pk=postmortem.pk).update(updated_at=at)
    postmortem.updated_at = at
    if postmortem.is_published:
        bump_content_version(postmortem.organization)


@transaction.atomic
def save_postmortem(
    incident: Incident,
    *,
    actor: Actor,
    summary: str | None = None,
    customer_impact: str | None = None,
    acknowledgement: str | None = None,
    cause: str | None = None,
    resolution: str | None = None,
) -> Postmortem:
    """Create the draft, or change the given sections (None leaves a section as it is).

    A new postmortem needs a resolved incident. Its "How this affected you" starts with the
    measured impact when staff left it empty; text staff wrote is never replaced, and the
    acknowledgement ("In our own words") is only ever theirs. Editing a published postmortem
    keeps it published (readers see the new text at once, nobody is notified again) and
    records `updated_at`.
    """
    actor.require("incidents.edit", incident.organization)
    incident = _postmortem_incident(incident)
    sections = {
        "summary": summary,
        "customer_impact": customer_impact,
        "acknowledgement": acknowledgement,
        "cause": cause,
        "resolution": resolution,
    }
    given = {name: value.strip() for name, value in sections.items() if value is not None}
    for name, value in given.items():
        if len(value) > POSTMORTEM_TEXT_MAX:
            raise ValidationError(
                {
                    name: _("Keep this under %(max)s characters.")
                    % {"max": f"{POSTMORTEM_TEXT_MAX:,}"}
                },
                code="too_long",
            )
    now = timezone.now()
    postmortem = Postmortem.objects.select_for_update().filter(incident=incident).first()
    if postmortem is None:
        if incident.status not in (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM):
            raise ValidationError(
                _(
                    "Resolve the incident before starting its postmortem: what happened, and "
                    "how long it lasted, is only known once it is over."
                ),
                code="not_resolved",
            )
        # Started with an empty "How this affected you": it opens with the measured impact
        # and what customers told us on the discussion, for staff to edit. Text staff wrote
        # is kept as it is.
        if not given.get("customer_impact"):
            facts = measured_impact(incident)
            if facts:
                given["customer_impact"] = facts
        postmortem = Postmortem.objects.create(
            organization=incident.organization,
            incident=incident,
            created_at=now,
            updated_at=now,
            created_by=actor.audit_user,
            **given,
        )
        AuditEntry.record(
            incident.organization, actor=actor, action="postmortem.create", target=incident
        )
        return postmortem
    postmortem.incident = incident
    changed = [name for name, value in given.items() if getattr(postmortem, name) != value]
    if not changed:
        return postmortem
    for name in changed:
        setattr(postmortem, name, given[name])
    if postmortem.is_published and not postmortem.summary:
        raise ValidationError(
            {"summary": _("A published postmortem needs a summary. Unpublish it to remove it.")},
            code="required",
        )
    postmortem.updated_at = now
    postmortem.save(update_fields=[*changed, "updated_at"])
    AuditEntry.record(
        incident.organization,
        actor=actor,
        action="postmortem.edit",
        target=incident,
        data={"changed": changed, "published": postmortem.is_published},
    )
    if postmortem.is_published:
        bump_content_version(incident.organization)
    return postmortem


@transaction.atomic
def publish_postmortem(
    incident: Incident, *, actor: Actor, notify_subscribers: bool = False
) -> Postmortem:
    """Publish: the incident's status becomes `postmortem`; subscribers hear of it only when
    staff ask (otherwise the outbox event is kept for the record and never delivered, as for
    every "don't notify" change)."""
    actor.require("incidents.edit", incident.organization)
    incident = _postmortem_incident(incident)
    postmortem = _postmortem_of(incident)
    if postmortem.is_published:
        raise ValidationError(_("This postmortem is already published."), code="published")
    if incident.status != IncidentStatus.RESOLVED:
        raise ValidationError(
            _("Resolve the incident before publishing its postmortem."), code="not_resolved"
        )
    if not postmortem.summary.strip():
        raise ValidationError(
            {"summary": _("Write the summary (what happened, in plain words) before publishing.")},
            code="required",
        )
    now = timezone.now()
    postmortem.published_at = now
    postmortem.published_by = actor.audit_user
    postmortem.notified_subscribers = notify_subscribers
    postmortem.save(update_fields=["published_at", "published_by", "notified_subscribers"])
    _claim_status(incident, IncidentStatus.POSTMORTEM, now)
    AuditEntry.record(
        incident.organization,
        actor=actor,
        action="postmortem.publish",
        target=incident,
        data={"notify_subscribers": notify_subscribers},
    )
    emit(
        EventKind.POSTMORTEM_PUBLISHED,
        incident,
        deliver=notify_subscribers,
        data={"postmortem": postmortem.public_id, "summary": excerpt(postmortem.summary)},
    )
    bump_content_version(incident.organization)
    return postmortem


@transaction.atomic
def unpublish_postmortem(incident: Incident, *, actor: Actor) -> Postmortem:
    """Take the postmortem off the page (kept as a draft); the incident is `resolved` again."""
    actor.require("incidents.edit", incident.organization)
    incident = _postmortem_incident(incident)
    postmortem = _postmortem_of(incident)
    if not postmortem.is_published:
        raise ValidationError(_("This postmortem is not published."), code="not_published")
    now = timezone.now()
    postmortem.published_at = None
    postmortem.save(update_fields=["published_at"])
    if incident.status == IncidentStatus.POSTMORTEM:
        _claim_status(incident, IncidentStatus.RESOLVED, now)
    AuditEntry.record(
        incident.organization, actor=actor, action="postmortem.unpublish", target=incident
    )
    bump_content_version(incident.organization)
    return postmortem


@transaction.atomic
def delete_postmortem(incident: Incident, *, actor: Actor) -> None:
    """Delete a draft and its action items. A published postmortem must be unpublished first,
    so public text never disappears by one click."""
    actor.require("incidents.edit", incident.organization)
    incident = _postmortem_incident(incident)
    postmortem = _postmortem_of(incident)
    if postmortem.is_published:
        raise ValidationError(_("Unpublish the postmortem before deleting it."), code="published")
    AuditEntry.record(
        incident.organization,
        actor=actor,
        action="postmortem.delete",
        target=incident,
        data={"action_items": postmortem.action_items.count()},
    )
    postmortem.delete()


def _locked_postmortem(postmortem: Postmortem) -> Postmortem:
    """The postmortem with its incident locked; refused when it was deleted and written
    again meanwhile (the caller's copy is then another row)."""
    incident = _postmortem_incident(postmortem.incident)
    locked = _postmortem_of(incident)
    if locked.pk != postmortem.pk:
        raise ValidationError(_("This postmortem was replaced a moment ago."), code="conflict")
    return locked


def _check_action_item(title: str | None, status: str | None, description: str | None) -> None:
    """An action item's field limits, checked before anything is written."""
    if title is not None and len(title.strip()) > 255:
        raise ValidationError({"title": _("Keep the title under 255 characters.")})
    if status is not None and status not in ActionItem.Status.values:
        raise ValidationError(
            {
                "status": _(
                    "“%(status)s” is not an action item status: use planned, in_progress or done."
                )
                % {"status": status}
            }
        )
    if description is not None and len(description) > POSTMORTEM_TEXT_MAX:
        raise ValidationError({"description": _("This description is too long.")})


def _renumber(postmortem: Postmortem, ordered: list[ActionItem]) -> None:
    """Positions 1..n in the given order, writing only the rows that moved."""
    for position, item in enumerate(ordered, start=1):
        if item.position != position:
            item.position = position
            ActionItem.objects.filter(pk=item.pk).update(position=position)


@transaction.atomic
def add_action_item(
    postmortem: Postmortem,
    *,
    actor: Actor,
    title: str,
    description: str = "",
    status: str = ActionItem.Status.PLANNED,
    due_date: date | None = None,
) -> ActionItem:
    """Add an action item at the end of the list; one created as done records
    completed_at."""
    actor.require("incidents.edit", postmortem.organization)
    postmortem = _locked_postmortem(postmortem)
    _check_action_item(title, status, description)
    title = _require_text(title, "action item title")
    now = timezone.now()
    last = postmortem.action_items.order_by("-position").values_list("position", flat=True)
    item = ActionItem.objects.create(
        organization=postmortem.organization,
        postmortem=postmortem,
        title=title,
        description=(description or "").strip(),
        status=status,
        due_date=due_date,
        position=(last.first() or 0) + 1,
        created_at=now,
        updated_at=now,
        completed_at=now if status == ActionItem.Status.DONE else None,
        status_changed_at=now,
    )
    AuditEntry.record(
        postmortem.organization,
        actor=actor,
        action="postmortem.action_item.add",
        target=postmortem.incident,
        data={"action_item": item.public_id, "title": item.title},
    )
    _touch_postmortem(postmortem, now)
    return item


@transaction.atomic
def update_action_item(
    item: ActionItem,
    *,
    actor: Actor,
    title: str | None = None,
    description: str | None = None,
    status: str | None = None,
    due_date: date | object | None = UNSET,
) -> ActionItem:
    """Change the given fields; moving to done records completed_at, leaving done clears it."""
    actor.require("incidents.edit", item.organization)
    postmortem = _locked_postmortem(item.postmortem)
    item = lock_again(ActionItem.objects, pk=item.pk)
    _check_action_item(title, status, description)
    changes: dict[str, object] = {}
    if title is not None:
        changes["title"] = _require_text(title, "action item title")
    if description is not None:
        changes["description"] = description.strip()
    if status is not None:
        changes["status"] = status
    if due_date is not UNSET:
        changes["due_date"] = due_date
    changed = [name for name, value in changes.items() if getattr(item, name) != value]
    if not changed:
        return item
    now = timezone.now()
    for name in changed:
        setattr(item, name, changes[name])
    if "status" in changed:
        item.completed_at = now if item.status == ActionItem.Status.DONE else None
        item.status_changed_at = now
        changed += ["completed_at", "status_changed_at"]
    item.updated_at = now
    item.save(update_fields=[*changed, "updated_at"])
    AuditEntry.record(
        postmortem.organization,
        actor=actor,
        action="postmortem.action_item.edit",
        target=postmortem.incident,
        data={"action_item": item.public_id, "changed": changed},
    )
    _touch_postmortem(postmortem, now)
    if "status" in changed and item.status == ActionItem.Status.DONE:
        _keep_promise(postmortem, actor=actor, at=now)
    return item


def _keep_promise(postmortem: Postmortem, *, actor: Actor, at: datetime) -> None:
    """Tell subscribers "we did what we promised" when the item just done was the last one
    of a published postmortem; once per postmortem. Runs under the incident's lock (every
    action item write takes it), so two last items done at once emit one event."""
    if not postmortem.is_published or postmortem.promise_kept_at is not None:
        return
    statuses = list(postmortem.action_items.values_list("status", flat=True))
    if not statuses or any(status != ActionItem.Status.DONE for status in statuses):
        return
    # Claimed with a conditional UPDATE as well: a second transaction that read the row
    # before this one committed finds it already set and sends nothing.
    claimed = Postmortem.objects.filter(pk=postmortem.pk, promise_kept_at__isnull=True).update(
        promise_kept_at=at
    )
    if claimed != 1:
        return
    postmortem.promise_kept_at = at
    AuditEntry.record(
        postmortem.organization,
        actor=actor,
        action="postmortem.promise_kept",
        target=postmortem.incident,
        data={"action_items": len(statuses), "notify_subscribers": postmortem.notified_subscribers},
    )
    emit(
        EventKind.PROMISE_KEPT,
        postmortem.incident,
        deliver=postmortem.notified_subscribers,
        data={"postmortem": postmortem.public_id, "action_items": len(statuses)},
    )


# --- follow-ups -----------------------------------------------------------------------------


@transaction.atomic
def set_postmortem_due_days(
    organization: Organization, *, actor: Actor, days: int
) -> FollowUpSettings:
    """After how many days a resolved incident without a published postmortem is listed as a
    follow-up on the incidents page (1 to 60)."""
    actor.require("org.change_settings", organization)
    limit = FollowUpSettings.MAX_POSTMORTEM_DUE_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= limit:
        raise ValidationError(
            {
                "postmortem_due_days": _("Choose a number of days from 1 to %(max)s.")
                % {"max": limit}
            },
            code="out_of_range",
        )
    settings, _created = FollowUpSettings.objects.select_for_update().get_or_create(
        organization=organization
    )
    if settings.postmortem_due_days == days:
        return settings
    before = settings.postmortem_due_days
    settings.postmortem_due_days = days
    settings.updated_at = timezone.now()
    settings.save(update_fields=["postmortem_due_days", "updated_at"])
    AuditEntry.record(
        organization,
        actor=actor,
        action="incidents.follow_ups.edit",
        data={"postmortem_due_days": [before, days]},
    )
    return settings


@transaction.atomic
def move_action_item(item: ActionItem, *, actor: Actor, position: int) -> ActionItem:
    """Put the item at `position` (1 = first; past the end = last); the others shift."""
    actor.require("incidents.edit", item.organization)
    postmortem = _locked_postmortem(item.postmortem)
    items = list(postmortem.action_items.select_for_update().order_by("position", "id"))
    current = next((i for i in items if i.pk == item.pk), None)
    if current is None:
        raise ValidationError(_("This action item was deleted a moment ago."), code="conflict")
    if position < 1:
        raise ValidationError({"position": _("Positions start at 1.")})
    items.remove(current)
    items.insert(min(position, len(items) + 1) - 1, current)
    _renumber(postmortem, items)
    AuditEntry.record(
        postmortem.organization,
        actor=actor,
        action="postmortem.action_item.move",
        target=postmortem.incident,
        data={"action_item": current.public_id, "position": current.position},
    )
    _touch_postmortem(postmortem, timezone.now())
    return current


@transaction.atomic
def reorder_action_items(
    postmortem: Postmortem, *, actor: Actor, item_ids: list[str]
) -> list[ActionItem]:
    """Set the whole order at once: `item_ids` lists every item's public id, first to last."""
    actor.require("incidents.edit", postmortem.organization)
    postmortem = _locked_postmortem(postmortem)
    items = {i.public_id: i for i in postmortem.action_items.select_for_update()}
    if len(item_ids) != len(set(item_ids)) or set(item_ids) != set(items):
        raise ValidationError(
            _("List every action item of this postmortem exactly once."), code="invalid_order"
        )
    ordered = [items[public_id] for public_id in item_ids]
    _renumber(postmortem, ordered)
    AuditEntry.record(
        postmortem.organization,
        actor=actor,
        action="postmortem.action_item.reorder",
        target=postmortem.incident,
    )
    _touch_postmortem(postmortem, timezone.now())
    return ordered


@transaction.atomic
def delete_action_item(item: ActionItem, *, actor: Actor) -> None:
    """Delete an action item; the others close the gap so positions stay 1..n."""
    actor.require("incidents.edit", item.organization)
    postmortem = _locked_postmortem(item.postmortem)
    AuditEntry.record(
        postmortem.organization,
        actor=actor,
        action="postmortem.action_item.delete",
        target=postmortem.incident,
        data={"action_item": item.public_id, "title": item.title},
    )
    ActionItem.objects.filter(pk=item.pk).delete()
    _renumber(postmortem, list(postmortem.action_items.order_by("position", "id")))
    _touch_postmortem(postmortem, timezone.now())
