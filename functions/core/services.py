"""The one composition root: everything the routes and the jobs use, built once per instance.

Every entry point (the three clouds' and the local server) gives it its settings and a store
factory; nothing else wires the app. Each service is built on first use, so `/health` imports
no storage SDK, crypto or DuckDB. See docs/architecture.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from functions.core.errors import ConfigError
from functions.core.logs import get_logger
from functions.core.ports import BlobStore, Clock
from functions.core.settings import BUCKET, PEER_SECRET, Settings, require

if TYPE_CHECKING:  # these pull in threads, crypto and DuckDB: imported on first use instead
    from functions.core.events import Envelope
    from functions.core.fanout import FanOut
    from functions.core.ingest import EventStore
    from functions.core.outbox import Outbox
    from functions.core.partitions import HourIndex
    from functions.core.peer_reads import PeerReader
    from functions.core.signing import PeerSigner
    from functions.core.transport import Transport

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Services:
    """The store, hour index, outbox, signer and fan-out of one instance, each built once, on
    first use, safely across threads, and kept for the life of the (warm) instance."""

    def __init__(
        self,
        settings: Settings,
        adapter: str,
        store_factory: Callable[[], BlobStore],
        clock: Clock = utc_now,
        logger: logging.Logger | None = None,
        transport: Callable[[], Transport] | None = None,
        reader: Callable[[], PeerReader] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.monotonic = monotonic  # how the jobs tell their budgets' time (tests inject one)
        self.adapter = adapter
        self.origin = settings.origin or adapter
        self.clock = clock
        self.log = logger or get_logger(settings.log_level)
        self._store_factory = store_factory
        self._transport = transport
        self._reader = reader
        self._built: dict[str, object] = {}
        self._lock = threading.RLock()  # re-entrant: fanout() builds outbox() inside

    @classmethod
    def for_bucket(
        cls, settings: Settings, adapter: str, open_store: Callable[[str], BlobStore]
    ) -> Services:
        """A cloud's services: its bucket (or container) is required, and opened on first use."""
        bucket = require(settings.bucket, BUCKET)
        return cls(settings, adapter, lambda: open_store(bucket))

    def _once(self, name: str, build: Callable[[], T]) -> T:
        built = self._built.get(name)
        if built is None:
            with self._lock:
                built = self._built.get(name)
                if built is None:
                    built = self._built[name] = build()
        return built  # type: ignore[return-value]

    def store(self) -> BlobStore:
        return self._once("store", self._store_factory)

    def store_opened(self) -> bool:
        """Whether the store (and with it the storage SDK) is open yet: the end of an
        instance's start (functions/core/gc_hold.py)."""
        return "store" in self._built

    def hour_index(self) -> HourIndex:
        from functions.core.partitions import HourIndex

        return self._once("hour_index", lambda: HourIndex(self.store()))

    def events(self) -> EventStore:
        from functions.core.ingest import EventStore

        return EventStore(self.store(), self.hour_index(), self.clock)

    def outbox(self) -> Outbox:
        from functions.core.outbox import Outbox

        settings = self.settings
        return self._once(
            "outbox",
            lambda: Outbox(self.store(), settings.outbox_max_attempts, settings.outbox_backoff_s),
        )

    def signer(self) -> PeerSigner | None:
        """The peer signer, or None where no peer secret is set (internal routes refuse)."""
        from functions.core.signing import PeerSigner

        secret = self.settings.peer_secret
        if not secret:
            return None
        return self._once("signer", lambda: PeerSigner(secret, self.settings.peer_keys))

    def fanout(self) -> FanOut | None:
        """The peer fan-out (None without peers), shared by every thread of the instance."""
        if not self.settings.peer_urls:
            return None
        if self.settings.peer_secret is None:
            raise ConfigError(f"Config '{PEER_SECRET}' is missing: peers need a signing secret.")
        return self._once("fanout", self._build_fanout)

    def _build_fanout(self) -> FanOut:
        from functions.core.fanout import FanOut
        from functions.core.transport import HttpxTransport

        signer = self.signer()
        assert signer is not None  # fanout() checked the secret
        settings = self.settings
        return FanOut(
            settings.peer_urls,
            self.outbox(),
            signer,
            self._transport() if self._transport else HttpxTransport(),
            self.clock,
            settings.fanout_timeout_s,
            self.log,
            store_event=self.store_if_missing,
            retry_timeout_s=settings.retry_timeout_s,
            run_budget_s=settings.job_timeout_s,
            monotonic=self.monotonic,
        )

    def reader(self) -> PeerReader:
        """Reads peers' signed internal routes (anti-entropy), built once."""
        from functions.core.peer_reads import HttpxReader

        return self._once("reader", self._reader or HttpxReader)

    def store_if_missing(self, envelope: Envelope) -> None:
        """For the outbox's first retry of a delivery: the origin's own copy, if the webhook
        that recorded the delivery died before storing it."""
        events = self.events()
        if not events.has(envelope):
            events.write(envelope)
