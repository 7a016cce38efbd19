from __future__ import annotations

from rest_framework import permissions

from apps.integrations.models import ApiKey


class HasApiKeyScope(permissions.BasePermission):
    """A valid key is needed for everything; a read-only key may only read."""

    message = "This API key is read-only; use a key with write scope."

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return key.can_write
