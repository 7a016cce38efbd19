"""Every write for inbound alert integrations: their settings, and what a notification does.

What a notification does (receive_notification), per alert group (Alertmanager's groupKey):

- Each alert is matched to components by one label (default `component`; its value is a
  component's public id, its name or its "Group - Name", case-insensitive; several may be given
  separated by commas). Its severity label picks the component status (severity_map, then
  default_status). Alerts that match no component are ignored and the log says why.
- Deduplication: the group's AlertGroupState remembers, per fingerprint, whether it is firing
  and since when. An alert already known in the same state changes nothing, so Alertmanager's
  repeat notifications and the duplicate sends of an HA pair are harmless.
- New firing alerts open an incident (or, per setting, a draft that staff publish from the
  dashboard); firing alerts later in the same group add their components to it (post_update).
  An alert that resolves while others still fire gives its components back (operational)
  unless another firing alert still needs them. When every alert of the group is resolved, the
  incident moves to monitoring or is resolved, per setting.
- Coalescing (below, before _change_open_incident): a call that changes nothing a reader can
  see posts nothing, and an incident gets at most one alert-driven update per window
  (update_window_minutes); changes inside the window are folded into one update at its end.
- What the public sees: the incident name is the alert's `summary` annotation (or alertname);
  the update texts are written here and name only components. Alert descriptions and labels may
  hold internal details (hosts, queries), so they are never published.

The work runs inside the request, in one transaction: it is a few rows, the caller gets an
honest answer, and when the database is down the hook answers 503 so the sender retries. The
notification fan-out itself is already asynchronous (outbox rows, enqueued on commit).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.locking import lock_again
from apps.incidents import services as incident_services
from apps.incidents.models import UNRESOLVED_INCIDENT, Incident, IncidentStatus, IncidentUpdate
from apps.organizations.models import AuditEntry, Organization
from apps.organizations.principals import System
from apps.status.models import SEVERITY, Component, ComponentStatus

from .models import (
    HOOK_TOKEN_HINT_LENGTH,
    MAX_UPDATE_WINDOW_MINUTES,
    AlertEvent,
    AlertGroupState,
    AlertIntegration,
    generate_token,
    hash_token,
)
from .payloads import Alert, Notification

if TYPE_CHECKING:
    from apps.organizations.principals import Principal as Actor

ACTOR = "alert integration"


def integration_principal(integration: AlertIntegration) -> System:
    """Who acts when an integration's alerts open, update and resolve incidents: the system,
    named for the integration in the audit log (an admin set it up; nobody clicked)."""
    return System(f"{ACTOR} “{integration.name}”", integration.organization)


EVENT_RETENTION = timedelta(days=30)
PAYLOAD_EXCERPT_CHARS = 4000
# Real setups map a handful of severities; the cap keeps a settings row (read on every alert)
# small whatever a client sends.
MAX_SEVERITY_MAP_ENTRIES = 50
SETTINGS_FIELDS = frozenset(
    {
        "name",
        "enabled",
        "component_label",
        "severity_label",
        "severity_map",
        "default_status",
        "on_firing",
        "on_resolved",
        "deliver_notifications",
        "update_window_minutes",
        "signature_header",
        "timestamp_header",
    }
)


# --- settings ------------------------------------------------------------------------------


def _clean_settings(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - SETTINGS_FIELDS - {"hmac_secret", "bearer_token"}
    if unknown:
        raise TypeError(f"unexpected integration fields {sorted(unknown)}")
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if not fields["name"]:
            raise ValidationError({"name": _("Give the integration a name.")}, code="required")
    for key in ("component_label", "severity_label", "signature_header"):
        if key in fields:
            fields[key] = (fields[key] or "").strip()
            if not fields[key]:
                raise ValidationError({key: _("This cannot be empty.")}, code="required")
    if "timestamp_header" in fields:
        fields["timestamp_header"] = (fields["timestamp_header"] or "").strip()
    if "severity_map" in fields:
        mapping = fields["severity_map"] or {}
        if not isinstance(mapping, dict):
            raise ValidationError({"severity_map": _("Give an object of severity → status.")})
        if len(mapping) > MAX_SEVERITY_MAP_ENTRIES:
            raise ValidationError(
                {
                    "severity_map": _("Give at most %(max)s severities (got %(count)s).")
                    % {"max": MAX_SEVERITY_MAP_ENTRIES, "count": len(mapping)}
                },
                code="too_many",
            )
        allowed = set(ComponentStatus.values) - {ComponentStatus.OPERATIONAL}
        cleaned = {}
        for severity, status in mapping.items():
            if status not in allowed:
                raise ValidationError(
                    {
                        "severity_map": _(
                            "“%(status)s” (for %(severity)s) is not an outage status; "
                            "use one of %(allowed)s."
                        )
                        % {
                            "status": status,
                            "severity": severity,
                            "allowed": ", ".join(sorted(allowed)),
                        }
                    },
                    code="invalid_status",
                )
            cleaned[str(severity).strip().lower()] = status
        fields["severity_map"] = cleaned
    if "update_window_minutes" in fields:
        minutes = fields["update_window_minutes"]
        if (
            isinstance(minutes, bool)
            or not isinstance(minutes, int)
            or not 0 <= minutes <= MAX_UPDATE_WINDOW_MINUTES
        ):
            raise ValidationError(
                {
                    "update_window_minutes": _("Give a whole number of minutes from 0 to %(max)s.")
                    % {"max": MAX_UPDATE_WINDOW_MINUTES}
                },
                code="invalid_window",
            )
    for key, choices in (
        ("default_status", set(ComponentStatus.values) - {ComponentStatus.OPERATIONAL}),
        ("on_firing", set(AlertIntegration.OnFiring.values)),
        ("on_resolved", set(AlertIntegration.OnResolved.values)),
    ):
        if key in fields and fields[key] not in choices:
            raise ValidationError(
                {key: _("“%(value)s” is not a valid choice.") % {"value": fields[key]}}
            )
    return fields


def _apply_secrets(integration: AlertIntegration, fields: dict[str, Any]) -> list[str]:
    """bearer_token / hmac_secret: None keeps, "" clears, a value replaces."""
    changed = []
    bearer = fields.pop("bearer_token", None)
    if bearer is not None:
        integration.bearer_token_hash = hash_token(bearer.strip()) if bearer.strip() else ""
        changed.append("bearer_token_hash")
    secret = fields.pop("hmac_secret", None)
    if secret is not None:
        integration.hmac_secret = secret.strip()
        changed.append("hmac_secret")
    return changed


@transaction.atomic
def create_alert_integration(
    organization: Organization, *, actor: Actor, kind: str, name: str, **fields: Any
) -> tuple[AlertIntegration, str]:
    """Create an integration; returns it with its URL token, which exists only in this value."""
    actor.require("api_keys.manage", organization)
    if kind not in AlertIntegration.Kind.values:
        raise ValidationError(
            {"kind": _("“%(kind)s” is not an integration kind.") % {"kind": kind}}, code="kind"
        )
    fields = _clean_settings({"name": name, **fields})
    token = generate_token()
    integration = AlertIntegration(
        organization=organization,
        kind=kind,
        token_hash=hash_token(token),
        token_hint=token[:HOOK_TOKEN_HINT_LENGTH],
        created_by=actor.audit_user,
    )
    _apply_secrets(integration, fields)
    for key, value in fields.items():
        setattr(integration, key, value)
    integration.save()
    AuditEntry.record(
        organization,
        actor=actor,
        action="alert_integration.create",
        target=integration,
        data={"kind": kind},
    )
    return integration, token


@transaction.atomic
def update_alert_integration(
    integration: AlertIntegration, *, actor: Actor, **fields: Any
) -> AlertIntegration:
    actor.require("api_keys.manage", integration.organization)
    fields = _clean_settings(dict(fields))
    changed = _apply_secrets(integration, fields)
    for key, value in fields.items():
        if getattr(integration, key) != value:
            setattr(integration, key, value)
            changed.append(key)
    if changed:
        integration.save(update_fields=[*changed, "updated_at"])
        AuditEntry.record(
            integration.organization,
            actor=actor,
            action="alert_integration.update",
            target=integration,
            # Names of changed fields only: never the secrets themselves.
            data={"changed": sorted(changed)},
        )
    return integration


@transaction.atomic
def rotate_hook_token(integration: AlertIntegration, *, actor: Actor) -> str:
    """A new URL token; the old URL stops working at once."""
    actor.require("api_keys.manage", integration.organization)
    token = generate_token()
    integration.token_hash = hash_token(token)
    integration.token_hint = token[:HOOK_TOKEN_HINT_LENGTH]
    integration.save(update_fields=["token_hash", "token_hint", "updated_at"])
    AuditEntry.record(
        integration.organization,
        actor=actor,
        action="alert_integration.rotate",
        target=integration,
    )
    return token


@transaction.atomic
def delete_alert_integration(integration: AlertIntegration, *, actor: Actor) -> None:
    """Delete the integration and its log. Incidents it opened stay."""
    actor.require("api_keys.manage", integration.organization)
    AuditEntry.record(
        integration.organization,
        actor=actor,
        action="alert_integration.delete",
        target=integration,
    )
    integration.delete()


# --- authentication of a hook call -----------------------------------------------------------


def integration_for_token(token: str) -> AlertIntegration | None:
    # SECURITY: looked up by the token's hash, so comparison time says nothing about the token.
    if not token or len(token) > 100:
        return None
    return (
        AlertIntegration.objects.select_related("organization")
        .filter(token_hash=hash_token(token))
        .first()
    )


def bearer_ok(integration: AlertIntegration, authorization: str) -> bool:
    if not integration.bearer_token_hash:
        return True
    scheme, _sep, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return False
    # SECURITY: constant-time comparison of the hashes.
    return hmac.compare_digest(hash_token(credentials.strip()), integration.bearer_token_hash)


def signature_problem(
    integration: AlertIntegration, body: bytes, headers: Mapping[str, str], *, now: float
) -> str | None:
    """Grafana HMAC check; None when fine (or not configured), else what is wrong.

    Grafana sends hex(HMAC-SHA256(secret, body)) in the signature header (default
    X-Grafana-Alerting-Signature). With a timestamp header configured, it signs
    "<unix timestamp>:<body>" and sends the timestamp in that header; we then refuse
    timestamps more than five minutes away, so a captured request cannot be replayed later.
    """
    if integration.kind != AlertIntegration.Kind.GRAFANA or not integration.hmac_secret:
        return None
    signature = (headers.get(integration.signature_header) or "").strip().lower()
    if not signature:
        return f"Missing signature header {integration.signature_header}."
    message = body
    if integration.timestamp_header:
        stamp = (headers.get(integration.timestamp_header) or "").strip()
        try:
            sent = float(stamp)
        except ValueError:
            return f"Missing or invalid timestamp header {integration.timestamp_header}."
        if abs(now - sent) > 300:
            return "The signature timestamp is more than five minutes off."
        message = stamp.encode() + b":" + body
    expected = hmac.new(integration.hmac_secret.encode(), message, hashlib.sha256).hexdigest()
    # SECURITY: constant-time comparison.
    if not hmac.compare_digest(expected, signature):
        return "The HMAC signature does not match the body."
    return None


# --- the log -------------------------------------------------------------------------------


def excerpt(raw: bytes) -> str:
    return raw[:PAYLOAD_EXCERPT_CHARS].decode("utf-8", errors="replace")


def log_event(
    integration: AlertIntegration,
    *,
    outcome: str,
    summary: str,
    raw: bytes = b"",
    http_status: int = 200,
    group_key: str = "",
    fingerprints: list[str] | None = None,
    incident: Incident | None = None,
    update: IncidentUpdate | None = None,
    held: bool = False,
) -> AlertEvent:
    now = timezone.now()
    AlertIntegration.objects.filter(pk=integration.pk).update(last_received_at=now)
    # The log is for "why did (or didn't) this alert do something": a month is plenty, and it
    # keeps a chatty sender from growing the table without bound.
    AlertEvent.objects.filter(
        integration=integration, received_at__lt=now - EVENT_RETENTION
    ).delete()
    return AlertEvent.objects.create(
        organization=integration.organization,
        integration=integration,
        received_at=now,
        outcome=outcome,
        http_status=http_status,
        group_key=group_key[:2000],
        fingerprints=fingerprints or [],
        summary=summary,
        payload_excerpt=excerpt(raw),
        incident=incident,
        update=update,
        held=held,
    )


# --- processing ----------------------------------------------------------------------------


class _ComponentIndex:
    """The organization's components by public id, "Group - Name" and name (lower-case)."""

    def __init__(self, organization: Organization) -> None:
        self.by_key: dict[str, Component] = {}
        self.by_id: dict[str, Component] = {}
        components = Component.objects.for_org(organization).select_related("group")
        for component in components.order_by("position", "id"):
            self.by_id[component.public_id] = component
            for key in (component.public_id, component.display_name, component.name):
                self.by_key.setdefault(key.strip().lower(), component)

    def match(self, value: str) -> tuple[list[Component], list[str]]:
        found, missing = [], []
        for part in value.split(","):
            key = part.strip().lower()
            if not key:
                continue
            component = self.by_key.get(key)
            if component is None:
                missing.append(part.strip())
            elif component not in found:
                found.append(component)
        return found, missing


