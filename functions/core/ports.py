"""The core's ports: what it needs from the outside world, as Protocols; every store passes
the same contract tests (docs/testing.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Protocol

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime (injected so tests never sleep)."""


class BlobStore(Protocol):
    """An object store: one implementation per cloud plus the local filesystem.

    Keys are '/'-separated strings made by the core (never by a client). Every implementation
    passes the same contract suite (tests/contract/test_blobstore_contract.py).
    """

    name: str
    """A label for logs and errors, e.g. 's3://bucket' or a directory path."""

    def put(self, key: str, data: bytes) -> None:
        """Create or replace the object at `key`."""

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Create the object only if no object exists at `key`, atomically, using the store's
        own precondition. Returns False (and changes nothing) when it already exists."""

    def get(self, key: str) -> bytes:
        """Return the object's bytes; raise `BlobNotFound` when there is none."""

    def list(self, prefix: str) -> Iterator[str]:
        """Yield every key that starts with `prefix`, in lexicographic order, however many."""

    def delete(self, key: str) -> None:
        """Remove the object at `key`; a missing object is not an error."""
