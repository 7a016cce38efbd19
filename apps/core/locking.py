"""Re-reading a row under a lock, and what it means when the row is gone.

A service that changes an object first re-reads it with `select_for_update()`, so concurrent
changes queue up. Between the view's lookup and that lock, another request may have deleted the
row: that is not a bug, the object is gone for this caller too. `lock_again` says so with `Gone`;
any other `DoesNotExist` is a bug and must stay a 500 (views map only the lookups that the
request names, with get_object_or_404).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Manager, Model, QuerySet
from django.http import Http404

M = TypeVar("M", bound=Model)

GONE_MESSAGE = "It no longer exists."


class Gone(Http404):
    """The object a service was changing was deleted by another request meanwhile.

    A subclass of Http404, deliberately: every caller that is a request (the dashboard, the
    management API, whose handler turns Http404 into its 404 body) answers the same 404 as for
    a missing id, without each one mapping it. Code that is not a request (tasks, commands) can
    catch Gone by name.
    """

    def __init__(self, message: str = GONE_MESSAGE) -> None:
        super().__init__(message)


def lock_again(queryset: Manager[M] | QuerySet[M, M], **lookup: Any) -> M:
    """`queryset.select_for_update().get(**lookup)`, raising Gone when the row was deleted.

    `queryset` is a queryset of model instances or a manager (`Incident.objects`); the model's
    type flows out, so callers get an `Incident` back, not a bare `Model`.
    """
    try:
        return queryset.select_for_update().get(**lookup)
    except ObjectDoesNotExist as exc:  # the queryset's model's DoesNotExist is a subclass
        raise Gone() from exc
