"""Members' HTTP between each other in one process: a peer transport and peer reader whose
POSTs to `/internal/event` and signed GETs are answered by the member's own `App.handle`, with
the real signing, verification and acknowledgement checks and no sockets. Counts each request;
`down` members refuse. Used by the anti-entropy tests and bench/reconcile_cost.py."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

from functions.core.app import App
from functions.core.http import Request
from functions.core.transport import DeliveryError, Unreachable, acknowledged


class Loopback:
    def __init__(self) -> None:
        self.apps: dict[str, App] = {}  # base URL -> the member answering there
        self.down: set[str] = set()
        self.requests: Counter[tuple[str, str, str]] = Counter()  # (base URL, method, path)

    def _call(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Any:
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}"
        self.requests[(base, method, parts.path)] += 1
        if base in self.down:
            raise Unreachable("connection refused")  # as the real transport says it
        query = {k: tuple(v) for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        lowered = {k.lower(): v for k, v in headers.items()}
        return self.apps[base].handle(Request(method, parts.path, lowered, query, body))

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
        answer = self._call("POST", url, headers, body)
        acknowledged(
            answer.status, answer.headers.get("content-type"), answer.body, headers["webhook-id"]
        )

    def get(self, url: str, headers: dict[str, str], timeout: float) -> Any:
        answer = self._call("GET", url, headers, b"")
        if answer.status != 200:
            raise DeliveryError(f"peer answered {answer.status}: {answer.body[:200]!r}")
        return json.loads(answer.body)

    def by_route(self) -> dict[str, int]:
        """The requests as `"METHOD /path": count`, whoever answered."""
        counts: Counter[str] = Counter()
        for (_, method, path), n in self.requests.items():
            counts[f"{method} {path}"] += n
        return dict(counts)