def lock_group_state(integration: AlertIntegration, group_key: str) -> AlertGroupState:
    key_hash = hashlib.sha256(group_key.encode()).hexdigest()
    lookup = AlertGroupState.objects.select_for_update(of=("self",)).select_related("incident")
    state = lookup.filter(integration=integration, group_key_hash=key_hash).first()
    if state is not None:
        return state
    try:
        # A savepoint: if a concurrent call created the row first, read theirs.
        with transaction.atomic():
            AlertGroupState.objects.create(
                organization=integration.organization,
                integration=integration,
                group_key=group_key,
                group_key_hash=key_hash,
                state=AlertGroupState.State.CLOSED,
            )
    except IntegrityError:
        pass
    return lookup.get(integration=integration, group_key_hash=key_hash)


def _names(components: list[Component]) -> str:
    names = [c.name for c in components]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


@dataclass
class _Result:
    """What one notification (or one window's end) did, for the log and the hook's answer."""

    summary: str
    incident: Incident | None
    changed: bool
    update: IncidentUpdate | None = None
    held: bool = False


def receive_notification(
    integration: AlertIntegration,
    notification: Notification,
    *,
    raw: bytes,
    now: datetime | None = None,
) -> AlertEvent:
    """Apply a parsed notification and log it; one transaction (see the module docstring)."""
    now = now or timezone.now()
    fingerprints = [a.fingerprint for a in notification.alerts]
    with transaction.atomic():
        if not integration.enabled:
            return log_event(
                integration,
                outcome=AlertEvent.Outcome.IGNORED,
                summary="Ignored: the integration is disabled.",
                raw=raw,
                group_key=notification.group_key,
                fingerprints=fingerprints,
            )
        state = lock_group_state(integration, notification.group_key)
        try:
            # A savepoint: if a service refuses (staff resolved the incident a moment ago, a
            # component was deleted), the group's state rolls back with it and the call is
            # logged. A retry would meet the same refusal, so the sender gets a 200.
            with transaction.atomic():
                result = _apply(integration, state, notification, now)
        except ValidationError as exc:
            state.refresh_from_db()
            result = _Result("Not applied: " + " ".join(exc.messages), state.incident, False)
        notes = "; ".join(notification.notes)
        return log_event(
            integration,
            outcome=AlertEvent.Outcome.CHANGED if result.changed else AlertEvent.Outcome.IGNORED,
            summary=result.summary + (f" ({notes})" if notes else ""),
            raw=raw,
            group_key=notification.group_key,
            fingerprints=fingerprints,
            incident=result.incident,
            update=result.update,
            held=result.held,
        )


