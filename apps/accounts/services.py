"""Writes to a user's own account that allauth does not handle (allauth owns email, password
and two-factor changes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

if TYPE_CHECKING:
    from .models import User


@transaction.atomic
def update_profile(user: User, *, display_name: str) -> User:
    # No AuditEntry: audit rows belong to an organization, and a profile belongs to none.
    user.display_name = " ".join(display_name.split())
    user.save(update_fields=["display_name"])
    return user
