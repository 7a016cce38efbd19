"""The time zones a person chooses from: current canonical IANA names, labelled with their offset.

`zoneinfo.available_timezones()` holds about 600 names, a third of them backward-compatible
aliases ("US/Pacific", "Asia/Calcutta", "Europe/Kiev") that the tz project keeps only so old
configurations still work. Python has no list of which are which, so the choices come from the
tz database's own `zone.tab`: one line per current zone and country, with the names people
recognise (Europe/Amsterdam stays even where newer tz releases merged it with a neighbour).
It ships with the system's tzdata (Debian: /usr/share/zoneinfo) and with the `tzdata` wheel;
when neither is found, every "Area/City" name is offered, as before.

Stored values are never refused by the model or the services (they accept every name zoneinfo
knows), so an organization whose zone is an alias keeps it and sees it offered until it picks
another.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path

UTC_NAME = "UTC"


def _zone_tab_text() -> str | None:
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / "zone.tab"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        return (resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return None


def parse_zone_tab(text: str) -> set[str]:
    """The zone names of a zone.tab: the third tab-separated column of each non-comment line."""
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            columns = line.split("\t")
            if len(columns) >= 3:
                names.add(columns[2].strip())
    return names


@cache
def canonical_zones() -> frozenset[str]:
    available = zoneinfo.available_timezones()
    text = _zone_tab_text()
    if text is None:
        names = {name for name in available if "/" in name}
    else:
        names = parse_zone_tab(text) & available
    return frozenset({*names, UTC_NAME})


def utc_offset(name: str, at: datetime | None = None) -> str:
    """ "UTC+01:00" for Europe/Berlin in winter; "UTC" for UTC itself."""
    moment = (at or datetime.now(UTC)).astimezone(zoneinfo.ZoneInfo(name))
    offset = moment.utcoffset()
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def zone_label(name: str, at: datetime | None = None) -> str:
    """ "America/Los Angeles (UTC-08:00)": readable, with the offset it has now."""
    if name == UTC_NAME:
        return "UTC (Coordinated Universal Time)"
    return f"{name.replace('_', ' ')} ({utc_offset(name, at)})"


def timezone_choices(
    current: str | None = None, at: datetime | None = None
) -> list[tuple[str, object]]:
    """Choices grouped by region ("Africa", "America", ...), UTC first.

    `current`, the stored value, is offered too when it is not a current canonical name (an
    old alias such as "US/Pacific"), so saving other settings keeps it valid.
    """
    zones = set(canonical_zones())
    if current and current not in zones and current in zoneinfo.available_timezones():
        zones.add(current)
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(zones - {UTC_NAME}):
        region = name.split("/", 1)[0] if "/" in name else "Other"
        groups.setdefault(region, []).append((name, zone_label(name, at)))
    return [(UTC_NAME, zone_label(UTC_NAME)), *groups.items()]


def _tzdata_zi_text() -> str | None:
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / "tzdata.zi"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        return (resources.files("tzdata") / "zoneinfo" / "tzdata.zi").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return None


@cache
def zone_aliases() -> dict[str, str]:
    """{old or link name: the offered zone it stands for}, from tzdata.zi's "L" lines.

    Browsers report some zones by names the tz project has since replaced (Chrome says
    "Asia/Calcutta" and "Europe/Kiev"); the picker uses this to preselect the current name.
    """
    text = _tzdata_zi_text()
    if text is None:
        return {}
    links = {}
    for line in text.splitlines():
        if line.startswith("L "):
            parts = line.split()
            if len(parts) == 3:
                links[parts[2]] = parts[1]
    offered = canonical_zones()
    aliases = {"Etc/UTC": UTC_NAME}
    for link in links:
        target, seen = links[link], {link}
        while target not in offered and target in links and target not in seen:
            seen.add(target)
            target = links[target]
        if target == "Etc/UTC":  # "UTC" is offered; tzdata makes it the link
            target = UTC_NAME
        if target in offered and link not in offered:
            aliases[link] = target
    return aliases