def _cycle_over(state: AlertGroupState) -> bool:
    """The group's previous incident ended (or was deleted, or its draft dismissed)."""
    if state.state in (AlertGroupState.State.CLOSED, AlertGroupState.State.DISMISSED):
        return True
    if state.state == AlertGroupState.State.OPEN:
        return state.incident is None or state.incident.status not in UNRESOLVED_INCIDENT
    return False


def _apply(
    integration: AlertIntegration,
    state: AlertGroupState,
    notification: Notification,
    now: datetime,
) -> _Result:
    index = _ComponentIndex(integration.organization)
    problems: list[str] = []
    matched: list[tuple[Alert, dict[str, str]]] = []
    for alert in notification.alerts:
        value = alert.labels.get(integration.component_label, "")
        if not value:
            problems.append(
                f"{alert.name or alert.fingerprint}: no “{integration.component_label}” label"
            )
            continue
        components, missing = index.match(value)
        if missing:
            problems.append(
                f"{alert.name or alert.fingerprint}: no component named {', '.join(missing)}"
            )
        if components:
            status = integration.status_for_severity(alert.labels.get(integration.severity_label))
            matched.append((alert, {c.public_id: status for c in components}))

    # Alerts are remembered across episodes (that is what makes a repeat of a dismissed draft's
    # alerts change nothing); an episode whose incident ended starts from no components.
    cycle_over = _cycle_over(state)
    previous = {} if cycle_over else state.wanted_components()

    new_firing, new_resolved = [], []
    for alert, wanted in matched:
        known = state.alerts.get(alert.fingerprint)
        starts_at = alert.starts_at.isoformat() if alert.starts_at else None
        if alert.status == "firing":
            if known and known["status"] == "firing":
                continue  # a repeat
            if (
                known
                and known["status"] == "resolved"
                and starts_at is not None
                and known.get("starts_at") is not None
                and starts_at <= known["starts_at"]
            ):
                continue  # a late retry of a notification older than the resolution
            new_firing.append(alert)
        else:
            if not known or known["status"] != "firing":
                continue  # never seen firing, or already resolved
            new_resolved.append(alert)
        state.alerts[alert.fingerprint] = {
            "status": alert.status,
            "starts_at": starts_at,
            "components": wanted,
            "name": alert.name[:200],
        }

    problem_text = ("; ignored: " + "; ".join(problems)) if problems else ""
    if not notification.alerts:
        return _Result("No alerts in the notification", state.incident, False)
    if not new_firing and not new_resolved:
        if not matched and problems:
            return _Result("Ignored" + problem_text[len("; ignored") :], state.incident, False)
        text = "No change: these alerts were already applied"
        return _Result(text + problem_text, state.incident, False)

    state.updated_at = now
    after = state.wanted_components()
    components = [index.by_id[cid] for cid in after if cid in index.by_id]
    firing = bool(after)
    if cycle_over and not new_firing:
        state.save()
        text = "Recorded: no open incident or draft for this group"
        return _Result(text + problem_text, None, True)
    if cycle_over:
        state.incident = None
        state.title = notification.title or state.title
        state.post_due_at = None

    # Drafts: nothing public happens until staff publish.
    if state.state == AlertGroupState.State.PENDING or (
        cycle_over and integration.on_firing == AlertIntegration.OnFiring.DRAFT
    ):
        state.state = AlertGroupState.State.PENDING if firing else AlertGroupState.State.CLOSED
        state.save()
        if firing:
            text = f"Draft incident for {_names(components)} awaits publication"
        else:
            text = "All alerts resolved before the draft was published; draft closed"
        return _Result(text + problem_text, None, True)

    if cycle_over:
        incident = incident_services.open_incident(
            integration.organization,
            actor=integration_principal(integration),
            name=state.title or f"Problems with {_names(components)}",
            status=IncidentStatus.INVESTIGATING,
            body=f"We are investigating a problem affecting {_names(components)}.",
            components={index.by_id[cid]: status for cid, status in after.items()},
            deliver_notifications=integration.deliver_notifications,
        )
        state.incident = incident
        state.state = AlertGroupState.State.OPEN
        state.published = after
        state.last_posted_at = now
        state.save()
        text = f"Opened incident “{incident.name}”"
        return _Result(text + problem_text, incident, True, update=incident.updates.first())

    result = _change_open_incident(integration, state, index, previous, after, now)
    state.save()
    result.summary += problem_text
    return result


