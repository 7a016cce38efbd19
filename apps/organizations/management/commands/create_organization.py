"""manage.py create_organization --slug S --name N --owner-email E [--timezone TZ]

For operators and provisioning scripts. A new owner gets a verified address and no password:
they choose one with "Forgot password?", which proves they own the address.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse

from apps.accounts.models import User
from apps.core.links import absolute_url
from apps.organizations.services import create_organization


def _messages(exc: ValidationError) -> str:
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Create an organization and its owner (created if missing, without a password)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True, help="e.g. acme: acme.<STATUS_PAGE_DOMAIN>")
        parser.add_argument("--name", required=True, help="Shown on the status page.")
        parser.add_argument("--owner-email", required=True, help="Owner; created if missing.")
        parser.add_argument("--timezone", default="UTC", help="IANA name, default UTC.")

    def handle(self, *args: Any, **options: Any) -> None:
        email = User.objects.normalize_email(options["owner_email"].strip()).lower()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"--owner-email: {_messages(exc)}") from exc
        if not options["name"].strip():
            raise CommandError("--name must not be empty.")

        try:
            # One transaction: an invalid or taken slug leaves no half-made user behind.
            with transaction.atomic():
                user, created_user = self._get_or_create_owner(email)
                organization = create_organization(
                    actor=user,
                    name=options["name"],
                    slug=options["slug"],
                    timezone=options["timezone"],
                )
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc

        if created_user:
            reset_url = absolute_url(reverse("account_reset_password"))
            self.stdout.write(
                f"Created user {email} with no password. They set one with “Forgot password?” "
                f"at {reset_url}"
            )
        else:
            self.stdout.write(f"Using the existing user {email}.")
        dashboard = absolute_url(reverse("organizations:overview", args=[organization.slug]))
        self.stdout.write(
            self.style.SUCCESS(
                f"Created organization “{organization.name}” ({organization.slug}), owner {email}."
            )
        )
        self.stdout.write(f"Dashboard: {dashboard}")
        self.stdout.write(f"Status page: {organization.public_url}")

    def _get_or_create_owner(self, email: str) -> tuple[User, bool]:
        from allauth.account.models import EmailAddress

        user = User.objects.filter(email__iexact=email).first()
        if user is not None:
            return user, False
        # There is no accounts service for "create a user" (sign-up goes through allauth), so
        # the command creates it here: an unusable password means no one can log in with a
        # guessed or default one; the owner proves the address by resetting the password.
        user = User.objects.create_user(email=email, password=None)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user, True
