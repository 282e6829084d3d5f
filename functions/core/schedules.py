"""The scheduled jobs: one table that every cloud's schedule is built from.

The Pulumi stacks read it to create EventBridge rules (AWS) and Cloud Scheduler jobs (GCP); the
Azure entry module reads it for its timer triggers. See docs/architecture.md (jobs).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    """A job run on a schedule: `name` is its entry point's name on every cloud (the Lambda
    handler, the Azure timer function), `route` the jobs route that runs it over HTTP."""

    name: str
    route: str
    period_minutes: int  # below 60: every N minutes; 60 x N: every N hours, at `minute`
    minute: int = 0

    def _hourly(self, period: int) -> bool:
        return period >= 60

    def unix_cron(self, period: int | None = None) -> str:
        """Five fields, as Cloud Scheduler takes them."""
        every = period or self.period_minutes
        if not self._hourly(every):
            return f"*/{every} * * * *"
        hours = every // 60
        return f"{self.minute} {'*' if hours == 1 else f'*/{hours}'} * * *"

    def ncrontab(self, period: int | None = None) -> str:
        """Six fields, seconds first, as Azure Functions' timer trigger takes them."""
        return f"0 {self.unix_cron(period)}"

    def eventbridge(self, period: int | None = None) -> str:
        """An EventBridge schedule expression: rate() for short periods, cron() (six fields,
        with '?' for day-of-week) for hourly ones."""
        every = period or self.period_minutes
        if self._hourly(every):
            hours = every // 60  # EventBridge writes a step as start/step: 0/3
            return f"cron({self.minute} {'*' if hours == 1 else f'0/{hours}'} * * ? *)"
        return f"rate({every} minute{'s' if every > 1 else ''})"


# Azure's retry timer takes its schedule from this app setting (`%LAMBDA_RETRY_SCHEDULE%`), so
# the stack's `lambda:retryScheduleMinutes` applies there as on the other clouds.
RETRY_SCHEDULE_SETTING = "LAMBDA_RETRY_SCHEDULE"
RECONCILE_SCHEDULE_SETTING = (
    "LAMBDA_RECONCILE_SCHEDULE"  # likewise, `lambda:reconcileScheduleHours`
)
RETRY = Job("retry_outbox", "/internal/outbox/retry", period_minutes=1)
COMPACT = Job("compact", "/internal/compact", period_minutes=60, minute=10)
RECONCILE = Job("reconcile", "/internal/reconcile", period_minutes=60, minute=40)
JOBS: tuple[Job, ...] = (RETRY, COMPACT, RECONCILE)
