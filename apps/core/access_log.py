"""The web process's access log: one line per request that Django answers.

Shared public reads answered from memory by the fast path (apps/public/fastpath.py) are not
logged here: they are the bulk of an outage's traffic, the front cache or CDN in front logs
them, and a line per hit cost more than the hit itself. With granian's own access log on, the
cached demo page served 13,500 requests a second on 2 cores against 38,000 without it (and
21,000 with its log records sent nowhere: the cost is in making them). So granian's access log
is off in the image, compose and Kubernetes, and this wrapper logs everything else, as
`candor.access` records with the client's address (after apps/core/forwarded.py), the request
line, the status and the time taken; hook and page tokens are written as [token]
(apps/core/logs.py, set on the logger in config/settings.py). ACCESS_LOG turns it on (the
default in production; runserver prints its own lines in development).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger("candor.access")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class AccessLog:
    """WSGI middleware: logs each request the wrapped application answers."""

    def __init__(self, application: WSGIApp) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        statuses: list[str] = []

        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            statuses.append(status)
            return start_response(status, headers, *exc_info)

        try:
            return self.application(environ, start)
        finally:
            query = environ.get("QUERY_STRING", "")
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            logger.info(
                '%s "%s %s %s" %s %.1fms',
                environ.get("REMOTE_ADDR") or "-",
                environ.get("REQUEST_METHOD", "-"),
                path + ("?" + query if query else ""),
                environ.get("SERVER_PROTOCOL", "-"),
                statuses[-1].split(" ", 1)[0] if statuses else "-",
                (time.perf_counter() - started) * 1000,
            )
