"""Who acts: one principal per request, asked by services what it may do and how to name it.

A principal is a member with a role (the dashboard), an API key with a scope (the management
API) or the system (beat tasks, an alert integration acting for its organization); customers
and moderators will join with the forum. Every service takes one keyword-only (`actor=`), calls
`actor.require("incidents.edit", organization)` before it writes, and records
`actor.audit_user` / `actor.audit_label` in the audit log (AuditEntry.record takes the principal).
Views and the API never re-implement permissions: they build the principal once
(`org_view` sets request.principal, the API base reads it from the key) and pass it on.

Every permission lives in apps/organizations/roles.py (PERMISSIONS). An API key's scope maps to
a role's permissions there (SCOPE_PERMISSIONS below), so the dashboard and the API share one rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

from apps.api.credentials import ApiCredential

from .roles import EDITOR, PERMISSIONS, VIEWER, has_permission

if TYPE_CHECKING:
    from apps.accounts.models import User

    from .models import Membership, Organization

REFUSED_MESSAGE = "Your role in this organization does not allow this."
OTHER_ORGANIZATION_MESSAGE = "This belongs to another organization."


def _role_permissions(role: str) -> frozenset[str]:
    return frozenset(name for name, roles in PERMISSIONS.items() if role in roles)


# What an API key of each scope may do, in the words of roles.py. A read key sees what a viewer
# sees. A write key does what an editor does, and deletes incidents: keys are created by owners
# and admins (who hold `incidents.delete`), and the management API has always let write keys
# delete (tests/api/test_incidents.py). An admin key also manages API keys and integrations,
# like an admin; organization deletion, billing and owners stay with people in the dashboard.
SCOPE_PERMISSIONS: dict[str, frozenset[str]] = {
    "read": _role_permissions(VIEWER),
    "write": _role_permissions(EDITOR) | {"incidents.delete"},
    "admin": _role_permissions(EDITOR) | {"incidents.delete", "api_keys.manage"},
}
# Never given to a key, whatever its scope (tests/organizations/test_principals.py holds it):
# org.delete, org.billing and members.manage_owners stay decisions of signed-in people.


class Principal:
    """Who acts. Subclasses answer `can`; `require` and the organization check are shared."""

    #: The organization the principal acts for; None for the system (any organization).
    organization: Organization | None = None

    def can(self, permission: str) -> bool:
        raise NotImplementedError

    def require(self, permission: str, organization: Organization | None = None) -> None:
        """Raise PermissionDenied (a 403) unless the principal may do `permission`, in
        `organization` when given (an object of another organization is refused too: views
        have already answered 404 for those, so reaching here with one is a bug, not a user)."""
        if permission not in PERMISSIONS:
            raise KeyError(f"Unknown permission {permission!r}: add it to PERMISSIONS")
        if (
            organization is not None
            and self.organization is not None
            and self.organization.pk != organization.pk
        ):
            raise PermissionDenied(OTHER_ORGANIZATION_MESSAGE)
        if not self.can(permission):
            raise PermissionDenied(self.refused_message(permission))

    def refused_message(self, permission: str) -> str:
        return REFUSED_MESSAGE

    @property
    def audit_user(self) -> User | None:
        """The user stored as the actor (and as author, `created_by`); None when no person."""
        return None

    @property
    def audit_label(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.audit_label


class Member(Principal):
    """A signed-in member of an organization, with the role of their membership."""

    def __init__(self, membership: Membership) -> None:
        self.membership = membership
        self.organization = membership.organization

    @classmethod
    def of(cls, user: User, organization: Organization) -> Member:
        """The member principal of `user` in `organization`; PermissionDenied for a
        non-member (services and commands; requests get theirs from org_view)."""
        from .models import Membership

        membership = (
            Membership.objects.select_related("organization", "user")
            .filter(organization=organization, user=user)
            .first()
        )
        if membership is None:
            raise PermissionDenied(OTHER_ORGANIZATION_MESSAGE)
        return cls(membership)

    @property
    def role(self) -> str:
        return self.membership.role

    def can(self, permission: str) -> bool:
        return has_permission(self.membership.role, permission)

    @property
    def audit_user(self) -> User:
        return self.membership.user

    @property
    def audit_label(self) -> str:
        return self.membership.user.email

    def __repr__(self) -> str:
        return f"<Member {self.audit_label} ({self.role})>"


class ApiKeyPrincipal(Principal):
    """An API key of one organization; its scope (read, write, admin) decides what it may do."""

    def __init__(self, credential: ApiCredential) -> None:
        self.credential = credential
        self.organization = credential.organization

    @property
    def scope(self) -> str:
        if self.credential.can_admin:
            return "admin"
        return "write" if self.credential.can_write else "read"

    def can(self, permission: str) -> bool:
        # SECURITY: a revoked key may do nothing, even if a request got this far with it.
        if not self.credential.is_active:
            return False
        if permission not in PERMISSIONS:
            raise KeyError(f"Unknown permission {permission!r}: add it to PERMISSIONS")
        return permission in SCOPE_PERMISSIONS[self.scope]

    def refused_message(self, permission: str) -> str:
        if not self.credential.is_active:
            return "This API key has been revoked."
        if self.scope == "read":
            return "This API key is read-only; use a key with write scope."
        return "This API key's scope does not allow this."

    @property
    def audit_label(self) -> str:
        return f"API key “{self.credential.name}” ({self.credential.prefix}…)"[:200]

    def __repr__(self) -> str:
        return f"<ApiKeyPrincipal {self.audit_label} ({self.scope})>"


class System(Principal):
    """Candor itself: beat tasks, an alert integration acting for its organization, imports.

    The system acts on the authority of code that a person set up (an admin created the
    integration, the beat schedule is ours), so it may do everything; requests never get one.
    """

    def __init__(self, label: str = "system", organization: Organization | None = None) -> None:
        self.label = label[:200] or "system"
        self.organization = organization

    def can(self, permission: str) -> bool:
        if permission not in PERMISSIONS:
            raise KeyError(f"Unknown permission {permission!r}: add it to PERMISSIONS")
        return True

    @property
    def audit_label(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"<System {self.label}>"


class Customer(Principal):
    """A signed-in reader of an organization's status page who is not (necessarily) a member:
    accounts are global, so the same person is a customer of many organizations. A customer may
    take part in the forum ("forum.participate") and nothing else; bans, trust and the staff
    badge are decided per organization by the forum's services, not here."""

    PERMISSIONS = frozenset({"forum.participate"})

    def __init__(self, user: User, organization: Organization) -> None:
        self.user = user
        self.organization = organization

    def can(self, permission: str) -> bool:
        if permission not in PERMISSIONS:
            raise KeyError(f"Unknown permission {permission!r}: add it to PERMISSIONS")
        return permission in self.PERMISSIONS

    def refused_message(self, permission: str) -> str:
        return "Only the organization's staff may do this."

    @property
    def audit_user(self) -> User:
        return self.user

    @property
    def audit_label(self) -> str:
        return self.user.email

    def __repr__(self) -> str:
        return f"<Customer {self.audit_label}>"
