"""Logging filters (config/settings.py LOGGING)."""

from __future__ import annotations

import logging


class NoClientErrorTracebacks(logging.Filter):
    """Drops the traceback from django.request records of 4xx responses.

    Django logs a PermissionDenied (403) with its traceback; a refused or missing page is the
    client's doing, so its one line ("Forbidden (Permission denied): /path") says all there is.
    5xx records keep theirs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status_code = getattr(record, "status_code", None)
        if status_code is not None and 400 <= status_code < 500:
            record.exc_info = None
            record.exc_text = None
        return True
