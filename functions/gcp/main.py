"""Google Cloud Functions (2nd gen) entry points: the HTTP function `handle`, and `jobs`, the
jobs function that Cloud Scheduler calls with its own OIDC identity. In the deployed zip this
file is the root `main.py`, as Cloud Functions requires. google-cloud-storage is imported only
when a route first needs storage. See docs/deploying.md.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import functions_framework

from functions.core import gc_hold
from functions.core.app import App, error_response
from functions.core.errors import AppError, MethodNotAllowed, RouteNotFound
from functions.core.http import Response, json_response
from functions.core.ports import BlobStore
from functions.core.schedules import COMPACT, RECONCILE, RETRY
from functions.core.services import Services
from functions.core.settings import CLOUD_RUN_SERVICE, Settings, platform_sets
from functions.wsgi import to_request

if platform_sets(CLOUD_RUN_SERVICE):  # until the app has started (functions/core/gc_hold.py)
    gc_hold.hold()


def store_opener(settings: Settings) -> Any:
    def open_store(bucket: str) -> BlobStore:
        from functions.gcp.store import GCSBlobStore

        return GCSBlobStore(bucket, emulator_host=settings.storage_emulator_host)

    return open_store


def build_app(settings: Settings) -> App:
    return App(Services.for_bucket(settings, "gcp", store_opener(settings)))


@functools.cache
def default_app() -> App:
    return build_app(Settings.from_env())


def serve(app: App, request: Any) -> tuple[bytes, int, dict[str, str]]:
    """Translate a Flask request (WSGI underneath) into the core's and back."""
    limit = app.settings.max_body_bytes
    body = request.stream.read(limit + 1)  # enough to see an oversized body, no more
    response: Response = app.handle(to_request(request.environ, body))
    return response.body, response.status, dict(response.headers)


@functions_framework.http
def handle(request: Any) -> tuple[bytes, int, dict[str, str]]:
    with gc_hold.request(default_app):
        return serve(default_app(), request)


def job_runs(app: App) -> dict[str, Callable[[], dict[str, Any]]]:
    """Every job of the table (functions/core/schedules.py) by its route."""
    return {
        RETRY.route: app.jobs.retry,
        COMPACT.route: app.jobs.compact,
        RECONCILE.route: app.jobs.reconcile,
    }


def run_job(app: App, method: str, path: str) -> Response:
    """A scheduled job by its route. No bearer token: Cloud Run lets through only callers that
    hold run.invoker on this service (the scheduler's account alone), checking the OIDC token
    before the request reaches the function."""
    try:
        run = job_runs(app).get(path)
        if run is None:
            raise RouteNotFound(f"no job at {path}")
        if method != "POST":
            raise MethodNotAllowed(f"{method} is not allowed on {path}", ("POST",))
        return json_response(200, run())
    except AppError as error:
        return error_response(error, os.urandom(16).hex())


@functions_framework.http
def jobs(request: Any) -> tuple[bytes, int, dict[str, str]]:
    with gc_hold.job():
        response = run_job(default_app(), request.method, request.path)
    return response.body, response.status, dict(response.headers)
