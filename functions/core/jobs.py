"""The scheduled jobs: outbox retry, dead-letter requeue and compaction. The clouds' schedules
and the local loop call them directly; the jobs routes call them over HTTP (see
functions/core/schedules.py for when each runs, docs/peers.md and docs/query.md for why)."""

from __future__ import annotations

import logging

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
