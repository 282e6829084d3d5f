"""Damaged objects set aside: a stored object that cannot be read as what its key says (a bad
restore, a hand edit, bit rot, another tool's partial upload) is copied under `quarantine/`
and removed, logged once at ERROR with its key, and counted in the reader's `GET /peers`; the
rest goes on. Built on the `BlobStore` port alone, so every store behaves alike. See
docs/architecture.md ("Damaged objects").
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import TypeVar

from functions.core.errors import AppError, BlobNotFound
from functions.core.logs import LOGGER_NAME
from functions.core.ports import BlobStore

PREFIX = "quarantine/"
COUNT_CAP = 10_000  # /peers counts at most this many (10 listing pages)

# What decoding a damaged object raises: bad JSON or UTF-8 (ValueError), a missing field
# (KeyError), a wrong type (TypeError, AttributeError), an envelope that fails validation.
DAMAGE: tuple[type[Exception], ...] = (ValueError, KeyError, TypeError, AttributeError, AppError)

T = TypeVar("T")
log = logging.getLogger(LOGGER_NAME)


def quarantine_key(key: str, data: bytes) -> str:
    """Where a damaged object's bytes go: its own key, plus a digest of those bytes, so that
    the same damage is set aside (and logged) once however many readers find it together."""
    return f"{PREFIX}{key}~{hashlib.sha256(data).hexdigest()[:12]}"


def set_aside(store: BlobStore, key: str, why: str, keep: bool = False) -> None:
    """Copy `key` under `quarantine/` and remove it (unless `keep`: an object whose absence
    would be worse than its damage). The copy is written first: a crash in between leaves the
    object in place, to be found and set aside again, never a lost one."""
    try:
        data = store.get(key)
    except BlobNotFound:  # set aside (or settled) meanwhile by another reader
        return
    if store.put_if_absent(quarantine_key(key, data), data):
        log.error(
            "damaged object set aside",
            extra={"fields": {"key": key, "why": why[:300], "bytes": len(data)}},
        )
    if not keep:
        store.delete(key)


def decode_or_set_aside(
    store: BlobStore, key: str, data: bytes, decode: Callable[[bytes], T]
) -> T | None:
    """`decode(data)`, or None once a damaged object has been set aside."""
    try:
        return decode(data)
    except DAMAGE as exc:
        set_aside(store, key, f"{type(exc).__name__}: {exc}")
        return None


def count(store: BlobStore) -> int:
    """How many damaged objects are set aside (at most COUNT_CAP), from a listing alone."""
    total = 0
    for _ in store.list(PREFIX):
        total += 1
        if total >= COUNT_CAP:
            break
    return total
