"""Read a CSV of email addresses for the dashboard import and say what would happen to each row.

Accepted: one address per row (no header; only the first column is read), or a header row with
a column named `email` (also "e-mail", "email address") and optionally one named `components`,
whose cells list component names separated by `;` (empty: every component). Commas, semicolons
and tabs all work as the delimiter (spreadsheets in many locales export `;`).

`check_rows` never writes: it returns a report (valid rows, invalid rows with the reason,
duplicates within the file, addresses that already subscribe). The view imports only a file
without invalid rows, all at once, through `services.import_email_subscribers`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from .addresses import DISPOSABLE_DOMAINS
from .models import Subscriber
from .subscribers import Component

MAX_FILE_BYTES = 1024 * 1024
# Per file. Bigger lists are split into several imports, which the daily quota still bounds.
MAX_ADDRESSES = 5000
# Confirmation mails an organization may trigger by import per day: protects our sending
# reputation (and third parties' inboxes) from a purchased list.
DAILY_INVITATION_QUOTA = 20000
QUOTA_WINDOW = 24 * 3600

# "address" reads back this app's own export.
EMAIL_HEADERS = frozenset({"email", "e-mail", "email address", "e-mail address", "mail", "address"})
COMPONENT_HEADERS = frozenset({"components", "component"})
COMPONENT_SEPARATORS = re.compile(r"\s*[;|,]\s*")


class ImportFileError(Exception):
    """The file as a whole cannot be read (encoding, size, no email column)."""


@dataclass
class Row:
    line: int  # as a spreadsheet numbers it, header included
    email: str
    component_ids: list[str] = field(default_factory=list)
    component_names: list[str] = field(default_factory=list)
    reason: str = ""  # why a row is invalid, or what it duplicates
    state: str = ""  # for existing subscribers: their state in words


@dataclass
class ImportReport:
    valid: list[Row] = field(default_factory=list)
    invalid: list[Row] = field(default_factory=list)
    duplicates: list[Row] = field(default_factory=list)
    existing: list[Row] = field(default_factory=list)
    rows_read: int = 0

    @property
    def ok(self) -> bool:
        return not self.invalid

    @property
    def to_invite(self) -> list[tuple[str, list[str]]]:
        return [(row.email, row.component_ids) for row in self.valid]


def read_rows(data: bytes) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every non-empty row."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(
            _("The file is larger than %(megabytes)s MB.")
            % {"megabytes": MAX_FILE_BYTES // 1024 // 1024}
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.")
        ) from exc
    if "\x00" in text:
        raise ImportFileError(_("This looks like a binary file, not a CSV."))
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # a single column has no delimiter to find
    rows = []
    try:
        for index, cells in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
            cells = [cell.strip() for cell in cells]
            if any(cells):
                rows.append((index, cells))
    except csv.Error as exc:
        raise ImportFileError(
            # Translators: error is Python's csv module's own (English) description.
            _("The file is not a readable CSV (%(error)s).") % {"error": exc}
        ) from exc
    return rows


def _columns(first: list[str]) -> tuple[bool, int, int | None]:
    """(has header, email column, components column) from the first row."""
    names = [cell.lower() for cell in first]
    email_column = next((i for i, name in enumerate(names) if name in EMAIL_HEADERS), None)
    if email_column is not None:
        components = next((i for i, name in enumerate(names) if name in COMPONENT_HEADERS), None)
        return True, email_column, components
    if not any("@" in cell for cell in first):
        raise ImportFileError(
            _(
                "No column named “email”, and the first row holds no address. Put one address "
                "per row, or name the column of addresses “email”."
            )
        )
    # No header: addresses in the first column. Other columns are ignored: without a header, a
    # second column is as likely a name as a component list.
    return False, 0, None


def _component_lookup(organization) -> dict[str, Component]:
    """Lower-cased names (and `Group - Name` display names) → component."""
    lookup: dict[str, Component] = {}
    components = Component.objects.for_org(organization).select_related("group")
    for component in components:
        lookup.setdefault(component.name.strip().lower(), component)
        lookup[component.display_name.strip().lower()] = component
    return lookup


def _parse_components(cell: str, lookup: dict[str, Component]) -> list[Component]:
    if not cell:
        return []
    if cell.lower() in lookup:  # a name that itself contains a separator
        return [lookup[cell.lower()]]
    found, unknown = [], []
    for name in COMPONENT_SEPARATORS.split(cell):
        if not name:
            continue
        component = lookup.get(name.lower())
        if component is None:
            unknown.append(name)
        elif component not in found:
            found.append(component)
    if unknown:
        raise ValidationError(
            # Translators: names is a list of quoted component names: “API”, “Web”.
            ngettext("Unknown component %(names)s", "Unknown components %(names)s", len(unknown))
            % {"names": ", ".join(f"“{name}”" for name in unknown)}
        )
    return found


def _email_problem(address: str) -> str:
    if not address:
        return _("No address.")
    if len(address) > 254:
        return _("Longer than 254 characters.")
    try:
        validate_email(address)
    except ValidationError:
        return _("Not an email address.")
    if address.rsplit("@", 1)[-1] in DISPOSABLE_DOMAINS:
        return _("A disposable address.")
    return ""


def _state_words(subscriber: Subscriber) -> str:
    if subscriber.state == Subscriber.State.DISABLED:
        # Translators: reason is stored text, in English (why the subscriber was disabled).
        return _("Disabled: %(reason)s") % {
            "reason": subscriber.disabled_reason or _("no reason given")
        }
    if subscriber.confirmed_at is None:
        return pgettext("subscriber state", "Pending confirmation")
    return pgettext("subscriber state", "Active")


def check_rows(organization, data: bytes) -> ImportReport:
    """Validate every row of the file against the organization. Writes nothing."""
    rows = read_rows(data)
    if not rows:
        raise ImportFileError(_("The file is empty."))
    has_header, email_column, components_column = _columns(rows[0][1])
    if has_header:
        rows = rows[1:]
    if len(rows) > MAX_ADDRESSES:
        raise ImportFileError(
            _(
                "The file has %(rows)s rows; one import takes at most %(max)s addresses. "
                "Split it into several files."
            )
            % {"rows": f"{len(rows):,}", "max": f"{MAX_ADDRESSES:,}"}
        )
    report = ImportReport(rows_read=len(rows))
    lookup = _component_lookup(organization)
    first_line: dict[str, int] = {}
    parsed: list[Row] = []
    for line, cells in rows:
        address = cells[email_column].lower() if email_column < len(cells) else ""
        row = Row(line=line, email=address)
        problem = _email_problem(address)
        components_cell = ""
        if components_column is not None and components_column < len(cells):
            components_cell = cells[components_column]
        try:
            components = _parse_components(components_cell, lookup)
        except ValidationError as exc:
            problem = " ".join(filter(None, [problem, exc.messages[0] + "."]))
            components = []
        row.component_ids = [component.public_id for component in components]
        row.component_names = [component.display_name for component in components]
        if problem:
            row.reason = problem
            report.invalid.append(row)
        elif address in first_line:
            row.reason = _("Same address as row %(line)s.") % {"line": first_line[address]}
            report.duplicates.append(row)
        else:
            first_line[address] = line
            parsed.append(row)
    # One query for every address of the file (at most MAX_ADDRESSES).
    existing = {
        subscriber.email: subscriber
        for subscriber in Subscriber.objects.for_org(organization).filter(
            channel=Subscriber.Channel.EMAIL, email__in=[row.email for row in parsed]
        )
    }
    for row in parsed:
        subscriber = existing.get(row.email)
        if subscriber is None:
            report.valid.append(row)
        else:
            # Pending: they already have a confirmation mail. Disabled: they unsubscribed (or
            # staff removed them); an import must not sign them up again.
            row.state = _state_words(subscriber)
            report.existing.append(row)
    return report


# --- quota ---------------------------------------------------------------------------------


def _quota_key(organization) -> str:
    return f"notifications:import-quota:{organization.pk}"


def quota_left(organization) -> int:
    return max(DAILY_INVITATION_QUOTA - int(cache.get(_quota_key(organization)) or 0), 0)


def use_quota(organization, count: int) -> None:
    key = _quota_key(organization)
    cache.add(key, 0, QUOTA_WINDOW)
    try:
        cache.incr(key, count)
    except ValueError:  # expired between add and incr
        cache.set(key, count, QUOTA_WINDOW)
