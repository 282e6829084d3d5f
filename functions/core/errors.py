"""One error hierarchy, mapped once to one JSON error body by `App` (docs/architecture.md,
errors)."""

from __future__ import annotations


class AppError(Exception):
    """An error the client may see: it carries its HTTP status and a stable code."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class RouteNotFound(AppError):
    status = 404
    code = "not_found"


class MethodNotAllowed(AppError):
    status = 405
    code = "method_not_allowed"

    def __init__(self, message: str, allow: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allow = allow


class Conflict(AppError):
    """The request cannot be answered truthfully in the store's present state (a damaged
    idempotency record: whether its delivery was stored cannot be known)."""

    status = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


class StorageError(AppError):
    """The object store failed us (missing bucket, denied access, outage): a 503.

    The message names the bucket and is logged; the client sees only a generic text.
    """

    status = 503
    code = "storage_unavailable"


class BlobNotFound(Exception):
    """A `BlobStore.get` of a key that does not exist. Not an HTTP error by itself."""


class ConfigError(Exception):
    """A required setting is missing or malformed; raised at start, naming the key."""
