from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .credentials import is_api_credential

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per API key, shared by all processes through the cache (Redis in production).

    The rate is REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_key"]. Over it, DRF answers 429
    with Retry-After. Requests without a valid key never get here: authentication and the
    permission check refuse them first.
    """

    scope = "api_key"

    def get_rate(self) -> str | None:
        # Read at request time, not import time (DRF's THROTTLE_RATES is a class attribute frozen
        # at import), so a changed setting (override_settings in tests) takes effect.
        # The stubs type the rates as numbers; they are "100/minute" strings.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # type: ignore[return-value]

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        key = request.auth
        if not is_api_credential(key):
            return None
        return self.cache_format % {"scope": self.scope, "ident": key.pk}
