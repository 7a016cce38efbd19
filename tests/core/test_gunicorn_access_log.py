"""gunicorn's access log (for running the app under gunicorn; the image runs granian, see
test_granian_access_log.py) does not carry inbound alert tokens."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

from gunicorn.config import Config

from apps.core.gunicorn_logging import RedactingLogger


def test_the_request_line_and_path_show_the_token_as_redacted():
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/hooks/hk_s3cr3tT0ken/alertmanager",
        "PATH_INFO": "/hooks/hk_s3cr3tT0ken/alertmanager",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
    }
    response = SimpleNamespace(status="200 OK", sent=57, headers=[])

    atoms = RedactingLogger(Config()).atoms(
        response, SimpleNamespace(headers=[]), environ, datetime.timedelta(milliseconds=3)
    )

    assert atoms["r"] == "POST /hooks/[token]/alertmanager HTTP/1.1"
    assert atoms["U"] == "/hooks/[token]/alertmanager"
