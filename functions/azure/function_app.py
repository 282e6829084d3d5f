"""Azure Functions entry point (Python v2 model): `app`, one anonymous catch-all HTTP route.

host.json sets the route prefix to empty, so our paths are not forced under /api.
azure-storage-blob is imported only when a route first needs storage.
"""

from __future__ import annotations

import azure.functions as func

from functions.azure.http import default_app, to_request, to_response
from functions.core.schedules import COMPACT, RETRY

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


RETRY_SCHEDULE = RETRY.ncrontab()  # every minute: the outbox's retry schedule
COMPACT_SCHEDULE = COMPACT.ncrontab()  # ten past every hour: compaction of closed hours


@app.route(route="{*path}", methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def http(req: func.HttpRequest) -> func.HttpResponse:
    response: func.HttpResponse = to_response(default_app().handle(to_request(req)))
    return response


@app.timer_trigger(schedule=RETRY_SCHEDULE, arg_name="timer", run_on_startup=False)
def retry_outbox(timer: func.TimerRequest) -> None:
    default_app().retry_outbox()


@app.timer_trigger(schedule=COMPACT_SCHEDULE, arg_name="timer", run_on_startup=False)
def compact(timer: func.TimerRequest) -> None:
    default_app().compact()
