"""Azure Functions entry point (Python v2 model): `app`, one anonymous catch-all HTTP route and
a timer trigger per scheduled job (functions/core/schedules.py). host.json sets the route
prefix to empty, so our paths are not forced under /api. azure-storage-blob is imported only
when a route first needs storage. See docs/deploying.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import azure.functions as func

from functions.azure.http import to_request, to_response
from functions.core import gc_hold
from functions.core.app import App
from functions.core.jobs import Jobs
from functions.core.ports import BlobStore
from functions.core.schedules import (
    COMPACT,
    RECONCILE_SCHEDULE_SETTING,
    RETRY_SCHEDULE_SETTING,
)
from functions.core.services import Services
from functions.core.settings import AZURE_INSTANCE, Settings, platform_sets

if platform_sets(*AZURE_INSTANCE):  # until the app has started (functions/core/gc_hold.py)
    gc_hold.hold()

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def build_app(settings: Settings) -> App:
    def open_store(container: str) -> BlobStore:
        from functions.azure.store import AzureBlobStore

        return AzureBlobStore.from_settings(container, settings)

    return App(Services.for_bucket(settings, "azure", open_store))


@functools.cache
def default_app() -> App:
    return build_app(Settings.from_env())


@app.route(route="{*path}", methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def http(req: func.HttpRequest) -> func.HttpResponse:
    with gc_hold.request(default_app):
        response: func.HttpResponse = to_response(default_app().handle(to_request(req)))
    return response


def _run(job: Callable[[Jobs], object]) -> None:
    """A scheduled job on the app; the instance has started once it has run."""
    with gc_hold.job():
        job(default_app().jobs)


# The schedule is an app setting the host resolves (`%NAME%`), set by the stack from
# lambda:retryScheduleMinutes (stacks/azure/timers.py); compaction's is fixed (hourly).
@app.timer_trigger(schedule=f"%{RETRY_SCHEDULE_SETTING}%", arg_name="timer", run_on_startup=False)
def retry_outbox(timer: func.TimerRequest) -> None:
    _run(Jobs.retry)


@app.timer_trigger(schedule=COMPACT.ncrontab(), arg_name="timer", run_on_startup=False)
def compact(timer: func.TimerRequest) -> None:
    _run(Jobs.compact)


@app.timer_trigger(
    schedule=f"%{RECONCILE_SCHEDULE_SETTING}%", arg_name="timer", run_on_startup=False
)
def reconcile(timer: func.TimerRequest) -> None:
    _run(Jobs.reconcile)
