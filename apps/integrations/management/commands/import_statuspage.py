"""manage.py import_statuspage --org S summary.json [incidents.json] [--dry-run]

Imports components, groups and past incidents from a public status page's status API export.
Prints the plan; with --dry-run stops there. Problems in the files: exit status 1, nothing
imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.integrations.importer.services import (
    MAX_FILE_BYTES,
    ImportProblem,
    Plan,
    import_statuspage,
    plan_import,
    read_json_file,
)
from apps.organizations.models import Organization
from apps.organizations.principals import System

ACTOR = System("system (manage.py import_statuspage)")


def describe(plan: Plan) -> list[str]:
    lines = [f"Status page: {plan.page_name or '(unnamed)'} ({plan.page_id or 'no id'})"]
    for group in plan.groups:
        lines.append(f"  group {group.name}: {group.how}")
    for component in plan.components:
        parent = plan.group_name(component.group_source_id)
        label = f"{parent} - {component.name}" if parent else component.name
        lines.append(f"  component {label} ({component.status}): {component.how}")
    for incident in plan.incidents:
        state = "imported before" if incident.imported_before else "new"
        lines.append(
            f"  incident {incident.name} ({incident.started_at:%Y-%m-%d %H:%M} UTC, "
            f"{len(incident.updates)} updates): {state}"
        )
    lines += [f"  note: {note}" for note in plan.notes]
    counts = plan.counts()
    lines.append(
        "Would create {groups} group(s), {components} component(s), {incidents} incident(s) "
        "with {updates} update(s).".format(**counts)
    )
    return lines


class Command(BaseCommand):
    help = "Import a status page from its summary.json (and incidents.json) export."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="The organization's slug.")
        parser.add_argument("summary", type=Path, help="summary.json")
        parser.add_argument("incidents", type=Path, nargs="?", help="incidents.json (optional)")
        parser.add_argument("--dry-run", action="store_true", help="Show the plan only.")

    def _read(self, path: Path | None) -> Any:
        if path is None:
            return None
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CommandError(f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
        try:
            return read_json_file(path.read_bytes(), path.name)
        except ImportProblem as exc:
            raise CommandError(str(exc)) from exc

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"].strip().lower()).first()
        if organization is None:
            raise CommandError(f"No organization with slug {options['org']!r}.")
        summary, incidents = self._read(options["summary"]), self._read(options["incidents"])
        plan = plan_import(organization, summary, incidents)
        for line in describe(plan):
            self.stdout.write(line)
        if not plan.ok:
            raise CommandError(
                "Nothing imported. Problems:\n" + "\n".join(f"- {p}" for p in plan.problems)
            )
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing imported.")
            return
        try:
            result = import_statuspage(organization, summary, incidents, actor=ACTOR)
        except (ImportProblem, ValidationError) as exc:
            raise CommandError(f"Nothing imported: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.groups} group(s), {result.components} component(s) and "
                f"{result.incidents} incident(s) into {organization.slug}."
            )
        )
