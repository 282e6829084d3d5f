"""Azure: the app settings that carry the stack's job settings to the timer triggers and the
Functions host. See docs/deploying.md (what each stack creates).

A timer trigger's schedule may be an app setting, `%NAME%`, resolved by the host when it
indexes the functions ("Timer trigger for Azure Functions", NCRONTAB expressions:
learn.microsoft.com/azure/azure-functions/functions-bindings-timer): functions/azure/
function_app.py names LAMBDA_RETRY_SCHEDULE and LAMBDA_RECONCILE_SCHEDULE, set here from
`lambda:retryScheduleMinutes` and `lambda:reconcileScheduleHours`.
host.json's `functionTimeout` can be overridden by the app setting
`AzureFunctionsJobHost__functionTimeout` ("host.json reference": override host.json values);
it is set from `lambda:jobTimeoutSeconds`, which Linux Consumption caps at 10 minutes (its
default is 5; Flex Consumption's is 30 and has no cap: "Azure Functions hosting options",
function app time-out duration).
"""

from __future__ import annotations

from functions.core.schedules import (
    RECONCILE,
    RECONCILE_SCHEDULE_SETTING,
    RETRY,
    RETRY_SCHEDULE_SETTING,
)
from stacks.config import StackConfig

FUNCTION_TIMEOUT_SETTING = "AzureFunctionsJobHost__functionTimeout"
CONSUMPTION_MAX_TIMEOUT_S = 600


def hhmmss(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def timer_settings(config: StackConfig) -> dict[str, str]:
    # One timeout for every function of the app: the jobs' (the HTTP routes end sooner, at the
    # front end's 230 seconds at most, whatever this says).
    return {
        RETRY_SCHEDULE_SETTING: RETRY.ncrontab(config.retry_schedule_minutes),
        RECONCILE_SCHEDULE_SETTING: RECONCILE.ncrontab(60 * config.reconcile_schedule_hours),
        FUNCTION_TIMEOUT_SETTING: hhmmss(max(config.job_timeout_s, config.timeout_s)),
    }