# --- coalescing ----------------------------------------------------------------------------
#
# A storm (a thousand alerts of one group, each with a new fingerprint; Alertmanager resending
# the group with a growing list) must not become a thousand public updates and a thousand mails
# to every subscriber. Two rules:
#
# 1. Only a change a reader can see posts anything: the group's firing alerts now want other
#    components, or other statuses, than what this group last posted (AlertGroupState.
#    published). Another alert on a component already shown down is recorded (the group's state,
#    the log) and posts nothing.
# 2. Visible changes are posted at most once per incident per window (the integration's
#    update_window_minutes, counted from the group's last public post). The first change after
#    a quiet window posts at once; changes inside the window are held (post_due_at) and folded
#    into one update when it ends: the beat sweep posts the group's state as it is then, so the
#    final state always gets posted even if no further alert arrives, and changes that cancel
#    out inside the window post nothing.
#
# Exception: when every alert of the group has resolved, the incident moves to monitoring (or
# is resolved) at once, inside the window too, and that post includes anything held. Good news
# is not held back, and flapping still posts little: an alert that fires again right after is
# held for the window that the resolution started.


def _change_open_incident(
    integration: AlertIntegration,
    state: AlertGroupState,
    index: _ComponentIndex,
    previous: dict[str, str],
    after: dict[str, str],
    now: datetime,
) -> _Result:
    """A notification changed which alerts of an open incident's group fire (they wanted
    `previous`, now `after`): post, hold or nothing (see "Coalescing" above)."""
    incident = state.incident
    assert incident is not None
    held_already = state.post_due_at is not None
    if after == state.published or (after == previous and held_already):
        if held_already and after == state.published:
            text = "No visible change: recorded; it undoes the change held since the last update"
        elif held_already:
            text = (
                "No visible change: recorded; the change held since "
                f"{_clock(state.last_posted_at)} is posted at {_clock(state.post_due_at)}"
            )
        else:
            text = f"No visible change: recorded; incident “{incident.name}” already shows it"
        return _Result(text, incident, True)
    window = timedelta(minutes=integration.update_window_minutes)
    if after and state.last_posted_at is not None and now < state.last_posted_at + window:
        state.post_due_at = state.last_posted_at + window
        text = (
            f"Coalesced: held for one update at {_clock(state.post_due_at)} (at most one "
            f"alert update per {integration.update_window_minutes} min)"
        )
        return _Result(text, incident, True, held=True)
    summary, update = _post_changes(integration, state, index, after, now)
    return _Result(summary, incident, True, update=update)


