"""What the management API authenticates, without naming the model that implements it.

The API's base classes sit low in the layers (docs/architecture.md): every app's api.py builds on
them, so they cannot import an app above them. The credential they check (an API key of one
organization, with a scope) is a model of apps.integrations, on the top floor. That model
registers itself as an ApiCredential (`ApiCredential.register(ApiKey)`), and the authentication
class that produces it is configured in REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"].
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, TypeGuard, cast

if TYPE_CHECKING:
    from rest_framework.request import Request


class ApiCredential(abc.ABC):
    """request.auth on a management API request.

    Registered classes provide: `pk` and `public_id`; `organization` and `organization_id` (the
    tenant, never taken from the request); `name` and `prefix` (how the audit log names it); the
    properties `is_active`, `can_write` and `can_admin` (its scope); and `principal`, the
    apps.organizations.principals.ApiKeyPrincipal that services take as `actor` (built by the
    model, which sits above organizations; this floor cannot import it).
    """

    pk: Any
    public_id: str
    organization: Any
    organization_id: Any
    name: str
    prefix: str
    is_active: bool
    can_write: bool
    can_admin: bool
    # May add subscribers as already confirmed (a trusted importer key).
    is_trusted_importer: bool
    principal: Any


def is_api_credential(value: object) -> TypeGuard[ApiCredential]:
    """True for an object of a registered credential class (never for None or a user)."""
    return isinstance(value, ApiCredential)


def credential_of(request: Request) -> ApiCredential:
    """request.auth once HasApiKeyScope has let the request in (any OrgViewSet view).

    A type-only step: DRF types request.auth as a token or anything; the permission check has
    already refused every request whose auth is not an ApiCredential.
    """
    return cast(ApiCredential, request.auth)
