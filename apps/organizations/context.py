"""Request context that services need without taking a request: the client's IP for audit rows."""

from __future__ import annotations

from contextvars import ContextVar

current_ip: ContextVar[str | None] = ContextVar("current_ip", default=None)
