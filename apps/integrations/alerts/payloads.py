"""Turn Alertmanager, Grafana and generic JSON bodies into one plain shape.

Parsing is lenient on purpose: monitoring systems add fields between versions, leave optional
ones out, send `null` for empty label sets, print timestamps with nanoseconds, and mark firing
alerts' end with Go's zero time. Only what we cannot work without is refused (PayloadError, a
400 naming the problem): a body that is not a JSON object, a wrong version, `alerts` that is not
a list.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apps.api.parsers import InvalidJSON, loads
from apps.core.validators import strip_control_characters

ALERTMANAGER_VERSION = "4"
GRAFANA_VERSION = "1"
GENERIC_VERSION = "1"

# Go's zero time.Time, which Alertmanager sends as the end of alerts that are still firing.
_GO_ZERO_YEAR = 1
_FRACTION = re.compile(r"\.(\d+)")


class PayloadError(ValueError):
    """The body cannot be used; the message is sent back to the caller."""


@dataclass
class Alert:
    fingerprint: str
    status: str  # "firing" or "resolved"
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "") or self.annotations.get("summary", "")


@dataclass
class Notification:
    group_key: str
    status: str
    alerts: list[Alert]
    title: str = ""
    receiver: str = ""
    truncated_alerts: int = 0
    notes: list[str] = field(default_factory=list)


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 with any number of fraction digits (Go prints nanoseconds); None for missing,
    unparseable values and Go's zero time."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("z", "Z")
    # Python reads at most microseconds: cut the fraction to six digits.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6], text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.year <= _GO_ZERO_YEAR:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _string_map(value: Any) -> dict[str, str]:
    """Labels and annotations: a JSON object of strings; null, lists and other junk count as
    empty, non-string values are turned into strings."""
    if not isinstance(value, dict):
        return {}
    return {
        str(k): v if isinstance(v, str) else json.dumps(v)
        for k, v in value.items()
        if v is not None
    }


def _fingerprint_for(labels: dict[str, str]) -> str:
    # Alertmanager before 0.19 sent no fingerprint; derive a stable one from the label set.
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _status(value: Any, *, where: str) -> str:
    text = str(value or "").strip().lower()
    if text in ("firing", "alerting", "problem", "triggered"):
        return "firing"
    if text in ("resolved", "ok", "normal", "recovered"):
        return "resolved"
    raise PayloadError(f"{where}: status must be “firing” or “resolved”, not {value!r}.")


def _alerts(raw: Any, *, fallback_status: str | None) -> list[Alert]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise PayloadError("“alerts” must be a list.")
    alerts = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise PayloadError(f"alerts[{index}] must be an object.")
        labels = _string_map(item.get("labels"))
        # Generic shortcut: "component" and "severity" next to the other fields.
        for key in ("component", "severity"):
            if isinstance(item.get(key), str) and key not in labels:
                labels[key] = item[key]
        annotations = _string_map(item.get("annotations"))
        for key in ("summary", "title", "description"):
            if isinstance(item.get(key), str) and key not in annotations:
                annotations[key] = item[key]
        status_value = item.get("status", fallback_status)
        alerts.append(
            Alert(
                fingerprint=str(item.get("fingerprint") or item.get("id") or "")
                or _fingerprint_for(labels),
                status=_status(status_value, where=f"alerts[{index}]"),
                labels=labels,
                annotations=annotations,
                starts_at=parse_time(item.get("startsAt", item.get("starts_at"))),
                ends_at=parse_time(item.get("endsAt", item.get("ends_at"))),
            )
        )
    return alerts


def _title(body: dict[str, Any], alerts: list[Alert]) -> str:
    common_annotations = _string_map(body.get("commonAnnotations"))
    common_labels = _string_map(body.get("commonLabels"))
    group_labels = _string_map(body.get("groupLabels"))
    for candidate in (
        common_annotations.get("summary"),
        common_labels.get("alertname"),
        group_labels.get("alertname"),
        *(a.name for a in alerts),
    ):
        if candidate and candidate.strip():
            return candidate.strip()[:255]
    return ""


def _int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _version(body: dict[str, Any], expected: str, what: str, *, required: bool) -> None:
    version = body.get("version")
    if version is None and not required:
        return
    if str(version) != expected:
        raise PayloadError(
            f"Unsupported {what} webhook version {version!r}: Candor reads version “{expected}”."
        )


def parse_alertmanager(body: dict[str, Any]) -> Notification:
    _version(body, ALERTMANAGER_VERSION, "Alertmanager", required=True)
    alerts = _alerts(body.get("alerts"), fallback_status=body.get("status"))
    notification = Notification(
        group_key=str(body.get("groupKey") or ""),
        status=_status(body.get("status", "firing"), where="status"),
        alerts=alerts,
        title=_title(body, alerts),
        # Receiver names arrive as written in the routing tree, sometimes regex-escaped
        # (`team\-a`); they are only displayed, never used as patterns.
        receiver=str(body.get("receiver") or ""),
        truncated_alerts=_int(body.get("truncatedAlerts")),
    )
    return _finish(notification)


def parse_grafana(body: dict[str, Any]) -> Notification:
    # Grafana unified alerting sends "version": "1"; legacy alerting sent none of these shapes.
    _version(body, GRAFANA_VERSION, "Grafana", required=True)
    alerts = _alerts(body.get("alerts"), fallback_status=body.get("status"))
    notification = Notification(
        group_key=str(body.get("groupKey") or ""),
        status=_status(body.get("status", "firing"), where="status"),
        alerts=alerts,
        title=_title(body, alerts),
        receiver=str(body.get("receiver") or ""),
        truncated_alerts=_int(body.get("truncatedAlerts")),
    )
    if body.get("orgId") is not None:
        notification.notes.append(f"Grafana organization {body.get('orgId')}")
    return _finish(notification)


def parse_generic(body: dict[str, Any]) -> Notification:
    """The generic format of docs/inbound-alerts.md: {"group_key", "title", "alerts": [...]},
    or one alert object on its own."""
    _version(body, GENERIC_VERSION, "generic", required=False)
    raw_alerts = body.get("alerts") if "alerts" in body else [body]
    alerts = _alerts(raw_alerts, fallback_status=body.get("status", "firing"))
    title = str(body.get("title") or "").strip()[:255] or _title(body, alerts)
    statuses = {a.status for a in alerts}
    notification = Notification(
        group_key=str(body.get("group_key") or body.get("groupKey") or title or "default"),
        status="firing" if "firing" in statuses else "resolved",
        alerts=alerts,
        title=title,
    )
    return _finish(notification)


def _finish(notification: Notification) -> Notification:
    # Control characters are stripped from what becomes incident text (the title, summaries and
    # descriptions, labels, the receiver), not refused as staff input is
    # (apps/core/validators.py): a monitoring system cannot fix its payload, and refusing it
    # would lose the alert. Feeds, calendars and mail cannot carry them.
    notification.title = strip_control_characters(notification.title).strip()
    notification.receiver = strip_control_characters(notification.receiver)
    for alert in notification.alerts:
        alert.labels = {k: strip_control_characters(v) for k, v in alert.labels.items()}
        alert.annotations = {k: strip_control_characters(v) for k, v in alert.annotations.items()}
    if not notification.group_key:
        # Without a group key every alert is its own group: key it by the fingerprints.
        notification.group_key = "fingerprints:" + ",".join(
            sorted(a.fingerprint for a in notification.alerts)
        )
    if notification.truncated_alerts:
        notification.notes.append(
            f"{notification.truncated_alerts} alert(s) left out by the sender (truncatedAlerts)"
        )
    return notification


PARSERS = {
    "alertmanager": parse_alertmanager,
    "grafana": parse_grafana,
    "generic": parse_generic,
}


def parse(kind: str, raw: bytes) -> Notification:
    # The management API's strict reading: a hostile body (deep nesting, NUL, lone surrogate,
    # duplicate keys, NaN) is a 400 here too, never a 500 or a 503 that senders retry forever.
    try:
        body = loads(raw)
    except InvalidJSON as exc:
        raise PayloadError(f"The body is not valid JSON: {exc.reason}") from exc
    if not isinstance(body, dict):
        raise PayloadError("The body must be a JSON object.")
    return PARSERS[kind](body)
