"""The one table of scheduled jobs, in each cloud's schedule syntax."""

from __future__ import annotations

import pytest

from functions.core.routes import ROUTES
from functions.core.schedules import COMPACT, JOBS, RETRY, Job


def test_retry_runs_every_minute_in_each_clouds_syntax() -> None:
    assert RETRY.eventbridge() == "rate(1 minute)"
    assert RETRY.unix_cron() == "*/1 * * * *"
    assert RETRY.ncrontab() == "0 */1 * * * *"


def test_a_longer_retry_period_is_plural_for_eventbridge() -> None:
    assert RETRY.eventbridge(5) == "rate(5 minutes)"
    assert RETRY.unix_cron(5) == "*/5 * * * *"


def test_compaction_runs_ten_past_every_hour() -> None:
    # EventBridge cron() has six fields and needs '?' in day-of-week when day-of-month is '*'
    # (docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html).
    assert COMPACT.eventbridge() == "cron(10 * * * ? *)"
    assert COMPACT.unix_cron() == "10 * * * *"
    assert COMPACT.ncrontab() == "0 10 * * * *"


@pytest.mark.parametrize("job", JOBS, ids=lambda job: job.name)
def test_every_job_has_an_internal_route_and_a_python_name(job: Job) -> None:
    assert job.route.startswith("/internal/")
    assert job.name.isidentifier()
    assert ("POST", job.route) in {(r.method, r.template) for r in ROUTES}


def test_a_job_every_few_hours_steps_the_hour_field_in_each_clouds_syntax() -> None:
    from functions.core.schedules import RECONCILE

    # EventBridge writes a step as start/step (docs.aws.amazon.com/eventbridge/latest/
    # userguide/eb-scheduled-rule-pattern.html, "/" wildcard); cron and NCRONTAB as */step.
    assert RECONCILE.eventbridge(180) == "cron(40 0/3 * * ? *)"
    assert RECONCILE.unix_cron(180) == "40 */3 * * *"
    assert RECONCILE.ncrontab(180) == "0 40 */3 * * *"
    assert RECONCILE.eventbridge() == "cron(40 * * * ? *)"  # hourly: as before
