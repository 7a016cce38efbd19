"""Roles and the one permission table. Every role check in Candor reads PERMISSIONS."""

from __future__ import annotations

from django.db import models
from django.utils.translation import pgettext_lazy


class Role(models.TextChoices):
    OWNER = "owner", pgettext_lazy("member role", "Owner")
    ADMIN = "admin", pgettext_lazy("member role", "Admin")
    EDITOR = "editor", pgettext_lazy("member role", "Editor")
    VIEWER = "viewer", pgettext_lazy("member role", "Viewer")


OWNER, ADMIN, EDITOR, VIEWER = Role.OWNER, Role.ADMIN, Role.EDITOR, Role.VIEWER

# permission -> roles that hold it
PERMISSIONS: dict[str, frozenset[str]] = {
    "org.view": frozenset({OWNER, ADMIN, EDITOR, VIEWER}),
    "org.change_settings": frozenset({OWNER, ADMIN}),
    "org.delete": frozenset({OWNER}),
    # Requiring two-factor authentication of every member decides how everyone signs in.
    "org.require_two_factor": frozenset({OWNER}),
    "org.billing": frozenset({OWNER}),
    # A copy of everything the organization holds, subscribers' addresses included
    # (apps/privacy/export.py); and erasing one customer's data on their request.
    "org.export": frozenset({OWNER}),
    "org.erase_person": frozenset({OWNER}),
    "members.view": frozenset({OWNER, ADMIN, EDITOR, VIEWER}),
    "members.manage": frozenset({OWNER, ADMIN}),
    "members.manage_owners": frozenset({OWNER}),
    "domains.manage": frozenset({OWNER, ADMIN}),
    "api_keys.manage": frozenset({OWNER, ADMIN}),
    "audit.view": frozenset({OWNER, ADMIN}),
    "components.edit": frozenset({OWNER, ADMIN, EDITOR}),
    "incidents.edit": frozenset({OWNER, ADMIN, EDITOR}),
    "incidents.delete": frozenset({OWNER, ADMIN}),
    "branding.edit": frozenset({OWNER, ADMIN}),
    "subscribers.manage": frozenset({OWNER, ADMIN, EDITOR}),
    "forum.moderate": frozenset({OWNER, ADMIN, EDITOR}),
    # Comment, flag and mark "I'm affected too" in the organization's forums. Members hold it;
    # customers (principals.Customer) hold exactly this and nothing else.
    "forum.participate": frozenset({OWNER, ADMIN, EDITOR, VIEWER}),
}


def has_permission(role: str | None, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"Unknown permission {permission!r}: add it to PERMISSIONS")
    return role is not None and role in PERMISSIONS[permission]


def assignable_roles(actor_role: str) -> list[str]:
    """Roles a member with actor_role may give to others."""
    if actor_role == OWNER:
        return [OWNER, ADMIN, EDITOR, VIEWER]
    if actor_role == ADMIN:
        return [ADMIN, EDITOR, VIEWER]
    return []
