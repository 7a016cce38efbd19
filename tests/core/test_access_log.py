"""The web process's access log (apps/core/access_log.py): a line per request Django answers,
tokens redacted; shared public reads answered from memory are not logged."""

from __future__ import annotations

import io
import logging

import pytest

from apps.core.access_log import AccessLog


def environ(path: str, query: str = "", method: str = "GET") -> dict:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "wsgi.input": io.BytesIO(b""),
    }


def app(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no"]


def test_a_request_is_one_line_with_its_token_redacted(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO, logger="candor.access"):
        body = AccessLog(app)(
            environ("/hooks/hk_s3cr3tT0ken/alertmanager", method="POST"), lambda *a: None
        )
    assert body == [b"no"]
    (record,) = [r for r in caplog.records if r.name == "candor.access"]
    line = record.getMessage()
    assert line.startswith('203.0.113.9 "POST /hooks/[token]/alertmanager HTTP/1.1" 404 ')
    assert "s3cr3t" not in line


def test_a_private_page_token_in_the_query_is_redacted(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO, logger="candor.access"):
        AccessLog(app)(environ("/s/acme/feed.atom", "token=cpt_s3cr3tT0ken"), lambda *a: None)
    (record,) = [r for r in caplog.records if r.name == "candor.access"]
    assert "s3cr3t" not in record.getMessage()
    assert "/s/acme/feed.atom?token=[token]" in record.getMessage()


def test_the_production_application_logs_what_django_answers_but_not_fast_path_hits(
    settings, caplog: pytest.LogCaptureFixture
):
    from apps.public.fastpath import FastPathApplication

    answered: list[str] = []

    def django(environ, start_response):
        answered.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b"ok"]

    application = FastPathApplication(AccessLog(django))
    with caplog.at_level(logging.INFO, logger="candor.access"):
        application(environ("/dashboard/"), lambda *a: None)
    assert answered == ["/dashboard/"]
    assert [r.getMessage().split('"')[1] for r in caplog.records if r.name == "candor.access"] == [
        "GET /dashboard/ HTTP/1.1"
    ]
