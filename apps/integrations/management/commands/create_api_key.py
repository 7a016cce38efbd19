"""manage.py create_api_key --org S --name N [--read-only | --admin] [--trusted]

The secret is printed alone on the last line of stdout, so scripts can take it with
`| tail -n 1`. It is not stored and cannot be shown again.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.integrations.models import ApiKey
from apps.integrations.services import create_api_key
from apps.organizations.models import Organization
from apps.organizations.principals import System

# The audit log's actor for keys made from the command line (no user is behind them).
ACTOR = System("system (manage.py create_api_key)")


class Command(BaseCommand):
    help = "Create an API key for an organization and print its secret on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="The organization's slug.")
        parser.add_argument("--name", required=True, help="What uses the key.")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument(
            "--read-only", action="store_true", help="Only GET requests (default: read and write)."
        )
        scope.add_argument(
            "--admin",
            action="store_true",
            help="Also manage API keys and alert integrations through the API.",
        )
        parser.add_argument(
            "--trusted",
            action="store_true",
            help="Trusted importer: may add email subscribers as already confirmed, without a "
            "confirmation mail. Only for addresses that already consented, e.g. a migration "
            "from another status page. Not with --read-only.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"].strip().lower()).first()
        if organization is None:
            raise CommandError(f"No organization with slug {options['org']!r}.")
        scope = ApiKey.Scope.WRITE
        if options["read_only"]:
            scope = ApiKey.Scope.READ
        elif options["admin"]:
            scope = ApiKey.Scope.ADMIN
        try:
            key, secret = create_api_key(
                organization,
                actor=ACTOR,
                name=options["name"],
                scope=scope,
                can_import_confirmed=options["trusted"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        trusted = ", trusted to import confirmed subscribers," if key.can_import_confirmed else ""
        self.stdout.write(
            f"Created {key.get_scope_display().lower()} API key “{key.name}” ({key.prefix}…)"
            f"{trusted} for {organization.name} ({organization.slug})."
        )
        self.stdout.write("Store the secret below now; it is not shown again:")
        # SECURITY: no styling and nothing after it: the last line is exactly the secret.
        self.stdout.write(secret, style_func=None)
