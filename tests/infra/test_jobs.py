"""The scheduled jobs as the stacks provision them from functions/core/schedules.py's table:
the expressions each cloud gets, the names their resources keep, the handlers they call."""

from __future__ import annotations

import pytest

from functions.aws import handler
from functions.core.schedules import COMPACT, JOBS, RETRY, Job
from stacks.config import StackConfig
from stacks.jobs import schedules


def config(retry_minutes: int) -> StackConfig:
    return StackConfig(
        "aws", "lambda", "aws", "eu-west-1", "3.12", "arm64", 512, 30, 14, (),
        retry_schedule_minutes=retry_minutes,
    )  # fmt: skip


@pytest.mark.parametrize("minutes", [1, 2, 5, 59])
def test_the_retry_schedule_is_the_expression_each_cloud_had_before_the_table(
    minutes: int,
) -> None:
    (retry,) = [s for s in schedules(config(minutes)) if s.job is RETRY]
    assert retry.eventbridge() == f"rate({minutes} minute{'s' if minutes > 1 else ''})"
    assert retry.unix_cron() == f"*/{minutes} * * * *"


def test_compaction_runs_at_ten_past_every_hour_whatever_the_retry_period() -> None:
    (compact,) = [s for s in schedules(config(7)) if s.job is COMPACT]
    assert (compact.eventbridge(), compact.unix_cron()) == ("cron(10 * * * ? *)", "10 * * * *")


def test_every_job_keeps_the_resource_name_it_was_first_deployed_under() -> None:
    # The slug is part of the URNs of its Lambda function, rule and Cloud Scheduler job.
    assert [s.slug for s in schedules(config(1))] == ["retry", "compact", "reconcile"]
    assert [s.job for s in schedules(config(1))] == list(JOBS)


@pytest.mark.parametrize("job", JOBS, ids=lambda job: job.name)
def test_every_job_has_the_lambda_handler_its_rule_names(job: Job) -> None:
    assert callable(getattr(handler, job.name))
