"""An organization's data as one JSON document (format "candor-export/1", docs/export.md).

How it is delivered: streamed (StreamingHttpResponse over `export_chunks`), not written to a file
by a Celery task and mailed. A file would be a second copy of every subscriber address and
comment, stored somewhere, that then needs its own access control, expiry and deletion (and an
erasure request would have to reach it too); a link in a mail is one more secret. The largest
organizations we plan for (10,000 subscribers, 5,000 comments) are a few megabytes and stream in
seconds. Memory stays bounded: every section is one query read with `iterator(chunk_size=...)`
(a server-side cursor on PostgreSQL, fetchmany on SQLite) and written out in chunks of about
CHUNK_BYTES; rows are never collected in lists. The many-to-many links (an incident's
components, a subscriber's components) and an incident's updates are a second query over the
same order, merged as the rows go by (`_merge`), so the number of queries does not depend on the
number of rows either (tests/privacy/test_export.py counts them).

The document is not a snapshot: each section is read when the stream reaches it, so a row
written meanwhile may appear in one section and not another. An owner who needs a consistent
copy exports again; a backup is the tool for that.

What is left out or redacted, per field, and why:

- Organization: logo and favicon are named, not embedded. `content_version` (a cache key) is
  left out.
- Domains: `verification_token` left out (it proves control of the domain to Candor).
- API keys: `hashed_key` left out (a hash of the secret is enough to test guesses offline);
  name, `prefix` (shown in the dashboard to tell keys apart), scope and dates are kept.
- Alert integrations: `token_hash`, `bearer_token_hash` and `hmac_secret` left out; the hook's
  `token_hint` (the dashboard's few characters) is kept.
- Notification settings: `staff_slack_url` is a Slack incoming-webhook URL, i.e. a secret:
  replaced by whether it is set.
- Invitations: `nonce` left out (it is the invitation link's secret).
- Subscribers: `webhook_secret` and `manage_nonce` left out (they sign deliveries and manage
  links). Email addresses are kept: they are the organization's customers, whose data it
  controls and must be able to hand over or port. Slack URLs are secrets and become
  "https://hooks.slack.com/…"; webhook URLs keep only scheme and host (their path or query often
  carries a token), with `url_redacted: true`.
- Forum: comments carry the author's display name, whether they were staff, and the author's
  email address. The organization is the controller of its page's discussion (Candor processes
  it for the organization), its moderators already see commenters' addresses in the moderation
  queue and bans, and answering a commenter's access request ("what do you hold about me?")
  needs the address; so it is included. Comments whose author was erased have no address.
- Audit log: every row as the dashboard shows it (actor label, action, target, IP address,
  data). Rows of erased people already carry the placeholder instead of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.utils import timezone

from apps.forum.models import AffectedMark, Ban, Comment, Flag, ForumSettings, Thread
from apps.incidents.models import (
    ActionItem,
    FollowUpSettings,
    Incident,
    IncidentTemplate,
    IncidentUpdate,
    Postmortem,
)
from apps.integrations.alerts.models import AlertIntegration
from apps.integrations.models import ApiKey
from apps.notifications.models import NotificationSettings, Subscriber
from apps.organizations.models import (
    AuditEntry,
    Domain,
    Invitation,
    Membership,
    Organization,
    PageAccessToken,
)
from apps.status.models import Component, ComponentGroup

FORMAT = "candor-export/1"
#: Rows per database round trip, and bytes per chunk handed to the response.
ROWS_PER_FETCH = 500
CHUNK_BYTES = 64 * 1024

_encoder = DjangoJSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json(value: Any) -> str:
    return _encoder.encode(value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _merge(
    rows: Iterable[dict[str, Any]],
    children: Iterable[tuple[int, Any]],
    *,
    field: str,
) -> Iterator[dict[str, Any]]:
    """Attach `children` (pairs of parent pk and value, ordered by parent pk) to `rows` (ordered
    by pk, each with its "_pk") as the list rows[field]: a merge of two ordered streams, so
    neither is held in memory."""
    pending = iter(children)
    current = next(pending, None)
    for row in rows:
        values: list[Any] = []
        while current is not None and current[0] < row["_pk"]:
            current = next(pending, None)  # a child of a row outside this export: skipped
        while current is not None and current[0] == row["_pk"]:
            values.append(current[1])
            current = next(pending, None)
        row[field] = values
        yield row


def _rows(queryset: QuerySet[Any], *fields: str) -> Iterator[dict[str, Any]]:
    """The rows' `fields` as dicts, read in chunks. A field written "name=path" is read from
    `path` (a lookup across a relation) and named `name` in the document; "_pk" is the primary
    key, for _merge, removed before the row is written."""
    paths = {}
    for field in fields:
        name, _, path = field.partition("=")
        paths[name] = path or ("pk" if name == "_pk" else name)
    for values in queryset.values_list(*paths.values()).iterator(chunk_size=ROWS_PER_FETCH):
        yield dict(zip(paths, values, strict=True))


def _public(row: dict[str, Any]) -> dict[str, Any]:
    row.pop("_pk", None)
    return row


def _redacted_url(url: str, channel: str) -> tuple[str, bool]:
    if not url:
        return "", False
    parts = urlsplit(url)
    if channel == Subscriber.Channel.SLACK:
        return f"{parts.scheme}://{parts.hostname}/…", True
    origin = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return origin, origin.rstrip("/") != url.rstrip("/")


# --- sections ----------------------------------------------------------------------------------


def organization_section(organization: Organization) -> dict[str, Any]:
    notification = NotificationSettings.objects.filter(organization=organization).first()
    forum = ForumSettings.objects.for_org(organization).first()
    followups = FollowUpSettings.objects.for_org(organization).first()
    return {
        "public_id": organization.public_id,
        "name": organization.name,
        "slug": organization.slug,
        "timezone": organization.timezone,
        "default_language": organization.default_language,
        "languages": organization.offered_languages,
        "created_at": _iso(organization.created_at),
        "require_two_factor": organization.require_two_factor,
        "visibility": organization.visibility,
        "allowed_email_domains": organization.allowed_email_domains,
        "branding": {
            "logo": organization.logo.name or None,
            "favicon": organization.favicon.name or None,
            "accent_color": organization.accent_color,
            "website_url": organization.website_url,
            "support_url": organization.support_url,
            "footer_text": organization.footer_text,
            "banner_position": organization.banner_position,
            "banner_background": organization.banner_background,
            "banner_text_color": organization.banner_text_color,
        },
        "notification_settings": None
        if notification is None
        else {
            "email_component_changes": notification.email_component_changes,
            "update_cadence_minutes": notification.update_cadence_minutes,
            # SECURITY: a Slack incoming-webhook URL is a credential.
            "staff_slack_url_set": bool(notification.staff_slack_url),
        },
        "forum_settings": None
        if forum is None
        else {
            "premoderation": forum.premoderation,
            "who_may_comment": forum.who_may_comment,
            "allowed_domains": forum.allowed_domains,
            "blocked_domains": forum.blocked_domains,
            "auto_lock_days": forum.auto_lock_days,
            "flag_threshold": forum.flag_threshold,
            "affected_alert_threshold": forum.affected_alert_threshold,
        },
        "followup_settings": None
        if followups is None
        else {"postmortem_due_days": followups.postmortem_due_days},
    }


def members(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        Membership.objects.for_org(organization).order_by("id"),
        "email=user__email",
        "display_name=user__display_name",
        "role",
        "created_at",
    )


def invitations(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        Invitation.objects.for_org(organization).order_by("id"),
        "public_id",
        "email",
        "role",
        "invited_by=invited_by__email",
        "created_at",
        "sent_at",
        "accepted_at",
        "revoked_at",
    )


def domains(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        Domain.objects.filter(organization=organization).order_by("id"),
        "public_id",
        "hostname",
        "created_at",
        "verified_at",
    )


def api_keys(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        ApiKey.objects.for_org(organization).order_by("id"),
        "public_id",
        "name",
        "prefix",
        "scope",
        "created_by=created_by__email",
        "created_at",
        "last_used_at",
        "revoked_at",
    )


def page_access_tokens(organization: Organization) -> Iterator[dict[str, Any]]:
    # SECURITY: never the hash (nor, of course, the secret, which is not stored).
    return _rows(
        PageAccessToken.objects.for_org(organization).order_by("id"),
        "public_id",
        "name",
        "prefix",
        "created_by=created_by__email",
        "created_at",
        "last_used_at",
        "revoked_at",
    )


def alert_integrations(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        AlertIntegration.objects.for_org(organization).order_by("id"),
        "public_id",
        "kind",
        "name",
        "enabled",
        "token_hint",
        "component_label",
        "severity_label",
        "severity_map",
        "default_status",
        "on_firing",
        "on_resolved",
        "deliver_notifications",
        "created_at",
        "last_received_at",
    )


def component_groups(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        ComponentGroup.objects.for_org(organization).order_by("position", "id"),
        "public_id",
        "name",
        "description",
        "position",
        "created_at",
    )


def components(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        Component.objects.for_org(organization).order_by("position", "id"),
        "public_id",
        "name",
        "description",
        "group=group__public_id",
        "position",
        "status",
        "only_show_if_degraded",
        "showcase",
        "start_date",
        "created_at",
    )


def incidents(organization: Organization) -> Iterator[dict[str, Any]]:
    """Incidents and maintenances (`kind`), each with its components and its updates."""
    rows = _rows(
        Incident.objects.for_org(organization).order_by("id"),
        "_pk",
        "public_id",
        "kind",
        "name",
        "status",
        "impact",
        "created_at",
        "updated_at",
        "started_at",
        "monitoring_at",
        "resolved_at",
        "scheduled_for",
        "scheduled_until",
        "auto_start",
        "auto_complete",
        "created_by=created_by__email",
    )
    links = (
        Incident.components.through.objects.filter(incident__organization=organization)
        .order_by("incident_id", "component_id")
        .values_list("incident_id", "component__public_id")
        .iterator(chunk_size=ROWS_PER_FETCH)
    )
    updates = (
        (
            update["incident_id"],
            {
                "public_id": update["public_id"],
                "status": update["status"],
                "body": update["body"],
                "display_at": _iso(update["display_at"]),
                "created_at": _iso(update["created_at"]),
                "created_by": update["created_by"],
            },
        )
        for update in _rows(
            IncidentUpdate.objects.for_org(organization).order_by(
                "incident_id", "display_at", "id"
            ),
            "incident_id",
            "public_id",
            "status",
            "body",
            "display_at",
            "created_at",
            "created_by=created_by__email",
        )
    )
    with_components = _merge(rows, links, field="components")
    for row in _merge(with_components, updates, field="updates"):
        yield _public(row)


def postmortems(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        Postmortem.objects.for_org(organization).order_by("id"),
        "public_id",
        "incident=incident__public_id",
        "summary",
        "customer_impact",
        "acknowledgement",
        "cause",
        "resolution",
        "created_at",
        "updated_at",
        "published_at",
    )


def follow_ups(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        ActionItem.objects.for_org(organization).order_by("postmortem_id", "position", "id"),
        "public_id",
        "postmortem=postmortem__public_id",
        "title",
        "description",
        "status",
        "due_date",
        "created_at",
        "completed_at",
    )


def incident_templates(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        IncidentTemplate.objects.for_org(organization).order_by("id"),
        "public_id",
        "kind",
        "name",
        "title",
        "body",
        "status",
        "impact",
    )


def subscribers(organization: Organization) -> Iterator[dict[str, Any]]:
    """The status page's subscribers (not people's own reply mail, Subscriber.people)."""
    rows = _rows(
        Subscriber.objects.for_org(organization).order_by("id"),
        "_pk",
        "public_id",
        "channel",
        "email",
        "url",
        "confirmed_at",
        "state",
        "disabled_reason",
        "discussion_events",
        "language",
        "created_at",
    )
    links = (
        Subscriber.components.through.objects.filter(
            subscriber__organization=organization, subscriber__scope=Subscriber.Scope.PAGE
        )
        .order_by("subscriber_id", "component_id")
        .values_list("subscriber_id", "component__public_id")
        .iterator(chunk_size=ROWS_PER_FETCH)
    )
    for row in _merge(rows, links, field="components"):
        # SECURITY: Slack and webhook URLs often carry credentials (_redacted_url).
        row["url"], redacted = _redacted_url(row["url"], row["channel"])
        if redacted:
            row["url_redacted"] = True
        row["confirmed"] = row["confirmed_at"] is not None
        yield _public(row)


def threads(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        Thread.objects.for_org(organization).order_by("id"),
        "public_id",
        "incident=incident__public_id",
        "locked",
        "slow_mode_seconds",
        "created_at",
    )


def comments(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        Comment.objects.for_org(organization).order_by("id"),
        "public_id",
        "thread=thread__public_id",
        "parent=parent__public_id",
        "in_reply_to=in_reply_to__public_id",
        "author_name",
        "author_email=author__email",
        "is_staff",
        "body_source",
        "status",
        "hidden_reason",
        "deleted_by_author",
        "pinned",
        "is_answer",
        "created_at",
        "edited_at",
    )


def flags(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        Flag.objects.for_org(organization).order_by("id"),
        "comment=comment__public_id",
        "email=user__email",
        "reason",
        "message",
        "created_at",
    )


def bans(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        Ban.objects.for_org(organization).order_by("id"),
        "email=user__email",
        "display_name=user__display_name",
        "reason",
        "expires_at",
        "created_at",
    )


def affected_marks(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        AffectedMark.objects.for_org(organization).order_by("id"),
        "incident=incident__public_id",
        "component=component__public_id",
        "email=user__email",
        "created_at",
    )


def audit_log(organization: Organization) -> Iterator[dict[str, Any]]:
    return _rows(
        AuditEntry.objects.for_org(organization).order_by("created_at", "id"),
        "created_at",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "ip_address",
        "data",
    )


#: The document's list sections, in order: name -> rows. Adding a model means adding it here,
#: to docs/export.md, and to the tests' contents per model family.
SECTIONS: tuple[tuple[str, Callable[[Organization], Iterable[dict[str, Any]]]], ...] = (
    ("members", members),
    ("invitations", invitations),
    ("domains", domains),
    ("api_keys", api_keys),
    ("page_access_tokens", page_access_tokens),
    ("alert_integrations", alert_integrations),
    ("component_groups", component_groups),
    ("components", components),
    ("incidents", incidents),
    ("postmortems", postmortems),
    ("follow_ups", follow_ups),
    ("incident_templates", incident_templates),
    ("subscribers", subscribers),
    ("forum_threads", threads),
    ("forum_comments", comments),
    ("forum_flags", flags),
    ("forum_bans", bans),
    ("forum_affected_marks", affected_marks),
    ("audit_log", audit_log),
)


class ExportStream:
    """The document as an iterator of byte chunks; after it is exhausted, `size` (bytes) and
    `counts` (rows per section) say what was sent (the audit entry records them)."""

    def __init__(
        self,
        organization: Organization,
        *,
        exported_by: str,
        on_finish: Callable[[ExportStream], None] | None = None,
    ) -> None:
        self.organization = organization
        self.exported_by = exported_by
        self.on_finish = on_finish
        self.size = 0
        self.counts: dict[str, int] = {}

    def __iter__(self) -> Iterator[bytes]:
        buffer: list[str] = []
        buffered = 0
        for piece in self._pieces():
            buffer.append(piece)
            buffered += len(piece)
            if buffered >= CHUNK_BYTES:
                yield self._emit(buffer)
                buffer, buffered = [], 0
        if buffer:
            yield self._emit(buffer)
        if self.on_finish is not None:
            self.on_finish(self)

    def _emit(self, pieces: list[str]) -> bytes:
        chunk = "".join(pieces).encode()
        self.size += len(chunk)
        return chunk

    def _pieces(self) -> Iterator[str]:
        header = {
            "format": FORMAT,
            "exported_at": timezone.now(),
            "exported_by": self.exported_by,
            "organization": organization_section(self.organization),
        }
        # The header object without its closing brace; the sections follow it.
        yield _json(header)[:-1]
        for name, rows in SECTIONS:
            yield f',"{name}":['
            count = 0
            for row in rows(self.organization):
                yield ("," if count else "") + _json(row)
                count += 1
            yield "]"
            self.counts[name] = count
        yield "}\n"


def export_document(organization: Organization, *, exported_by: str) -> dict[str, Any]:
    """The whole document parsed (tests and small organizations; the view streams instead)."""
    return json.loads(b"".join(ExportStream(organization, exported_by=exported_by)))
