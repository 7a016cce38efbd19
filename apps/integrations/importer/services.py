"""Import a public status page from its status API JSON (`summary.json`, `incidents.json`).

plan_import() reads the files and the organization and says what an import would do, without
writing; import_statuspage() does it, in one transaction, through the status and incident
services. Any problem in the files (listed in the plan) means nothing is imported at all.

Decisions:
- Idempotence by source id: every group, component and incident created is remembered in
  ImportedObject (organization, kind, source id). Importing the same export again finds them
  and creates nothing. Groups and components that staff already created by hand are matched
  by name (case-insensitive; components within the same group) and adopted, not duplicated.
  Deleting an imported object deletes its mapping, so a later import creates it again.
- Past incidents (resolved or postmortem) are backfilled with their own times, updates and
  components; nobody is notified. Incidents still open on the old page are not imported (the
  plan says so): a backdated open incident would need its updates' times rewritten, and staff
  should run a live incident from Candor anyway. Import again once it is resolved there.
- Scheduled maintenances in summary.json are not imported; the plan lists them.
- New components take the status the export shows, without notifying anyone; the status of
  components that already exist is left alone (Candor's is the one that counts now).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.locking import lock_again
from apps.incidents.models import Impact, IncidentStatus
from apps.incidents.services import backfill_incident
from apps.incidents.texts import default_update_text
from apps.integrations.alerts.payloads import parse_time
from apps.organizations.models import AuditEntry, Organization
from apps.status.models import Component, ComponentGroup, ComponentStatus
from apps.status.services import create_component, create_component_group, set_component_status

from .models import ImportedObject, StagedImport

if TYPE_CHECKING:
    from apps.organizations.principals import Principal as Actor

MAX_FILE_BYTES = 5 * 1024 * 1024
NAME_MAX = 100
INCIDENT_NAME_MAX = 255
PAST_IMPACTS = {Impact.NONE, Impact.MINOR, Impact.MAJOR, Impact.CRITICAL}
UPDATE_STATUSES = {
    IncidentStatus.INVESTIGATING,
    IncidentStatus.IDENTIFIED,
    IncidentStatus.MONITORING,
    IncidentStatus.RESOLVED,
}


class ImportProblem(ValueError):
    """The files cannot be imported; `problems` lists why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class PlannedGroup:
    source_id: str
    name: str
    description: str
    position: tuple[int, int] = (10**6, 0)
    existing: ComponentGroup | None = None
    how: str = "new"  # new, imported before, same name


@dataclass
class PlannedComponent:
    source_id: str
    name: str
    description: str
    status: str
    group_source_id: str | None
    showcase: bool
    only_show_if_degraded: bool
    start_date: Any
    position: tuple[int, int]
    group_name: str = ""
    existing: Component | None = None
    how: str = "new"

    @property
    def status_label(self) -> str:
        return str(ComponentStatus(self.status).label)


@dataclass
class PlannedIncident:
    source_id: str
    name: str
    impact: str
    started_at: datetime
    resolved_at: datetime
    component_source_ids: list[str]
    updates: list[tuple[str, str, datetime]]
    imported_before: bool = False


@dataclass
class Plan:
    page_name: str = ""
    page_id: str = ""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    groups: list[PlannedGroup] = field(default_factory=list)
    components: list[PlannedComponent] = field(default_factory=list)
    incidents: list[PlannedIncident] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        return {
            "groups": sum(1 for g in self.groups if g.existing is None),
            "components": sum(1 for c in self.components if c.existing is None),
            "incidents": sum(1 for i in self.incidents if not i.imported_before),
            "updates": sum(len(i.updates) for i in self.incidents if not i.imported_before),
        }

    @property
    def has_work(self) -> bool:
        return any(self.counts().values())

    def group_name(self, source_id: str | None) -> str:
        for group in self.groups:
            if group.source_id == source_id:
                return group.name
        return ""


# --- reading files -------------------------------------------------------------------------