def _clock(moment: datetime | None) -> str:
    return moment.strftime("%H:%M:%S UTC") if moment else "?"


def _post_changes(
    integration: AlertIntegration,
    state: AlertGroupState,
    index: _ComponentIndex,
    after: dict[str, str],
    now: datetime,
) -> tuple[str, IncidentUpdate]:
    """Post one update taking the incident from what the group last published to `after`, and
    settle the calls held for it."""
    summary, update = _update_incident(integration, state, index, state.published, after)
    state.published = after
    state.last_posted_at = now
    state.post_due_at = None
    _settle_held(state, update)
    return summary, update


def _settle_held(
    state: AlertGroupState,
    update: IncidentUpdate | None,
    why_not: str = "no visible change when the window ended",
) -> int:
    """Say in the log what became of the calls held for the window: folded into `update`, or
    nothing posted (`why_not`: the changes cancelled out, the incident ended meanwhile)."""
    held = AlertEvent.objects.filter(
        integration_id=state.integration_id, group_key=state.group_key[:2000], held=True
    )
    if update is not None:
        note = f" → coalesced into the update of {_clock(update.created_at)}"
    else:
        note = f" → nothing posted: {why_not}"
    return held.update(held=False, update=update, summary=Concat("summary", Value(note)))


def post_due_updates(now: datetime | None = None) -> int:
    """Post every held change whose window has ended; returns how many groups were settled.

    Run by beat every few seconds (integrations.post_due_alert_updates). Safe to run twice or
    concurrently: each group is locked and its due time checked again."""
    now = now or timezone.now()
    due = AlertGroupState.objects.filter(post_due_at__lte=now).values_list("pk", flat=True)
    return sum(post_held_changes(pk, now=now) for pk in list(due))


