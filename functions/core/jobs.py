"""The scheduled jobs: outbox retry, dead-letter requeue, compaction and anti-entropy. The
clouds' schedules and the local loop call them directly, the jobs routes over HTTP
(functions/core/schedules.py says when). Retry, compaction and reconcile run under a lease in
the bucket (functions/core/lease.py): a run that finds another going exits at once with
`busy: 1`, on every cloud alike. See docs/architecture.md (jobs)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

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
        self, job: str, idle: dict[str, Any], run: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
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

    def retry(
        self, budget_s: float | None = None, timeout_s: float | None = None
    ) -> dict[str, int]:
        """Attempt every due outbox record once (nothing to do without peers), within
        `budget_s` (the job's timeout unless told), each attempt within `timeout_s` (the
        retry job's deadline unless told)."""
        if self._services.fanout() is None:
            return dict(IDLE)
        return self._leased("retry", IDLE, lambda: self._retry(budget_s, timeout_s))

    def _retry(self, budget_s: float | None, timeout_s: float | None) -> dict[str, int]:
        fanout = self._services.fanout()
        result = fanout.retry(budget_s=budget_s, timeout_s=timeout_s) if fanout else dict(IDLE)
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

    def reconcile(self, days: int | None = None) -> dict[str, Any]:
        """Compare digests with every peer and queue what each lacks (functions/core/reconcile)."""
        from functions.core.reconcile import Reconciler

        run = Reconciler(self._services).run
        monotonic = self._services.monotonic
        started = monotonic()
        if not self._services.settings.peer_urls:
            return run(days)  # an idle report: nothing to lease
        report = self._leased("reconcile", {"peers": {}}, lambda: run(days))
        if any(peer.get("queued") for peer in report["peers"].values()):
            # What the run queued goes out now, through the retry job and so under its lease:
            # never beside a scheduled retry run settling the same records.
            # In what is left of this job's time: the platform stops it at the timeout.
            left = self._services.settings.job_timeout_s - (monotonic() - started)
            report["delivery"] = self.retry(budget_s=left)
        return report

    def replay(
        self, start: datetime, end: datetime, source: str | None = None, peer: str | None = None
    ) -> int:
        """Queue the stored events of a time range (one source, or all) for the peers again."""
        from functions.core.reconcile import Reconciler

        queued = Reconciler(self._services).replay(start, end, source, peer)
        self._services.log.info("replay", extra={"fields": {"queued": queued}})
        return queued
