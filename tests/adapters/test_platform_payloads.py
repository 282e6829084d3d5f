"""Each cloud's entry points called with what its platform really sends (tests/events/, sources in
its README): EventBridge's scheduled event, Cloud Scheduler's request and a request from behind
Cloud Run's front end as functions-framework hands them over, and the Azure host's HTTP request
and timer payload decoded by the library's own converters, as the Python worker decodes them."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from functions.core.schedules import JOBS, RETRY, Job
from functions.core.settings import Settings
from tests.support.payloads import load_event
from tools.platforms import eventbridge_scheduled_event, gcp_request
from tools.processes import ROOT, Server

DEAD_PEER = "http://127.0.0.1:9"  # refuses connections: the first delivery is queued
QUEUED = {
    "LAMBDA_PEER_URLS": DEAD_PEER,
    "LAMBDA_PEER_SECRET": "s",
    "LAMBDA_OUTBOX_BACKOFF": "0.001,0.001",
    # One retry (the webhook's own delivery is not counted): the first retry run's attempt is
    # the last, and its failure leaves a dead letter that shows the run happened.
    "LAMBDA_OUTBOX_MAX_ATTEMPTS": "1",
    "LAMBDA_READ_TOKEN": "reader",
}


def _run(script: str, env: dict[str, str]) -> dict[str, Any]:
    """`script` in a fresh interpreter (settings from the environment only, as deployed); the
    JSON objects it prints after `=> ` (the app's own log lines are JSON too), merged."""
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line[3:]) for line in out.stdout.splitlines() if line.startswith("=> ")]
    return {k: v for line in lines for k, v in line.items()}


# --- AWS: EventBridge's scheduled event ----------------------------------------------------------


def test_the_scheduled_event_is_the_one_eventbridge_documents() -> None:
    event = eventbridge_scheduled_event()
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "aws.events",
        "Scheduled Event",
        {},
    )


def test_the_aws_compact_entry_point_runs_on_eventbridges_scheduled_event(
    monkeypatch: pytest.MonkeyPatch, s3_bucket: str
) -> None:
    import boto3

    from functions.aws import handler as module

    # GIVEN an empty bucket
    monkeypatch.setenv("LAMBDA_BUCKET", s3_bucket)
    module._default_handler.cache_clear()
    module.default_app.cache_clear()
    try:
        # WHEN EventBridge's hourly rule invokes the compaction entry point
        result = module.compact(eventbridge_scheduled_event(), None)
    finally:
        module._default_handler.cache_clear()
        module.default_app.cache_clear()
    # THEN it ran the job (counts of what it did), not the HTTP translation of an event it is
    # not: nothing to compact in an empty bucket, and nothing written to it but the job's
    # lease (functions/core/lease.py: taken, then released)
    assert isinstance(result, dict)
    assert all(isinstance(v, int) for v in result.values())
    listed = boto3.client("s3").list_objects_v2(Bucket=s3_bucket).get("Contents", [])
    assert {item["Key"].rsplit("/", 1)[0] for item in listed} == {"leases/compact"}


# --- GCP: Cloud Scheduler's request and a webhook from behind the front end ----------------------


def _scheduler_request(job: Job, token: str) -> dict[str, Any]:
    stored = load_event("gcp", "scheduler_retry")
    stored["path"] = job.route
    stored["headers"]["X-CloudScheduler-JobName"] = f"lambda-gcp-{job.name}"
    stored["headers"]["Authorization"] = f"Bearer {token}"
    return dict(stored)


def test_cloud_schedulers_request_runs_the_retry_route_with_the_jobs_token() -> None:
    from functions.gcp.main import build_app, serve

    # No peers: the retry run touches no storage.
    app = build_app(Settings(bucket="bucket-never-touched", retry_token="job-token"))
    body, status, _ = serve(app, gcp_request(_scheduler_request(RETRY, "job-token")))
    assert (status, json.loads(body)) == (
        200,
        {"attempted": 0, "delivered": 0, "failed": 0, "dead": 0},
    )


@pytest.mark.parametrize("job", JOBS, ids=lambda job: job.name)
def test_cloud_schedulers_request_with_another_token_is_refused(job: Job) -> None:
    from functions.gcp.main import build_app, serve

    app = build_app(Settings(bucket="bucket-never-touched", retry_token="job-token"))
    body, status, _ = serve(app, gcp_request(_scheduler_request(job, "not-the-job-token")))
    assert (status, json.loads(body)["error"]["code"]) == (401, "unauthorized")