@transaction.atomic
def post_held_changes(state_pk: int, *, now: datetime) -> bool:
    """The end of one group's window: post what its alerts want now, if readers were not shown
    it yet. False when there was nothing (left) to do."""
    state = (
        AlertGroupState.objects.select_for_update(of=("self",))
        .select_related("incident", "integration__organization")
        .filter(pk=state_pk, post_due_at__lte=now)
        .first()
    )
    if state is None:
        return False  # another run got it, or a newer post moved the window
    integration = state.integration
    state.post_due_at = None
    incident = state.incident
    after = state.wanted_components()
    why_not = None
    if (
        state.state != AlertGroupState.State.OPEN
        or incident is None
        or incident.status not in UNRESOLVED_INCIDENT
    ):
        why_not = "the incident was resolved or removed meanwhile"
    elif not integration.enabled:
        why_not = "the integration was disabled meanwhile"
    elif after == state.published:
        why_not = "no visible change when the window ended"
    if why_not is not None:
        state.save(update_fields=["post_due_at"])
        _settle_held(state, None, why_not)
        return True
    index = _ComponentIndex(integration.organization)
    try:
        with transaction.atomic():
            summary, update = _post_changes(integration, state, index, after, now)
    except ValidationError as exc:
        state.refresh_from_db()
        state.post_due_at = None
        state.save(update_fields=["post_due_at"])
        _settle_held(state, None, "refused: " + " ".join(exc.messages))
        summary, update = "Held changes not posted: " + " ".join(exc.messages), None
    else:
        state.save(update_fields=["published", "last_posted_at", "post_due_at", "state"])
    # In the log beside the calls (no call arrived: last_received_at stays), so staff see why
    # an update appeared when nothing was received.
    AlertEvent.objects.create(
        organization=integration.organization,
        integration=integration,
        received_at=now,
        outcome=AlertEvent.Outcome.CHANGED if update else AlertEvent.Outcome.IGNORED,
        group_key=state.group_key[:2000],
        summary=f"Window ended: {summary}" if update else summary,
        incident=incident,
        update=update,
    )
    return True


