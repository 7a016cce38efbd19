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
    cannot survive: deeply nested documents (RecursionError, not ValueError), NUL characters and
    lone UTF-16 surrogates in strings (PostgreSQL refuses them with a 500 otherwise).
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
        problem = unstorable_text(data)
        if problem:
            raise exceptions.ParseError(f"JSON parse error - {problem}")
        return data


def unstorable_text(data: Any) -> str | None:
    """Why a parsed document holds text the database cannot store, or None.

    Every string and key is checked (iteratively: the document may be deep), so no endpoint,
    whatever its fields (free-form JSON included), ever hands PostgreSQL a NUL character or a
    lone surrogate, both of which it refuses with an error rather than a validation message.
    """
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return "strings cannot contain NUL (\\u0000) characters."
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "strings must be valid Unicode (unpaired surrogate)."
    return None
