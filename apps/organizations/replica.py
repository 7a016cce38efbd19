"""Public reads of one organization on the read replica, only once it holds the expected content.

`apps.core.db.use_replica` routes a block's reads to the replica when the caller's check passes;
this is that check for an organization's public content. Services bump `content_version` on
commit, after the change committed, and a streaming replica applies commits in order: a replica
whose row already shows `version` (or a later one) also holds the change that version stands
for. So a page rendered there may be cached under `version` without showing older content.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TypeVar

from apps.core.db import on_replica, use_replica

from .models import Organization

T = TypeVar("T")


def content_caught_up(organization_id: int, version: int) -> Callable[[str], bool]:
    """A `caught_up` check for use_replica: the alias shows at least `version`. One indexed
    primary-key read on the replica."""

    def check(alias: str) -> bool:
        return (
            Organization.objects.using(alias)
            .filter(pk=organization_id, content_version__gte=version)
            .exists()
        )

    return check


def public_reads(organization: Organization, version: int) -> AbstractContextManager[bool]:
    """`with public_reads(org, version): ...` reads the replica if it is at `version` or later,
    else the primary. A no-op (False) without DATABASE_REPLICA_URL."""
    return use_replica(content_caught_up(organization.pk, version))


def render_on_replica(
    render: Callable[[], T], organization: Organization, version: int
) -> Callable[[], T]:
    """`render` wrapped in public_reads(organization, version), for callers that take a
    callable (apps/public/caching.py's `_render_or_wait`)."""
    return on_replica(render, content_caught_up(organization.pk, version))
