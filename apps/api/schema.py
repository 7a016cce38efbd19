"""drf-spectacular extensions. Imported by ApiConfig.ready() so they are registered."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An API key from Dashboard → API keys, sent as `Authorization: Bearer cnd_…`. "
                "Read-only keys get 403 on writes. Requests are limited per key (429 with "
                "Retry-After)."
            ),
        }
