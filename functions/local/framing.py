"""waitress, answering what it handles before the app (framing, sizes) in the app's JSON error
shape with the same id in `X-Request-Id`, refusing ambiguous framing (Content-Length with
Transfer-Encoding: RFC 9112 6.1), sized so that idle or slow clients cannot starve it. See
docs/architecture.md (the local server).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.task import ErrorTask

CODES = {400: "bad_request", 413: "payload_too_large", 431: "headers_too_large"}
CONTENT_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:", re.IGNORECASE)
TRANSFER_ENCODING = re.compile(rb"\r\ntransfer-encoding[ \t]*:", re.IGNORECASE)

# Idle keep-alive and half-sent requests hold a connection, not a worker thread; they are
# closed after CHANNEL_TIMEOUT, and LIMIT of them do not stop new connections (waitress's
# default limit, 100, is what a hundred idle clients exhaust).
CONNECTION_LIMIT = 1000
CHANNEL_TIMEOUT = 30
CLEANUP_INTERVAL = 5


class StrictParser(HTTPRequestParser):  # type: ignore[misc]
    def parse_header(self, header_plus: bytes) -> None:
        if CONTENT_LENGTH.search(header_plus) and TRANSFER_ENCODING.search(header_plus):
            raise ParsingError("a request must not carry both Content-Length and Transfer-Encoding")
        super().parse_header(header_plus)


class JsonErrorTask(ErrorTask):  # type: ignore[misc]
    def execute(self) -> None:
        error = self.request.error
        status = 400 if error.code == 501 else error.code  # an unknown transfer coding
        detail = str(error.body).strip() or error.reason
        request_id = os.urandom(16).hex()
        body = json.dumps(
            {
                "error": {
                    "code": CODES.get(status, "bad_request"),
                    "message": detail[:300],
                    "request_id": request_id,
                }
            }
        ).encode()
        self.status = f"{status} {error.reason if status == error.code else 'Bad Request'}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.response_headers.append(("X-Request-Id", request_id))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):  # type: ignore[misc]
    parser_class = StrictParser
    error_task_class = JsonErrorTask


def adjustments() -> dict[str, Any]:
    return {
        "connection_limit": CONNECTION_LIMIT,
        "channel_timeout": CHANNEL_TIMEOUT,
        "cleanup_interval": CLEANUP_INTERVAL,
    }
