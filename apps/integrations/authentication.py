"""The management API's authentication: an API key of this app, sent as a bearer token.

It lives here, beside the ApiKey model, and not in apps.api: the API's base classes sit low in
the layers (docs/architecture.md) and may not import this app. REST_FRAMEWORK's
DEFAULT_AUTHENTICATION_CLASSES names this class, and apps.api.base.OrgViewSetMixin uses that
setting. The OpenAPI security scheme for it is below (imported by IntegrationsConfig.ready()).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from apps.api.throttling import AUTH_FAILURE_MESSAGE, auth_failure_wait, record_auth_failure

from .models import KEY_PREFIX, ApiKey, hash_key

if TYPE_CHECKING:
    from rest_framework.request import Request

# last_used_at is written at most this often per key, so busy keys don't write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)

INVALID_KEY_MESSAGE = "Invalid or revoked API key."


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <key>`. Sets request.auth to the ApiKey; request.user stays None.

    There is no user behind a key: permissions read request.auth (apps.api.permissions, through
    apps.api.credentials) and the organization comes from the key (apps.api.base).
    """

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[None, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None  # no credentials: the permission check answers 401
        wait = auth_failure_wait(request)
        if wait is not None:
            raise exceptions.Throttled(wait=wait, detail=AUTH_FAILURE_MESSAGE)
        try:
            key = self._key_for(header)
        except exceptions.AuthenticationFailed:
            record_auth_failure(request, what="API key")
            raise
        self._touch(key)
        return (None, key)

    def _key_for(self, header: str) -> ApiKey:
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != self.keyword.lower() or not secret:
            raise exceptions.AuthenticationFailed(
                "Send the API key as `Authorization: Bearer <key>`."
            )
        if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
            raise exceptions.AuthenticationFailed(INVALID_KEY_MESSAGE)
        # SECURITY: looked up by the SHA-256 of the secret (an indexed, exact match), so neither
        # the stored value nor the comparison reveals anything usable about other keys.
        # Revoked keys are excluded here: revocation takes effect on the very next request.
        key = (
            ApiKey.objects.active()
            .select_related("organization")
            .filter(hashed_key=hash_key(secret))
            .first()
        )
        if key is None:
            raise exceptions.AuthenticationFailed(INVALID_KEY_MESSAGE)
        return key

    def _touch(self, key: ApiKey) -> None:
        now = timezone.now()
        if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
            return
        # Conditional, so concurrent requests with one key write the row once per resolution.
        ApiKey.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION),
            pk=key.pk,
        ).update(last_used_at=now)
        key.last_used_at = now

    def authenticate_header(self, request: Request) -> str:
        # A WWW-Authenticate value makes DRF answer 401 (not 403) when the key is missing or bad.
        return 'Bearer realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apps.integrations.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An API key from Dashboard → API keys, sent as `Authorization: Bearer cnd_…`. "
                "Read-only keys get 403 on writes. Requests are limited per key (429 with "
                "Retry-After), and an address that sends 20 bad keys within a minute gets 429 "
                "until the minute ends."
            ),
        }
