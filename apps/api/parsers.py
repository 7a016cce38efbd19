"""The JSON parser of the management API: size-limited, strict, and never a 500 on bad input."""

from __future__ import annotations

import codecs
import json
from typing import Any

from django.conf import settings
from rest_framework import exceptions, parsers
from rest_framework.utils import json as drf_json

from .exceptions import PayloadTooLarge


def body_limit() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2 * 1024 * 1024


def too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than the {body_limit() // 1024} KB limit.")


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser reads the stream without Django's DATA_UPLOAD_MAX_MEMORY_SIZE check (that
    check lives in HttpRequest.body), so a client could make us buffer any amount. This one reads
    at most the limit (plus one byte to notice more), whatever Content-Length claims.

    It also refuses what json.loads accepts but the database cannot store or the recursion limit
    cannot survive: deeply nested documents (RecursionError, not ValueError) and lone UTF-16
    surrogates in strings (PostgreSQL refuses them with a 500 otherwise).
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        limit = body_limit()
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise too_large()
        try:
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise exceptions.ParseError(f"The body is not valid {encoding} text.") from exc
        try:
            data = drf_json.loads(text) if self.strict else json.loads(text)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise exceptions.ParseError(
                "JSON parse error - strings must be valid Unicode (unpaired surrogate)."
            ) from exc
        return data
