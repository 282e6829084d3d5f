"""The scheduled jobs: outbox retry, dead-letter requeue and compaction. The clouds' schedules
and the local loop call them directly; the jobs routes call them over HTTP (see
functions/core/schedules.py for when each runs, docs/peers.md and docs/query.md for why)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from functions.core.services import Services

IDLE = {"attempted": 0, "delivered": 0, "failed": 0, "dead": 0}


class Jobs:
    def __init__(self, services: Services) -> None:
        self._services = services

    def retry(self) -> dict[str, int]:
        """Attempt every due outbox record once (nothing to do without peers)."""
        fanout = self._services.fanout()
        result = fanout.retry() if fanout else dict(IDLE)
        # An idle run (nothing due) is the common case every interval: not worth an INFO line.
        level = logging.INFO if result["attempted"] else logging.DEBUG
        self._services.log.log(level, "outbox retry", extra={"fields": result})
        return result

    def requeue(self) -> int:
        """Dead letters back into the outbox, due now, for the next retry run."""
        services = self._services
        return services.outbox().requeue(services.clock()) if services.fanout() else 0

    def compact(self) -> dict[str, int]:
        """Compact the closed hours of every source into Parquet."""
        from functions.core.compaction import Compactor

        services = self._services
        compactor = Compactor(services.store(), services.clock, services.settings.memory_mb)
        result: dict[str, int] = compactor.run()
        services.log.info("compaction", extra={"fields": result})
        return result

    def reconcile(self, days: int | None = None) -> dict[str, Any]:
        """Compare digests with every peer and queue what each lacks (functions/core/reconcile)."""
        from functions.core.reconcile import Reconciler

        return Reconciler(self._services).run(days)

    def replay(
        self, start: datetime, end: datetime, source: str | None = None, peer: str | None = None
    ) -> int:
        """Queue the stored events of a time range (one source, or all) for the peers again."""
        from functions.core.reconcile import Reconciler

        queued = Reconciler(self._services).replay(start, end, source, peer)
        self._services.log.info("replay", extra={"fields": {"queued": queued}})
        return queued
