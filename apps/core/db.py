"""An optional read replica for the public read path (`DATABASE_REPLICA_URL`).

Django's router sees a model and a few hints, never "is this the public read path" or "did this
request just write": so the router sends nothing to the replica by itself. Reads go there only
inside `use_replica()`, which a caller opens around work that is a pure read of public content
(the public pages' `render()`), and only when the caller's own check says the replica has caught
up. Everything else, and every write anywhere, stays on the primary ("default").

Why a check: a rendering is cached under the organization's content version (apps/public/
caching.py). A lagging replica would render the old content, which would then be cached under
the *new* version and served until the next change. `caught_up(alias)` reads, on the replica, the
version the caller expects (services bump it on commit, after the change itself committed, and a
streaming replica applies commits in order): when the replica has it, it has the change too.
When it has not, or does not answer, the work runs on the primary.

Read-after-write: inside the block, the first write (`db_for_write`) sends every later read of
the block to the primary too; a block opened inside a transaction on the primary reads the
primary (that transaction's own uncommitted rows are not on any replica).

Without `DATABASE_REPLICA_URL` there is no "replica" alias and no router: `use_replica()` is a
no-op that yields False.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"

T = TypeVar("T")


@dataclass
class _ReplicaReads:
    """The state of one `use_replica()` block."""

    wrote: bool = False


# A ContextVar, not a thread-local: each thread and each asyncio task has its own, so one
# request's block never routes another's reads.
_reads: ContextVar[_ReplicaReads | None] = ContextVar("candor_replica_reads", default=None)


def replica_configured() -> bool:
    return REPLICA in connections.settings


class PrimaryReplicaRouter:
    """Installed when DATABASE_REPLICA_URL is set (config/settings.py)."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        state = _reads.get()
        if state is not None and not state.wrote:
            return REPLICA
        # Explicit, never None: with None Django falls back to the alias the instance in the
        # hints was read from, so a related lookup from a replica-read object would stay there.
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        state = _reads.get()
        if state is not None:
            state.wrote = True  # read-after-write: the rest of the block reads the primary
        # SECURITY: explicit, never None: with None Django would save an object read from the
        # replica back to the replica alias (`instance._state.db`).
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the same data on both aliases

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA  # the replica follows the primary; it is never migrated itself


@contextmanager
def use_replica(caught_up: Callable[[str], bool] | None = None) -> Iterator[bool]:
    """Send this block's reads to the replica when one is configured and `caught_up(REPLICA)`
    says it holds what the caller is about to read. Yields whether it does.

    `caught_up` runs a small query with `.using(alias)` (see the module docstring); without it,
    any lag is accepted (only for reads whose staleness is harmless). A replica that fails the
    check (down, unreachable) is logged and the block reads the primary.
    """
    if not replica_configured() or _reads.get() is not None:
        yield False  # no replica, or already inside a block: nothing changes
        return
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        yield False  # read-after-write within an open transaction: the primary only
        return
    try:
        current = caught_up is None or caught_up(REPLICA)
    except Exception:  # a replica that does not answer must not fail the read
        logger.warning("read replica check failed; reading the primary", exc_info=True)
        current = False
    if not current:
        yield False
        return
    token = _reads.set(_ReplicaReads())
    try:
        yield True
    finally:
        _reads.reset(token)


def on_replica(
    function: Callable[[], T], caught_up: Callable[[str], bool] | None = None
) -> Callable[[], T]:
    """`function` wrapped in `use_replica(caught_up)`, for callers that take a callable."""

    def wrapped() -> T:
        with use_replica(caught_up):
            return function()

    return wrapped