def _needed_elsewhere(state: AlertGroupState) -> set[str]:
    """Components that firing alerts of other open groups of the organization still need."""
    needed: set[str] = set()
    others = AlertGroupState.objects.for_org(state.organization).filter(
        state=AlertGroupState.State.OPEN
    )
    for other in others.exclude(pk=state.pk):
        needed.update(other.wanted_components())
    return needed


def _update_incident(
    integration: AlertIntegration,
    state: AlertGroupState,
    index: _ComponentIndex,
    before: dict[str, str],
    after: dict[str, str],
) -> tuple[str, IncidentUpdate]:
    """Post the update that takes the incident from `before` (what readers were shown) to
    `after` (what the group's firing alerts want)."""
    incident = state.incident
    assert incident is not None
    actor = integration_principal(integration)
    deliver = integration.deliver_notifications
    kept = _needed_elsewhere(state)
    recovered = {
        index.by_id[cid]: ComponentStatus.OPERATIONAL
        for cid in before
        if cid not in after and cid not in kept and cid in index.by_id
    }
    if not after:
        if integration.on_resolved == AlertIntegration.OnResolved.RESOLVE:
            state.state = AlertGroupState.State.CLOSED
            update = incident_services.resolve_incident(
                incident, actor=actor, components=recovered, deliver_notifications=deliver
            )
            return f"All alerts resolved: resolved incident “{incident.name}”", update
        update = incident_services.post_update(
            incident,
            actor=actor,
            status=IncidentStatus.MONITORING,
            body=incident_services.texts.default_update_text(IncidentStatus.MONITORING),
            components=recovered,
            deliver_notifications=deliver,
        )
        return f"All alerts resolved: incident “{incident.name}” moved to monitoring", update

    changes: dict[Component, str] = dict(recovered)
    for cid, status in after.items():
        if cid in index.by_id and before.get(cid) != status:
            changes[index.by_id[cid]] = status
    added = [index.by_id[cid] for cid in after if cid not in before and cid in index.by_id]
    gone = [c for c in recovered]
    worse = [
        index.by_id[cid]
        for cid, status in after.items()
        if cid in before and cid in index.by_id and SEVERITY[status] > SEVERITY[before[cid]]
    ]
    still = [index.by_id[cid] for cid in after if cid in index.by_id]
    sentences = []
    if added:
        sentences.append(f"The problem now also affects {_names(added)}.")
    if worse:
        sentences.append(f"The problem affecting {_names(worse)} got worse.")
    if gone:
        sentences.append(f"{_names(gone)} recovered.")
    if added or worse:
        sentences.append("We are investigating.")
    elif gone:
        sentences.append(f"We are still working on {_names(still)}.")
    else:
        sentences.append(f"We are still investigating the problem affecting {_names(still)}.")
    # Back from monitoring when an alert fires again; otherwise keep the status staff chose.
    status = (
        IncidentStatus.INVESTIGATING
        if incident.status == IncidentStatus.MONITORING and (added or changes)
        else incident.status
    )
    update = incident_services.post_update(
        incident,
        actor=actor,
        status=status,
        body=" ".join(sentences),
        components=changes,
        deliver_notifications=deliver,
    )
    if added:
        return f"Added {_names(added)} to incident “{incident.name}”", update
    if worse:
        return f"{_names(worse)} got worse; incident “{incident.name}” updated", update
    if gone:
        return f"{_names(gone)} recovered; incident “{incident.name}” updated", update
    return f"Updated incident “{incident.name}”", update


