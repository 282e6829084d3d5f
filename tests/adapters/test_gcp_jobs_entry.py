"""GCP's jobs entry point (`jobs` in functions/gcp/main.py): Cloud Scheduler calls it with an
OIDC token that Cloud Run has checked against the service's invoker IAM before the request
arrives, so it asks for no bearer token of its own (issue 25, item 6)."""

from __future__ import annotations

import json

from functions.core.app import App
from functions.core.services import Services
from functions.core.settings import Settings
from functions.gcp.main import run_job
from tests.support.fakes import FakeClock, MemoryBlobStore


def app() -> App:
    store = MemoryBlobStore()
    return App(Services(Settings(retry_token="tok"), "gcp", lambda: store, FakeClock()))


def test_the_scheduler_runs_each_job_by_its_route_without_a_bearer_token() -> None:
    jobs = app()
    retry = run_job(jobs, "POST", "/internal/outbox/retry")
    assert (retry.status, json.loads(retry.body)) == (
        200,
        {"attempted": 0, "delivered": 0, "failed": 0, "dead": 0},
    )
    compact = run_job(jobs, "POST", "/internal/compact")
    assert (compact.status, json.loads(compact.body)) == (
        200,
        {"partitions": 0, "compacted": 0, "events": 0, "failed": 0},
    )
    reconcile = run_job(jobs, "POST", "/internal/reconcile")
    assert (reconcile.status, json.loads(reconcile.body)["peers"]) == (200, {})  # no peers


def test_anything_else_on_the_jobs_function_is_a_clear_4xx_in_the_one_error_shape() -> None:
    jobs = app()
    missing = run_job(jobs, "POST", "/webhook/github")
    assert missing.status == 404
    assert json.loads(missing.body)["error"]["code"] == "not_found"
    wrong = run_job(jobs, "GET", "/internal/compact")
    assert (wrong.status, wrong.headers["allow"]) == (405, "POST")
    assert json.loads(wrong.body)["error"]["code"] == "method_not_allowed"
