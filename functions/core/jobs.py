"""The scheduled jobs: outbox retry, dead-letter requeue and compaction. The clouds' schedules
and the local loop call them directly; the jobs routes call them over HTTP (see
functions/core/schedules.py for when each runs, docs/peers.md and docs/query.md for why).
Retry and compaction run under a lease in the bucket (functions/core/lease.py): a run that
finds another one going exits at once with `busy: 1`, on every cloud alike."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from functions.core.lease import Lease
from functions.core.services import Services

IDLE = {"attempted": 0, "delivered": 0, "failed": 0, "dead": 0}
COMPACT_IDLE = {"partitions": 0, "compacted": 0, "events": 0}
# Beyond the platform's own timeout: the clocks of two instances may differ by this much.
LEASE_MARGIN = timedelta(seconds=30)


class Jobs:
    def __init__(self, services: Services) -> None:
        self._services = services

    def _leased(
        self, job: str, idle: dict[str, int], run: Callable[[], dict[str, int]]
    ) -> dict[str, int]:
        """`run` under the job's lease, or `idle` with `busy: 1` when another run holds it."""
        services = self._services
        ttl = timedelta(seconds=services.settings.job_timeout_s) + LEASE_MARGIN
        lease = Lease(services.store(), services.clock, job, ttl)
        held = lease.acquire()
        if held is None:
            services.log.info(
                "job busy: another run holds its lease", extra={"fields": {"job": job}}
            )
            return {**idle, "busy": 1}
        try:
            return run()
        finally:
            lease.release(held)

    def retry(self) -> dict[str, int]:
        """Attempt every due outbox record once (nothing to do without peers)."""
        if self._services.fanout() is None:
            return dict(IDLE)
        return self._leased("retry", IDLE, self._retry)

    def _retry(self) -> dict[str, int]:
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
        return self._leased("compact", COMPACT_IDLE, self._compact)

    def _compact(self) -> dict[str, int]:
        from functions.core.compaction import Compactor

        services = self._services
        compactor = Compactor(services.store(), services.clock, services.settings.memory_mb)
        result: dict[str, int] = compactor.run()
        services.log.info("compaction", extra={"fields": result})
        return result
