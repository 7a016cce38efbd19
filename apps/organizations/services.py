"""Every write to organizations, memberships, invitations and domains goes through here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from .models import RESERVED_SLUGS, AuditEntry, Membership, Organization, slug_validator
from .roles import Role

if TYPE_CHECKING:
    from apps.accounts.models import User


def validate_new_slug(slug: str) -> str:
    slug = slug.strip().lower()
    slug_validator(slug)
    if slug in RESERVED_SLUGS:
        raise ValidationError(f"“{slug}” is reserved. Please choose another.", code="reserved")
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError(f"“{slug}” is already taken. Please choose another.", code="taken")
    return slug


@transaction.atomic
def create_organization(
    *, actor: User, name: str, slug: str, timezone: str = "UTC"
) -> Organization:
    """Create an organization with actor as its first owner."""
    slug = validate_new_slug(slug)
    organization = Organization.objects.create(name=name.strip(), slug=slug, timezone=timezone)
    Membership.objects.create(organization=organization, user=actor, role=Role.OWNER)
    AuditEntry.record(organization, actor=actor, action="organization.create", target=organization)
    return organization


def bump_content_version(organization: Organization) -> None:
    """Invalidate the cached public page after the current transaction commits."""

    def bump() -> None:
        Organization.objects.filter(pk=organization.pk).update(
            content_version=F("content_version") + 1
        )

    transaction.on_commit(bump)
