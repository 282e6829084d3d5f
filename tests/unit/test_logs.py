"""The JSON log line: its time stamp (kept per second) and its fields."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from functions.core.logs import JsonFormatter


def record(at: datetime, **fields: object) -> logging.LogRecord:
    entry = logging.LogRecord("lambda", logging.INFO, __file__, 1, "request", None, None)
    entry.created = at.timestamp()
    entry.msecs = at.microsecond // 1000
    entry.fields = fields  # type: ignore[attr-defined]
    return entry


def test_each_line_carries_its_own_second_and_millisecond_in_utc() -> None:
    formatter = JsonFormatter()
    moments = [
        datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 999000, tzinfo=UTC),  # the same second again
        datetime(2026, 1, 2, 3, 4, 6, 0, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 1000, tzinfo=UTC),  # an earlier second, after a later one
    ]
    times = [json.loads(formatter.format(record(at)))["time"] for at in moments]
    assert times == [
        "2026-01-02T03:04:05.006Z",
        "2026-01-02T03:04:05.999Z",
        "2026-01-02T03:04:06.000Z",
        "2026-01-02T03:04:05.001Z",
    ]


def test_fields_are_merged_and_values_json_cannot_carry_are_written_as_text() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    line = json.loads(JsonFormatter().format(record(at, status=201, when=at)))
    assert line == {
        "time": "2026-01-02T03:04:05.000Z",
        "level": "INFO",
        "message": "request",
        "status": 201,
        "when": "2026-01-02 03:04:05+00:00",
    }
