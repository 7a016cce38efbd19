"""Lenient parsing of alert payloads: the odd shapes real senders produce."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from apps.integrations.alerts.payloads import PayloadError, parse, parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-28T08:01:02.123456789Z", datetime(2026, 11, 28, 8, 1, 2, 123456, tzinfo=UTC)),
        ("2026-11-28T09:01:02+01:00", datetime(2026, 11, 28, 8, 1, 2, tzinfo=UTC)),
        ("2026-11-28T08:01:02.5z", datetime(2026, 11, 28, 8, 1, 2, 500000, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("yesterday", None),
        (None, None),
        (12345, None),
    ],
)
def test_timestamps(text, expected):
    assert parse_time(text) == expected


def test_null_labels_and_annotations_and_a_missing_fingerprint():
    body = {
        "version": "4",
        "status": "firing",
        "receiver": "team\\-a\\.ops",
        "alerts": [{"status": "firing", "labels": None, "annotations": None}],
        "commonLabels": None,
    }

    notification = parse("alertmanager", json.dumps(body).encode())

    alert = notification.alerts[0]
    assert alert.labels == {}
    assert alert.fingerprint  # derived from the (empty) label set
    assert notification.receiver == "team\\-a\\.ops"
    assert notification.group_key.startswith("fingerprints:")


def test_same_labels_give_the_same_derived_fingerprint():
    alert = {"status": "firing", "labels": {"b": "2", "a": "1"}}
    first = parse("alertmanager", json.dumps({"version": "4", "alerts": [alert]}).encode())
    alert["labels"] = {"a": "1", "b": "2"}
    second = parse("alertmanager", json.dumps({"version": "4", "alerts": [alert]}).encode())

    assert first.alerts[0].fingerprint == second.alerts[0].fingerprint


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        ("alertmanager", b"[1, 2]", "JSON object"),
        ("alertmanager", b'{"alerts": []}', "version None"),
        ("alertmanager", b'{"version": 4, "alerts": [], "status": "weird"}', "status"),
        ("grafana", b'{"version": "1", "alerts": ["x"]}', "alerts[0]"),
        ("generic", b"\xff\xfe", "not valid JSON"),
    ],
)
def test_unusable_bodies_name_the_problem(kind, body, message):
    with pytest.raises(PayloadError, match=re.escape(message)):
        parse(kind, body)
