from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import permissions

from .credentials import is_api_credential

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class HasApiKeyScope(permissions.BasePermission):
    """A valid key is needed for everything; a read-only key may only read.

    Without a key DRF turns the refusal into 401 (the API key authentication sends
    WWW-Authenticate); with a read-only key on a write it is 403 with `message`.
    """

    message = "This API key is read-only; use a key with write scope."

    def has_permission(self, request: Request, view: APIView) -> bool:
        key = request.auth
        if not is_api_credential(key) or not key.is_active:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return key.can_write


class HasAdminScope(HasApiKeyScope):
    """Managing credentials (API keys, alert integrations) needs an admin-scope key."""

    message = "Managing API keys and integrations needs an API key with admin scope."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        key = request.auth
        return is_api_credential(key) and key.can_admin
