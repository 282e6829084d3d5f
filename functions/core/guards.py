"""The checks every route shares: bearer tokens compared in constant time, the body's size and
media type, a query parameter given exactly once. See docs/architecture.md."""

from __future__ import annotations

import hmac

from functions.core.errors import BadRequest, PayloadTooLarge, Unauthorized, UnsupportedMediaType
from functions.core.http import Request


def bearer_matches(request: Request, token: str | None) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time; never with no token."""
    scheme, _, given = (request.header("authorization") or "").partition(" ")
    return (
        bool(token)
        and scheme.lower() == "bearer"  # auth schemes are case-insensitive (RFC 9110 11.1)
        and hmac.compare_digest(given.strip().encode(), (token or "").encode())
    )


def require_bearer(request: Request, token: str | None, key: str) -> None:
    if not token:
        raise Unauthorized(f"this route is disabled here: {key} is not set")
    if not bearer_matches(request, token):
        raise Unauthorized("a valid bearer token is required")


def check_body(request: Request, limit: int) -> None:
    if len(request.body) > limit:
        raise PayloadTooLarge(f"body is larger than {limit} bytes")
    media_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType("content-type must be application/json")


def one(request: Request, name: str) -> str:
    values = request.query.get(name, ())
    if len(values) != 1:
        raise BadRequest(f"query parameter {name!r} is required, once")
    return values[0]
