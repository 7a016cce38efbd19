"""Logging filters (config/settings.py LOGGING)."""

from __future__ import annotations

import logging
import re

# /hooks/<token>/<kind>: the segment between /hooks/ and the kind is a secret.
_HOOK_TOKEN = re.compile(r"(/hooks/)[^/\s?#\"']+(?=/[^/\s?#\"'])")


# ?token=cpt_...: a private status page's access token, in the URL for feed readers and
# calendar apps that cannot send a header (apps/organizations/private_pages.py).
_PAGE_TOKEN = re.compile(r"(token=)cpt_[A-Za-z0-9_\-%]+")


def redact_hook_tokens(text: str) -> str:
    """Hook tokens and private page tokens in a logged URL become "[token]"."""
    return _PAGE_TOKEN.sub(r"\1[token]", _HOOK_TOKEN.sub(r"\1[token]", text))


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


class QuietRoutineRequests(logging.Filter):
    """Drops runserver's lines for routine successful requests: static files and the polls of
    open status pages (`.../live/`, about one a second per open tab).

    `make run`'s terminal is where mail is read; a page left open would otherwise scroll the
    mail away within a minute. Errors and every other request still print.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status_code = getattr(record, "status_code", None)
        # runserver logs its request line as the first positional argument; a record with
        # keyword (mapping) arguments is not one of those.
        if status_code is None or status_code >= 400 or not isinstance(record.args, tuple):
            return True
        if not record.args:
            return True
        request_line = str(record.args[0])
        parts = request_line.split(" ")
        path = parts[1].split("?", 1)[0] if len(parts) > 1 else ""
        return not (path.startswith("/static/") or path.endswith("/live/"))


class RedactHookTokens(logging.Filter):
    """Replaces the token of inbound alert URLs (/hooks/<token>/<kind>) with "[token]" in
    runserver's request lines and django.request's "Not Found: <path>" lines.

    A hook token is a credential: whoever reads the log could post alerts with it.
    Set on the loggers (not handlers), so every handler, including test capture, sees the
    redacted record. granian's access log (config/granian-log.json) passes the request's fields
    as a dict (path, query_string...): redacted the same way.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):
            record.args = {
                name: redact_hook_tokens(value) if isinstance(value, str) else value
                for name, value in record.args.items()
            }
        elif isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                redact_hook_tokens(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif isinstance(record.msg, str) and not record.args:
            record.msg = redact_hook_tokens(record.msg)
        return True
