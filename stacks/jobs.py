"""The scheduled jobs as the stacks provision them: functions/core/schedules.py's table, with
this stack's retry period and the short names their resources were first deployed under.
See docs/architecture.md (jobs).
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.core.schedules import JOBS, RECONCILE, RETRY, Job
from stacks.config import StackConfig


@dataclass(frozen=True)
class Schedule:
    """A job of the table, on this stack's period."""

    job: Job
    period: int  # minutes

    @property
    def slug(self) -> str:
        """The job's part of its resources' names (`lambda-retry`, `lambda-compact`): the last
        segment of its route. Part of every URN, so it must not change."""
        return self.job.route.rsplit("/", 1)[-1]

    def eventbridge(self) -> str:
        return self.job.eventbridge(self.period)

    def unix_cron(self) -> str:
        return self.job.unix_cron(self.period)


def period(job: Job, config: StackConfig) -> int:
    """The job's period on this stack, in minutes: `lambda:retryScheduleMinutes` sets the
    outbox retry's, `lambda:reconcileScheduleHours` the reconcile's; the others are fixed."""
    if job is RETRY:
        return config.retry_schedule_minutes
    if job is RECONCILE:
        return 60 * config.reconcile_schedule_hours
    return job.period_minutes


def schedules(config: StackConfig) -> list[Schedule]:
    """Every job of the table, on this stack's periods."""
    return [Schedule(job, period(job, config)) for job in JOBS]
