"""`Idempotency-Key` on POST: a retried request is answered once.

- First time a key is seen (per API key): the row is inserted *before* the request runs, then the
  response (status and body) is stored with it.
- Same key, same request (method, path and body) within IDEMPOTENCY_WINDOW: the stored response
  is sent again with `Idempotent-Replayed: true`, and nothing runs.
- Same key, another request: 409. Same key while the first request still runs: 409 too.
- Server errors (5xx) and conflicts (409) are not stored: the claim is released, so the client
  can retry with the same key, which is what a retry after those should do.

Rows expire after 24 hours; expired rows are purged lazily (at most once per PURGE_EVERY per
cache) and by `purge_expired_idempotency_keys`, which a beat task may call.

The keys themselves live in PostgreSQL, not in the cache: with Redis down they work exactly as
usual. The cache only spaces out the lazy purge; when it is unreachable the purge is skipped
(and the log says so, once a minute): an expired key is deleted anyway when it is used again
(`begin`), so skipping it only leaves old rows a little longer. With PostgreSQL down, `begin`
raises and the API answers 503 (apps.api.exceptions); the claim was never written.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer

from .credentials import credential_of
from .exceptions import Conflict, IdempotentReplay
from .models import IdempotencyKey
from .throttling import warn_cache_unavailable

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.response import Response

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
IDEMPOTENCY_WINDOW = timedelta(hours=24)
PURGE_EVERY = 600  # seconds
MAX_KEY_LENGTH = 255


@dataclass
class Claim:
    row: IdempotencyKey
    finished: bool = False


def request_hash(request: Request) -> str:
    """The same request means the same method, path and body. JSON bodies are compared as data
    (key order and whitespace do not matter); anything else byte for byte."""
    raw = request._request.body  # cached by Django; DRF parses from the cached copy later
    try:
        canonical = json.dumps(
            json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=True
        ).encode()
    except (ValueError, RecursionError):
        canonical = raw
    digest = hashlib.sha256()
    for part in ((request.method or "").encode(), request.get_full_path().encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _validated_key(value: str) -> str:
    if not value or len(value) > MAX_KEY_LENGTH or not value.isprintable() or not value.isascii():
        raise exceptions.ValidationError(
            {HEADER: [f"Use 1 to {MAX_KEY_LENGTH} printable ASCII characters."]}
        )
    return value


def purge_expired_idempotency_keys() -> int:
    cutoff = timezone.now() - IDEMPOTENCY_WINDOW
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _maybe_purge() -> None:
    try:
        due = cache.add("api:idempotency-purge", 1, timeout=PURGE_EVERY)
    except Exception:
        warn_cache_unavailable("idempotency key purge")
        return
    if due:
        purge_expired_idempotency_keys()


def begin(request: Request) -> Claim | None:
    """Call after authentication and permission checks. Returns a claim to finish, None when
    the request carries no key; raises IdempotentReplay or Conflict."""
    if request.method != "POST" or HEADER not in request.headers:
        return None
    key = _validated_key(request.headers[HEADER].strip())
    api_key = credential_of(request)
    fingerprint = request_hash(request)
    _maybe_purge()
    cutoff = timezone.now() - IDEMPOTENCY_WINDOW
    # An expired row is as good as none: the key may be used again.
    IdempotencyKey.objects.filter(api_key_id=api_key.pk, key=key, created_at__lt=cutoff).delete()
    try:
        with transaction.atomic():
            row = IdempotencyKey.objects.create(
                organization_id=api_key.organization_id,
                api_key_id=api_key.pk,
                key=key,
                request_hash=fingerprint,
            )
        return Claim(row)
    except IntegrityError:
        pass
    existing = IdempotencyKey.objects.filter(api_key_id=api_key.pk, key=key).first()
    if existing is None:  # released between our insert and this read: the client may retry
        raise Conflict("A request with this Idempotency-Key was just retried; try again.")
    if existing.request_hash != fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used for another request. "
            "Use a new key for a new request."
        )
    if existing.response_status is None:
        raise Conflict("A request with this Idempotency-Key is still being processed.")
    body = json.loads(existing.response_body) if existing.response_body else None
    raise IdempotentReplay(existing.response_status, body)


def finish(claim: Claim, response: Response, *, redact: tuple[str, ...] = ()) -> None:
    """Store the response, or release the claim when a retry should run the request again.

    `redact` names top-level fields stored as null: secrets shown once (a new API key's) must
    not sit in this table in plain text; a replay then says null for them.
    """
    status = response.status_code
    if status >= 500 or status == 409:
        # Quietly: when the answer is a 503 because the database is down, releasing fails too,
        # and that must not turn the 503 into a 500 (the row, if any, expires like the rest).
        abandon(claim)
        claim.finished = True
        return
    claim.finished = True
    data = getattr(response, "data", None)
    if isinstance(data, dict) and redact:
        data = {**data, **{field: None for field in redact if field in data}}
    # Rendered, so what is stored is exactly what JSON clients received.
    body = JSONRenderer().render(data).decode() if data is not None else ""
    IdempotencyKey.objects.filter(pk=claim.row.pk).update(
        response_status=status, response_body=body
    )


def release(claim: Claim) -> None:
    claim.finished = True
    IdempotencyKey.objects.filter(pk=claim.row.pk, response_status__isnull=True).delete()


def abandon(claim: Claim | None) -> None:
    """The request ended with an unhandled exception: release, so a retry can run."""
    if claim is not None and not claim.finished:
        try:
            release(claim)
        except Exception:  # the original error matters more than this one
            logger.exception("Could not release idempotency key %s", claim.row.pk)


__all__ = ["HEADER", "Claim", "abandon", "begin", "finish", "purge_expired_idempotency_keys"]
