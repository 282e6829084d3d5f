"""Neutral request and response types: every adapter translates to and from these
(docs/architecture.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

JSON_CONTENT_TYPE = "application/json"
EMPTY: Mapping[str, Any] = MappingProxyType({})

# Records are NamedTuples rather than dataclasses: `dataclasses` costs ~5 ms of import at every
# cold start (it pulls in `inspect`), and these need nothing it adds.


class Request(NamedTuple):
    """An HTTP request as the core sees it, whatever platform delivered it.

    `path` is the URL path as received (percent-encoding left alone where the platform gives it
    raw). Header names are lower-case; repeated headers are joined with ", ". `query` keeps every
    value of a repeated parameter, in order.
    """

    method: str
    path: str
    headers: Mapping[str, str] = EMPTY
    query: Mapping[str, tuple[str, ...]] = EMPTY
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Response(NamedTuple):
    """An HTTP response: the body is always JSON bytes."""

    status: int
    body: bytes
    headers: Mapping[str, str] = EMPTY


_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # built once, not per call


def json_response(status: int, data: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = _COMPACT.encode(data).encode()
    return Response(status, body, {"content-type": JSON_CONTENT_TYPE, **(headers or {})})


def normalize_headers(pairs: Any) -> dict[str, str]:
    """Lower-case header names and join repeated ones, from a mapping or (name, value) pairs."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    out: dict[str, str] = {}
    for name, value in items:
        key = str(name).lower()
        out[key] = f"{out[key]}, {value}" if key in out else str(value)
    return out
