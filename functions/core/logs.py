"""Structured logs: one JSON object per line, on stdout, which every platform collects
(docs/architecture.md)."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

LOGGER_NAME = "lambda"


class JsonFormatter(logging.Formatter):
    _encoder = json.JSONEncoder(default=str)  # built once, not per line
    _second: tuple[int, str] = (-1, "")  # the last second formatted, and its text

    @staticmethod
    def converter(seconds: float | None = None) -> time.struct_time:
        return time.gmtime(seconds)  # UTC, whatever the machine's zone

    def format(self, record: logging.LogRecord) -> str:
        second, stamp = self._second  # one tuple, read and replaced whole: safe across threads
        if int(record.created) != second:
            stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
            self._second = (int(record.created), stamp)
        entry: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return self._encoder.encode(entry)


def get_logger(level: str = "INFO") -> logging.Logger:
    """The app's logger, writing JSON lines to stdout (which every platform collects)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)
    return logger