def test_the_gcp_function_stores_a_webhook_from_behind_the_front_end(
    fake_gcs: Server, gcs_bucket: str
) -> None:
    script = (
        "import json\n"
        "from functions.gcp.main import handle\n"
        "from tests.support.payloads import load_event\n"
        "from tools.platforms import gcp_request\n"
        "body, status, _ = handle(gcp_request(load_event('gcp', 'http_post_webhook')))\n"
        "print('=>', json.dumps({'status': status, 'answer': json.loads(body)}))\n"
    )
    out = _run(script, {"LAMBDA_BUCKET": gcs_bucket, "STORAGE_EMULATOR_HOST": fake_gcs.url})
    assert out["status"] == 201, out
    stored = json.loads(_gcs_blob(fake_gcs.url, gcs_bucket, out["answer"]["key"]))
    assert (stored["origin"], stored["payload"]) == ("gcp", {"ref": "refs/heads/main", "size": 3})
    assert stored["headers"]["x-github-event"] == "push"
    assert "x-hub-signature-256" not in stored["headers"]


def _gcs_blob(url: str, bucket: str, key: str) -> bytes:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(
        project="emulator",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": url},
    )
    data: bytes = client.bucket(bucket).blob(key).download_as_bytes()
    return data


# --- Azure: the host's HTTP request and timer payload, through the worker's converters ----------

AZURE_SCRIPT = """
import json, time
from tests.support.payloads import load_event
from tools.platforms import azure_functions, azure_http_request, azure_request, azure_timer_request
run = {name: f.get_user_function() for name, f in azure_functions().items()}

def peers():
    answer = run["http"](azure_request("GET", "/peers", b"", {"authorization": "Bearer reader"}))
    return json.loads(answer.get_body())["peers"][0]

answer = run["http"](azure_http_request(load_event("azure", "http_post_webhook")))
print("=>", json.dumps({"status": answer.status_code, "answer": json.loads(answer.get_body())}))
print("=>", json.dumps({"before": peers()}))
time.sleep(0.05)  # past the backoff: the record is due
assert run["retry_outbox"](azure_timer_request()) is None
print("=>", json.dumps({"after": peers()}))
assert run["compact"](azure_timer_request()) is None
"""


def test_azure_functions_store_the_hosts_request_and_their_timers_run_the_jobs(
    azure_container: tuple[str, str],
) -> None:
    from azure.storage.blob import BlobServiceClient

    conn, container = azure_container
    env = {"LAMBDA_BUCKET": container, "LAMBDA_AZURE_CONNECTION_STRING": conn, **QUEUED}
    # GIVEN a webhook, in the host's request, whose delivery to the only peer failed
    out = _run(AZURE_SCRIPT, env)
    assert out["status"] == 201, out
    assert out["answer"]["fanout"] == {"delivered": 0, "queued": 1}
    blob = BlobServiceClient.from_connection_string(conn).get_blob_client(
        container, out["answer"]["key"]
    )
    stored = json.loads(blob.download_blob().readall())
    assert (stored["origin"], stored["payload"]) == ("azure", {"ref": "refs/heads/main", "size": 3})
    assert stored["headers"]["x-github-event"] == "push"
    # WHEN the retry timer fires with the host's timer payload
    # THEN the retry run made the record's last attempt: it is a dead letter now
    assert (out["before"]["pending"], out["before"]["dead"]) == (1, 0)
    assert (out["after"]["pending"], out["after"]["dead"]) == (0, 1)
    assert out["after"]["url"] == DEAD_PEER


def test_the_stored_azure_request_decodes_as_the_worker_decodes_it() -> None:
    import azure.functions as func

    from functions.azure.http import to_request
    from tools.platforms import azure_http_request

    req = azure_http_request(load_event("azure", "http_post_webhook"))
    assert isinstance(req, func.HttpRequest)
    request = to_request(req)
    assert (request.method, request.path, request.query) == ("POST", "/webhook/github", {})
    assert request.header("x-waws-unencoded-url") == "/webhook/github"
    assert json.loads(request.body) == {"ref": "refs/heads/main", "size": 3}


def test_a_timer_request_carries_the_hosts_schedule_status() -> None:
    import azure.functions as func

    from tools.platforms import azure_timer_request

    timer = azure_timer_request({**load_event("azure", "timer"), "IsPastDue": True})
    assert isinstance(timer, func.TimerRequest)
    assert timer.past_due is True
    assert azure_timer_request().past_due is False
