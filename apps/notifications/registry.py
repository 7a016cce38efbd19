"""How each kind of event renders and whom it reaches, registered by the app that emits it.

The pipeline (fan-out, channels) knows events only as a kind, a subject reference and a JSON
snapshot; it asks the kind's `Renderer` for the mail, the webhook body and the Slack text, and
for the audience. An emitting app registers its renderers when it is ready
(`apps/incidents/notifications.py`, `apps/status/notifications.py`), so a new kind of mail (a
forum reply, a workflow reminder) needs no change here.

The kinds themselves belong to the emitting apps too: each defines its kind names (e.g.
`apps.incidents.notifications.EventKind`) and registers every kind with a label
(`register(kind, renderer, label="Incident opened")`), which the dashboard's event list and
filter and the API's `kind` enum read from here (`kind_choices`, `kind_label`). The pipeline
stores a kind as a plain string.

A renderer may also be registered for a kind *within* a subject type: a component change that an
incident update made reads as that incident's message. `register(kind, renderer, within=type)`
is used for events whose snapshot says `"within": {"type": type, "id": ...}`; the kind and its
label are the app's that registered it without `within`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from .subscribers import following_components

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from .models import NotificationEvent, Subscriber


class SubjectGone(Exception):
    """Raised by a renderer when the event's subject was deleted after it was emitted (an
    incident deleted with its notifications pending): those deliveries are skipped."""


@dataclass
class Mail:
    """One event's mail, apart from the subscriber's address and links (added per message)."""

    subject: str
    # The emitting app's templates (plain text and HTML), rendered once per event.
    text_template: str
    html_template: str
    # Template context; the channel adds `subscriber`, `unsubscribe_url` and `manage_url`.
    context: dict[str, Any] = field(default_factory=dict)
    # Mail of one thread (an incident's) shares In-Reply-To/References: `<{thread}@domain>`,
    # and its Message-IDs start with the thread. None: a mail of its own.
    thread: str | None = None
    # Mail to a person (`Subscriber.Scope.PERSON`) carries the emitting app's own links instead
    # of the status page's: subscriber -> (one-click unsubscribe URL, manage URL). The
    # unsubscribe URL is List-Unsubscribe's (RFC 8058: it must accept a POST without cookies).
    links: Callable[[Subscriber], tuple[str, str]] | None = None
    # The List-Id's description (default: "<organization> status").
    list_label: str | None = None


class Renderer:
    """Subclassed by an emitting app, once per kind (or per family of kinds)."""

    def mail(self, event: NotificationEvent) -> Mail:
        raise NotImplementedError

    def webhook_body(self, event: NotificationEvent) -> dict[str, Any]:
        """The subscriber-independent webhook body (the channel adds `meta`)."""
        raise NotImplementedError

    def slack_text(self, event: NotificationEvent) -> str:
        raise NotImplementedError

    def audience(
        self, event: NotificationEvent, subscribers: QuerySet[Subscriber]
    ) -> QuerySet[Subscriber]:
        """Which of the organization's active subscribers hear of it (default: the followers
        of the components the event touches, or everyone for a page-wide event)."""
        return following_components(subscribers, event.component_ids)


_renderers: dict[tuple[str, str | None], Renderer] = {}
# kind -> its label ("Incident opened"), in the order the apps registered them (app ready order).
_labels: dict[str, str] = {}


def register(kind: str, renderer: Renderer, *, label: str = "", within: str | None = None) -> None:
    """Make `renderer` render events of `kind` (within a subject of type `within`, if given).

    Registering a kind (without `within`) defines it: `label` is how staff read it."""
    key = (kind, within)
    if key in _renderers and _renderers[key] is not renderer:
        raise ValueError(f"A renderer is already registered for {kind!r} within {within!r}.")
    if within is None:
        if not label:
            raise ValueError(f"Give the kind {kind!r} a label (how staff read it).")
        if _labels.get(kind, label) != label:
            raise ValueError(f"The kind {kind!r} already has the label {_labels[kind]!r}.")
        _labels[kind] = label
    elif label:
        raise ValueError("A kind's label is given where the kind is registered without `within`.")
    _renderers[key] = renderer


def kind_choices() -> list[tuple[str, str]]:
    """Every registered kind as (kind, label), in registration order: read when a form or
    serializer is built, not at import (the apps register at ready())."""
    return list(_labels.items())


def kind_label(kind: str) -> str:
    """The label of `kind`; the kind itself when no app registers it (any more)."""
    return _labels.get(kind, kind)


def renderer_for(event: NotificationEvent) -> Renderer:
    within = event.snapshot.get("within", {}).get("type") if event.snapshot else None
    found = _renderers.get((event.kind, within)) or _renderers.get((event.kind, None))
    if found is None:
        raise LookupError(f"No renderer is registered for events of kind {event.kind!r}.")
    return found


def format_time(value: datetime | None, tz: tzinfo) -> str:
    """A time in mail text, in the organization's timezone with the zone named, in the active
    language: `Sat 28 Nov 2026, 09:30 UTC` in English (the format subscribers have always had),
    the language's own DATETIME_FORMAT elsewhere (`28. November 2026 09:30 UTC`)."""
    if value is None:
        return ""
    local = timezone.localtime(value, tz)
    zone = local.strftime("%Z")
    if (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0] == "en":
        return local.strftime("%a %-d %b %Y, %H:%M ") + zone
    # Translators: a time in mail, then its timezone's name ("28. November 2026 09:30 CET").
    return _("%(time)s %(zone)s") % {
        "time": formats.date_format(local, "DATETIME_FORMAT"),
        "zone": zone,
    }


def one_line(text: str) -> str:
    # A newline in a header would make Django refuse it (BadHeaderError).
    return " ".join(text.split())
