"""The JSON parser of the management API: size-limited, strict, and never a 500 on bad input."""

from __future__ import annotations

import codecs
import json
from typing import Any

from django.conf import settings
from rest_framework import exceptions, parsers

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
            return loads(raw, encoding=encoding, strict=self.strict)
        except InvalidJSON as exc:
            raise exceptions.ParseError(str(exc)) from exc


class InvalidJSON(ValueError):
    """Why a body is not JSON Candor accepts. str() is the API's message ("JSON parse error -
    ..."); `reason` alone ("nested too deeply.") is for callers that word their own."""

    def __init__(self, reason: str, *, message: str | None = None) -> None:
        super().__init__(message or f"JSON parse error - {reason}")
        self.reason = reason


def _refuse_constant(name: str) -> None:
    # NaN and Infinity are not JSON (RFC 8259); json.loads accepts them by default.
    raise InvalidJSON(f"{name} is not valid JSON.")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # SECURITY: with duplicate keys, json.loads keeps the last one, while another reader (a
    # proxy, an audit tool, the sender's own log) may keep the first: refuse the ambiguity.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidJSON(f"duplicate key {key!r} in an object.")
        result[key] = value
    return result


def loads(raw: bytes, *, encoding: str = "utf-8", strict: bool = True) -> Any:
    """The one strict reading of a JSON body, shared by this parser and the inbound alert hooks.

    Refuses (InvalidJSON, a 400 for the caller) what json.loads accepts but Candor must not:
    duplicate keys, NaN and Infinity (when strict), deeply nested documents (RecursionError,
    not ValueError), NUL characters and lone UTF-16 surrogates in strings (PostgreSQL refuses
    them with a 500 otherwise).
    """
    try:
        text = codecs.decode(raw, encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise InvalidJSON(
            f"not valid {encoding} text.", message=f"The body is not valid {encoding} text."
        ) from exc
    try:
        if strict:
            data = json.loads(
                text, object_pairs_hook=_object_without_duplicates, parse_constant=_refuse_constant
            )
        else:
            data = json.loads(text, object_pairs_hook=_object_without_duplicates)
    except InvalidJSON:
        raise
    except RecursionError as exc:
        raise InvalidJSON("nested too deeply.") from exc
    except ValueError as exc:
        raise InvalidJSON(f"{exc}.") from exc
    problem = unstorable_text(data)
    if problem:
        raise InvalidJSON(problem)
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
