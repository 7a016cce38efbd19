"""granian's access log (the web service of docker-compose.yml and the Dockerfile) does not
carry inbound alert tokens."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from django.utils.module_loading import import_string
from granian.log import DEFAULT_ACCESSLOG_FMT, log_request_builder

from tests.test_docker_compose import DOCKERFILE, command

CONFIG_PATH = Path(__file__).resolve().parent.parent.parent / "config" / "granian-log.json"


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_the_request_line_shows_the_token_as_redacted():
    config = json.loads(CONFIG_PATH.read_text())
    access = config["handlers"]["access"]
    assert config["loggers"]["granian.access"]["handlers"] == ["access"]
    capture = Capture()
    for name in access["filters"]:
        capture.addFilter(import_string(config["filters"][name]["()"])())
    logger = logging.getLogger("granian.access")
    logger.addHandler(capture)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        log_request = log_request_builder(DEFAULT_ACCESSLOG_FMT)
        request = {
            "addr_remote": "203.0.113.9",
            "path": "/hooks/hk_s3cr3tT0ken/alertmanager",
            "qs": "",
            "method": "POST",
            "scheme": "https",
            "protocol": "HTTP/1.1",
        }
        log_request(time.time(), time.perf_counter(), request, 200)
    finally:
        logger.removeHandler(capture)
        logger.setLevel(previous)

    (line,) = capture.lines
    assert '"POST /hooks/[token]/alertmanager HTTP/1.1" 200' in line
    assert "s3cr3t" not in line


def test_the_web_service_and_the_image_use_it():
    assert "--log-config=config/granian-log.json" in command("web")
    assert '"--log-config", "config/granian-log.json"' in DOCKERFILE
