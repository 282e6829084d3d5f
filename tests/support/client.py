"""The core app called in process: a client of `App.handle` with neutral requests, and a
logger whose JSON lines a test reads back."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

from functions.core.app import App
from functions.core.http import Request

READ_TOKEN = "test-read-token"  # what the test deployments accept for reads
READ = {"authorization": f"Bearer {READ_TOKEN}"}


class Captured:
    """A logger whose JSON lines the test can read back."""

    def __init__(self) -> None:
        from functions.core.logs import JsonFormatter

        self.stream = io.StringIO()
        self.logger = logging.getLogger(f"lambda.test.{id(self)}")
        handler = logging.StreamHandler(self.stream)
        handler.setFormatter(JsonFormatter())
        self.logger.addHandler(handler)
        self.logger.propagate = False
        self.logger.setLevel(logging.INFO)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


class CoreClient:
    """Calls `App.handle` directly with neutral requests (no I/O but the store)."""

    def __init__(self, app: App) -> None:
        self.app = app

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str | list[str]] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        q = {k: tuple(v) if isinstance(v, list) else (v,) for k, v in (query or {}).items()}
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        token = self.app.settings.read_token
        if token and "authorization" not in hdrs:  # a reader's credential unless a test sets one
            hdrs["authorization"] = f"Bearer {token}"
        request = Request(method, path, hdrs, q, body or b"")
        response = self.app.handle(request)
        answer = json.loads(response.body) if response.body else None  # HEAD has no body
        return response.status, answer, dict(response.headers)

    def webhook(self, source: str, payload: Any, **headers: str) -> tuple[int, Any, dict[str, str]]:
        hdrs = {"content-type": "application/json"} | {
            k.replace("_", "-"): v for k, v in headers.items()
        }
        return self.request("POST", f"/webhook/{source}", json.dumps(payload).encode(), hdrs)


MakeClient = Callable[..., CoreClient]