def read_json_file(data: bytes, what: str) -> Any:
    """Decode an uploaded file; ImportProblem naming the file when it cannot be used."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportProblem(
            [
                _("%(file)s is larger than %(megabytes)s MB.")
                % {"file": what, "megabytes": MAX_FILE_BYTES // (1024 * 1024)}
            ]
        )
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ImportProblem(
            [_("%(file)s is not valid JSON (%(error)s).") % {"file": what, "error": exc}]
        ) from exc


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _bool(value: Any, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def _position(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 10**6


# --- planning ------------------------------------------------------------------------------


def plan_import(organization: Organization, summary: Any, incidents: Any = None) -> Plan:
    """What importing these files would do. Reads the database, writes nothing."""
    plan = Plan()
    if not isinstance(summary, dict):
        plan.problems.append(_("summary.json must be a JSON object (the status API's summary)."))
        return plan
    page = summary.get("page")
    if not isinstance(page, dict):
        page = {}
    plan.page_name, plan.page_id = _text(page.get("name")), _text(page.get("id"))
    components = summary.get("components")
    if not isinstance(components, list):
        plan.problems.append(_("summary.json has no “components” list."))
        return plan
    _plan_components(organization, components, plan)
    known_incidents: dict[str, dict] = {}
    for source, what in ((summary, "summary.json"), (incidents, "incidents.json")):
        if source is None:
            continue
        if not isinstance(source, dict) or not isinstance(source.get("incidents"), list):
            plan.problems.append(_("%(file)s has no “incidents” list.") % {"file": what})
            continue
        for index, item in enumerate(source["incidents"]):
            if not isinstance(item, dict) or not _text(item.get("id")):
                plan.problems.append(
                    _("%(file)s: incidents[%(index)s] is not an incident with an id.")
                    % {"file": what, "index": index}
                )
                continue
            # incidents.json is the fuller list; it wins over summary.json's copy.
            known_incidents[item["id"]] = item | {
                "_where": _("%(file)s: incident “%(id)s”") % {"file": what, "id": item["id"]}
            }
    maintenances = summary.get("scheduled_maintenances")
    if isinstance(maintenances, list) and maintenances:
        plan.notes.append(
            _(
                "%(count)s scheduled maintenance(s) in summary.json are not imported; "
                "schedule upcoming ones in Candor."
            )
            % {"count": len(maintenances)}
        )
    _plan_incidents(organization, list(known_incidents.values()), plan)
    return plan


def _plan_components(organization: Organization, raw: list, plan: Plan) -> None:
    mapped = {
        (m.source_kind, m.source_id): m
        for m in ImportedObject.objects.for_org(organization).select_related("group", "component")
    }
    groups_by_name = {g.name.lower(): g for g in ComponentGroup.objects.for_org(organization)}
    components_by_name = {
        (c.group_id, c.name.lower()): c for c in Component.objects.for_org(organization)
    }
    seen: set[str] = set()
    group_ids = {
        item.get("id")
        for item in raw
        if isinstance(item, dict) and item.get("group") is True and isinstance(item.get("id"), str)
    }
    for index, item in enumerate(raw):
        where = _("summary.json: components[%(index)s]") % {"index": index}
        if not isinstance(item, dict):
            plan.problems.append(_("%(where)s is not an object.") % {"where": where})
            continue
        source_id, name = _text(item.get("id")), _text(item.get("name"))
        if not source_id:
            plan.problems.append(_("%(where)s has no id.") % {"where": where})
            continue
        where = _("summary.json: component “%(name)s”") % {"name": name or source_id}
        if source_id in seen:
            plan.problems.append(_("%(where)s appears twice.") % {"where": where})
            continue
        seen.add(source_id)
        if not name:
            plan.problems.append(_("%(where)s has no name.") % {"where": where})
            continue
        if len(name) > NAME_MAX:
            plan.problems.append(
                _("%(where)s: the name is longer than %(max)s characters.")
                % {"where": where, "max": NAME_MAX}
            )
            continue
        description = _text(item.get("description"))[:500]
        if item.get("group") is True:
            group = PlannedGroup(
                source_id=source_id,
                name=name,
                description=description,
                position=(_position(item.get("position")), index),
            )
            mapping = mapped.get((ImportedObject.SourceKind.GROUP, source_id))
            if mapping is not None:
                group.existing, group.how = mapping.group, _("imported before")
            elif name.lower() in groups_by_name:
                group.existing, group.how = groups_by_name[name.lower()], _("same name")
            plan.groups.append(group)
            continue
        status = item.get("status") or ComponentStatus.OPERATIONAL
        if status not in ComponentStatus.values:
            plan.problems.append(
                _("%(where)s: unknown status %(status)s.")
                % {"where": where, "status": repr(status)}
            )
            continue
        group_source_id = item.get("group_id") or None
        if group_source_id is not None and group_source_id not in group_ids:
            plan.problems.append(
                _("%(where)s belongs to group %(group)s, not in the file.")
                % {"where": where, "group": repr(group_source_id)}
            )
            continue
        start = item.get("start_date")
        start_date = None
        if isinstance(start, str) and start:
            try:
                start_date = datetime.fromisoformat(start).date()
            except ValueError:
                plan.notes.append(
                    _("%(where)s: start date %(start)s not understood; left empty.")
                    % {"where": where, "start": repr(start)}
                )
        plan.components.append(
            PlannedComponent(
                source_id=source_id,
                name=name,
                description=description,
                status=status,
                group_source_id=group_source_id,
                showcase=_bool(item.get("showcase"), True),
                only_show_if_degraded=_bool(item.get("only_show_if_degraded"), False),
                start_date=start_date,
                position=(_position(item.get("position")), index),
            )
        )
    groups = {g.source_id: g for g in plan.groups}
    for component in plan.components:
        if component.group_source_id in groups:
            component.group_name = groups[component.group_source_id].name
        mapping = mapped.get((ImportedObject.SourceKind.COMPONENT, component.source_id))
        if mapping is not None:
            component.existing, component.how = mapping.component, _("imported before")
            continue
        parent = groups.get(component.group_source_id) if component.group_source_id else None
        parent_pk: int | None = None
        if parent is not None:
            if parent.existing is None:
                continue  # a new group: its components are new too
            parent_pk = parent.existing.pk
        key = (parent_pk, component.name.lower())
        if key in components_by_name:
            component.existing, component.how = components_by_name[key], _("same name")


def _plan_incidents(organization: Organization, raw: list[dict], plan: Plan) -> None:
    imported = set(
        ImportedObject.objects.for_org(organization)
        .filter(source_kind=ImportedObject.SourceKind.INCIDENT)
        .values_list("source_id", flat=True)
    )
    component_ids = {c.source_id for c in plan.components}
    now = timezone.now()
    open_count = 0
    for item in raw:
        where = item["_where"]
        status = item.get("status")
        if status in (
            IncidentStatus.INVESTIGATING,
            IncidentStatus.IDENTIFIED,
            IncidentStatus.MONITORING,
        ):
            open_count += 1
            continue
        if status not in (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM):
            plan.problems.append(
                _("%(where)s: unknown status %(status)s.")
                % {"where": where, "status": repr(status)}
            )
            continue
        name = _text(item.get("name"))
        if not name:
            plan.problems.append(_("%(where)s has no name.") % {"where": where})
            continue
        if len(name) > INCIDENT_NAME_MAX:
            name = name[: INCIDENT_NAME_MAX - 1] + "…"
        impact = item.get("impact") or Impact.NONE
        if impact == Impact.MAINTENANCE:
            plan.notes.append(_("%(where)s is a maintenance; not imported.") % {"where": where})
            continue
        if impact not in PAST_IMPACTS:
            plan.problems.append(
                _("%(where)s: unknown impact %(impact)s.")
                % {"where": where, "impact": repr(impact)}
            )
            continue
        updates = _plan_updates(item, where, plan, now)
        if updates is None:
            continue
        components = []
        for component in item.get("components") or []:
            cid = component.get("id") if isinstance(component, dict) else None
            if cid in component_ids:
                components.append(cid)
            else:
                plan.notes.append(
                    _("%(where)s: component %(component)s is not in summary.json; left out.")
                    % {"where": where, "component": repr(cid)}
                )
        plan.incidents.append(
            PlannedIncident(
                source_id=item["id"],
                name=name,
                impact=impact,
                started_at=updates[0][2],
                resolved_at=updates[-1][2],
                component_source_ids=components,
                updates=updates,
                imported_before=item["id"] in imported,
            )
        )
    if open_count:
        plan.notes.append(
            _(
                "%(count)s incident(s) still open on the old page are not imported; import "
                "again once they are resolved there, or open them in Candor."
            )
            % {"count": open_count}
        )
    plan.incidents.sort(key=lambda i: i.started_at, reverse=True)


def _plan_updates(
    item: dict, where: str, plan: Plan, now: datetime
) -> list[tuple[str, str, datetime]] | None:
    raw_updates = item.get("incident_updates")
    if not isinstance(raw_updates, list) or not raw_updates:
        plan.problems.append(_("%(where)s has no updates.") % {"where": where})
        return None
    updates: list[tuple[str, str, datetime]] = []
    for index, update in enumerate(raw_updates):
        if not isinstance(update, dict):
            plan.problems.append(
                _("%(where)s: update %(number)s is not an object.")
                % {"where": where, "number": index + 1}
            )
            return None
        status = update.get("status")
        if status == IncidentStatus.POSTMORTEM:
            status = IncidentStatus.RESOLVED
        if status not in UPDATE_STATUSES:
            plan.problems.append(
                _("%(where)s: update %(number)s has unknown status %(status)s.")
                % {"where": where, "number": index + 1, "status": repr(status)}
            )
            return None
        when = parse_time(update.get("display_at")) or parse_time(update.get("created_at"))
        if when is None:
            plan.problems.append(
                _("%(where)s: update %(number)s has no valid time.")
                % {"where": where, "number": index + 1}
            )
            return None
        if when > now:
            when = now - timedelta(seconds=1)
        body = _text(update.get("body")) or default_update_text(status)
        updates.append((status, body, when))
    updates.sort(key=lambda u: u[2])
    if updates[-1][0] != IncidentStatus.RESOLVED:
        resolved_at = parse_time(item.get("resolved_at")) or updates[-1][2]
        updates.append(
            (
                IncidentStatus.RESOLVED,
                default_update_text(IncidentStatus.RESOLVED),
                max(resolved_at, updates[-1][2]),
            )
        )
    # Candor keeps one "resolved" update, the last; earlier ones (a note posted after resolving,
    # then the real resolution) are kept as monitoring updates.
    earlier = [
        (IncidentStatus.MONITORING if s == IncidentStatus.RESOLVED else s, b, d)
        for s, b, d in updates[:-1]
    ]
    return [*earlier, updates[-1]]


# --- importing -----------------------------------------------------------------------------


@dataclass
class ImportResult:
    groups: int = 0
    components: int = 0
    incidents: int = 0


@transaction.atomic
def import_statuspage(
    organization: Organization, summary: Any, incidents: Any = None, *, actor: Actor
) -> ImportResult:
    """Import everything plan_import lists as new, in one transaction.

    Raises ImportProblem (nothing written) when the files have problems, and rolls back
    everything if any service refuses a row.
    """
    actor.require("org.change_settings", organization)
    plan = plan_import(organization, summary, incidents)
    if not plan.ok:
        raise ImportProblem(plan.problems)
    result = ImportResult()
    page_id = plan.page_id[:64]

    def remember(kind: str, source_id: str, **target: Any) -> None:
        ImportedObject.objects.update_or_create(
            organization=organization,
            source_kind=kind,
            source_id=source_id[:64],
            defaults={"source_page_id": page_id, **target},
        )

    groups: dict[str, ComponentGroup] = {}
    components: dict[str, Component] = {}
    top_level: list[tuple[tuple[int, int], PlannedGroup | PlannedComponent]] = []
    top_level += [(g.position, g) for g in plan.groups]
    top_level += [(c.position, c) for c in plan.components if c.group_source_id is None]
    # Groups and loose components share the top-level order; children keep theirs.
    for _position, item in sorted(top_level, key=lambda pair: pair[0]):
        if isinstance(item, PlannedGroup):
            group = item.existing
            if group is None:
                group = create_component_group(
                    organization, actor=actor, name=item.name, description=item.description
                )
                result.groups += 1
            groups[item.source_id] = group
            remember(ImportedObject.SourceKind.GROUP, item.source_id, group=group)
            children = [c for c in plan.components if c.group_source_id == item.source_id]
            for child in sorted(children, key=lambda c: c.position):
                components[child.source_id] = _import_component(
                    organization, child, group, actor, result
                )
                remember(
                    ImportedObject.SourceKind.COMPONENT,
                    child.source_id,
                    component=components[child.source_id],
                )
        else:
            components[item.source_id] = _import_component(organization, item, None, actor, result)
            remember(
                ImportedObject.SourceKind.COMPONENT,
                item.source_id,
                component=components[item.source_id],
            )

    for planned in sorted(plan.incidents, key=lambda i: i.started_at):
        if planned.imported_before:
            continue
        incident = backfill_incident(
            organization,
            actor=actor,
            name=planned.name,
            impact=planned.impact,
            components=[components[cid] for cid in planned.component_source_ids],
            updates=planned.updates,
        )
        remember(ImportedObject.SourceKind.INCIDENT, planned.source_id, incident=incident)
        result.incidents += 1

    AuditEntry.record(
        organization,
        actor=actor,
        action="statuspage.import",
        data={
            "page": plan.page_id,
            "groups": result.groups,
            "components": result.components,
            "incidents": result.incidents,
        },
    )
    return result


def _import_component(
    organization: Organization,
    planned: PlannedComponent,
    group: ComponentGroup | None,
    actor: Actor,
    result: ImportResult,
) -> Component:
    if planned.existing is not None:
        return planned.existing
    component = create_component(
        organization,
        actor=actor,
        name=planned.name,
        description=planned.description,
        group=group,
        only_show_if_degraded=planned.only_show_if_degraded,
        showcase=planned.showcase,
        start_date=planned.start_date,
    )
    if planned.status != ComponentStatus.OPERATIONAL:
        set_component_status(component, planned.status, actor=actor, notify=False)
    result.components += 1
    return component


# --- staging between the dry run and the confirmation (dashboard) ----------------------------


@transaction.atomic
def stage_import(
    organization: Organization, *, actor: Actor, summary: Any, incidents: Any
) -> StagedImport:
    """Keep checked files until staff confirm; files staged more than a day ago are dropped."""
    actor.require("org.change_settings", organization)
    StagedImport.objects.for_org(organization).filter(
        created_at__lt=timezone.now() - timedelta(days=1)
    ).delete()
    return StagedImport.objects.create(
        organization=organization,
        summary=summary,
        incidents=incidents,
        created_by=actor.audit_user,
    )


@transaction.atomic
def import_staged(staged: StagedImport, *, actor: Actor) -> ImportResult:
    actor.require("org.change_settings", staged.organization)
    staged = lock_again(StagedImport.objects, pk=staged.pk)
    if staged.imported_at is not None:
        raise ValidationError(_("These files were already imported."), code="imported")
    result = import_statuspage(staged.organization, staged.summary, staged.incidents, actor=actor)
    staged.imported_at = timezone.now()
    staged.save(update_fields=["imported_at"])
    return result