# --- drafts ------------------------------------------------------------------------------


@transaction.atomic
def publish_draft(state: AlertGroupState, *, actor: Actor) -> Incident:
    """Open the incident a draft describes, with the components its alerts still want."""
    actor.require("incidents.edit", state.organization)
    state = lock_again(AlertGroupState.objects.select_related("integration"), pk=state.pk)
    if state.state != AlertGroupState.State.PENDING:
        raise ValidationError(_("This draft was already published, dismissed or closed."))
    index = _ComponentIndex(state.organization)
    wanted = {
        index.by_id[cid]: s for cid, s in state.wanted_components().items() if cid in index.by_id
    }
    if not wanted:
        raise ValidationError(_("None of this draft's components exist any more."))
    incident = incident_services.open_incident(
        state.organization,
        actor=actor,
        name=state.title or f"Problems with {_names(list(wanted))}",
        status=IncidentStatus.INVESTIGATING,
        body=f"We are investigating a problem affecting {_names(list(wanted))}.",
        components=wanted,
        deliver_notifications=state.integration.deliver_notifications,
    )
    state.incident = incident
    state.state = AlertGroupState.State.OPEN
    state.updated_at = timezone.now()
    # What readers now see: later alerts are compared with it (see "Coalescing").
    state.published = {c.public_id: s for c, s in wanted.items()}
    state.last_posted_at = state.updated_at
    state.post_due_at = None
    state.save(
        update_fields=[
            "incident",
            "state",
            "updated_at",
            "published",
            "last_posted_at",
            "post_due_at",
        ]
    )
    return incident


@transaction.atomic
def dismiss_draft(state: AlertGroupState, *, actor: Actor) -> AlertGroupState:
    """Drop a draft. Later notifications of the same alerts start a new draft only once they
    fire anew (a new fingerprint, or the same alert after it resolved)."""
    actor.require("incidents.edit", state.organization)
    updated = AlertGroupState.objects.filter(
        pk=state.pk, state=AlertGroupState.State.PENDING
    ).update(state=AlertGroupState.State.DISMISSED, updated_at=timezone.now())
    if updated:
        AuditEntry.record(
            state.organization,
            actor=actor,
            action="alert_draft.dismiss",
            target=state.integration,
            data={"group": state.group_key[:200]},
        )
    state.refresh_from_db()
    return state
