"""Signed GETs between peers (the anti-entropy routes): what is signed, and the client that
reads a peer's answer, bounded in size and time. See docs/peers.md (anti-entropy)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlencode

from functions.core.transport import ANSWER_LIMIT, DeliveryError, read_answer

LIST_LIMIT = 64 * 1024 * 1024  # an id list of a busy hour: ~40 bytes an id


def canonical(path: str, query: Mapping[str, Sequence[str]]) -> bytes:
    """What a signed GET signs: its path and its query, parameters sorted."""
    pairs = sorted((name, value) for name, values in query.items() for value in values)
    return f"GET {path}?{urlencode(pairs)}".encode()


class PeerReader(Protocol):
    """GETs a peer's signed internal route; returns its JSON or raises `DeliveryError`."""

    def get(self, url: str, headers: dict[str, str], timeout: float) -> Any: ...


class HttpxReader:
    def __init__(self) -> None:
        import httpx

        self._httpx = httpx
        self._client = httpx.Client()

    def get(self, url: str, headers: dict[str, str], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        try:
            # identity: the answer is read raw (bounded), so nothing may be compressed
            asked = {**headers, "accept-encoding": "identity"}
            with self._client.stream("GET", url, headers=asked, timeout=timeout) as response:
                answer = read_answer(response, deadline, timeout, LIST_LIMIT)
                status = response.status_code
        except self._httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if status != 200 or len(answer) > LIST_LIMIT:
            raise DeliveryError(f"peer answered {status}: {answer[:ANSWER_LIMIT][:200]!r}")
        try:
            return json.loads(answer)
        except ValueError as exc:
            raise DeliveryError("peer answered 200 without JSON") from exc
