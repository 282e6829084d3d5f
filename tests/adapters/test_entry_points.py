"""Each cloud's real entry point: module-level names the platforms call, settings from the
environment, storage on the emulator, and SDKs imported only when storage is needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from functions.core.settings import Settings
from tests.support.gcs import gcs_client
from tests.support.payloads import load_event
from tools import emulators
from tools.platforms import azure_functions, azure_http_request, eventbridge_scheduled_event
from tools.processes import ROOT, Server

SDK_MODULES = ("boto3", "botocore", "google.cloud.storage", "azure.storage.blob", "duckdb")

HEALTH_PROBES = {
    "aws": (
        "from functions.aws.handler import handler\n"
        "event = load_event('aws', 'function_url_get_query')\n"
        "event['rawPath'] = '/health'\n"
        "print(handler(event, None)['body'])\n"
    ),
    "gcp": (
        "import flask\n"
        "from functions.gcp.main import handle\n"
        "with flask.Flask('t').test_request_context('/health'):\n"
        "    print(handle(flask.request)[0].decode())\n"
    ),
    "azure": (
        "from tools.platforms import azure_functions, azure_request\n"
        "req = azure_request('GET', '/health', b'', {})\n"
        "print(azure_functions()['http'].get_user_function()(req).get_body().decode())\n"
    ),
}


@pytest.mark.parametrize("cloud", list(HEALTH_PROBES))
def test_health_in_a_fresh_interpreter_imports_no_storage_sdk(cloud: str) -> None:
    script = (
        "import sys\n"
        "from tests.support.payloads import load_event\n"
        + HEALTH_PROBES[cloud]
        + f"print(sorted(m for m in {SDK_MODULES!r} if m in sys.modules))\n"
    )
    env = {
        "LAMBDA_BUCKET": "bucket-never-touched",
        "PATH": "/usr/bin:/bin",
        "LAMBDA_AZURE_CONNECTION_STRING": "UseDevelopmentStorage=true",
    }
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    health = json.loads(next(line for line in out if line.startswith('{"status"')))
    assert health["adapter"] == cloud
    assert out[-1] == "[]", f"{cloud} /health imported {out[-1]}"


def test_a_missing_bucket_setting_fails_at_start_naming_the_key() -> None:
    script = "from functions.aws.handler import handler\nhandler({'version': '2.0'}, None)\n"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Config 'LAMBDA_BUCKET' is missing" in result.stderr


def test_lambda_handler_stores_the_stored_payloads_in_s3(
    monkeypatch: pytest.MonkeyPatch, s3_bucket: str
) -> None:
    import boto3

    from functions.aws import handler as module

    monkeypatch.setenv("LAMBDA_BUCKET", s3_bucket)
    module._default_handler.cache_clear()
    module.default_app.cache_clear()
    try:
        first = module.handler(load_event("aws", "function_url_post_base64"), None)
        again = module.handler(load_event("aws", "function_url_post_base64"), None)
        rest = module.handler(load_event("aws", "rest_v1_post_base64"), None)
        stage = module.handler(load_event("aws", "http_api_v2_post_plain"), None)
    finally:
        module._default_handler.cache_clear()
        module.default_app.cache_clear()
    assert [r["statusCode"] for r in (first, again, rest, stage)] == [201, 200, 201, 201]
    key = json.loads(first["body"])["key"]
    stored = json.loads(boto3.client("s3").get_object(Bucket=s3_bucket, Key=key)["Body"].read())
    assert stored["payload"] == {"ref": "refs/heads/main", "size": 3}
    assert stored["origin"] == "aws"
    assert stored["headers"]["x-github-event"] == "push"
    assert "x-hub-signature-256" not in stored["headers"]


def test_a_missing_bucket_is_a_503_whose_log_names_the_bucket(moto: Server) -> None:
    from functions.aws.handler import build_app, make_handler
    from tests.conftest import Captured

    logs = Captured()
    app = build_app(Settings(bucket="bucket-that-is-not-there"))
    app.log = logs.logger
    result = make_handler(app)(load_event("aws", "function_url_post_base64"), None)
    assert result["statusCode"] == 503
    assert "bucket-that-is-not-there" not in result["body"]
    assert json.loads(result["body"])["error"]["code"] == "storage_unavailable"
    assert any(
        "bucket-that-is-not-there" in line["message"] and "does not exist" in line["message"]
        for line in logs.lines()
    )


def test_the_store_and_its_client_are_built_once_per_warm_instance(s3_bucket: str) -> None:
    from functions.aws.handler import build_app, make_handler

    app = build_app(Settings(bucket=s3_bucket))
    handle = make_handler(app)
    handle(load_event("aws", "function_url_post_base64"), None)
    store: Any = app.services.store()
    handle(load_event("aws", "rest_v1_post_base64"), None)
    assert app.services.store() is store


def test_azure_registers_one_anonymous_catch_all_route_and_an_empty_prefix() -> None:
    function = azure_functions()["http"]
    (trigger,) = [b for b in function.get_bindings() if b.type == "httpTrigger"]
    assert trigger.route == "{*path}"
    assert str(trigger.auth_level).lower().endswith("anonymous")
    assert {"GET", "POST", "DELETE"} <= {str(m).split(".")[-1].upper() for m in trigger.methods}
    host = json.loads((ROOT / "functions/azure/host.json").read_text())
    assert host["extensions"]["http"]["routePrefix"] == ""


def test_azure_request_keeps_repeated_query_values_and_route_params(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from functions.azure.http import to_request

    # The host's request, as the worker decodes it: `query` keeps one value per name, the URL
    # all of them.
    stored = load_event("azure", "http_post_webhook")
    stored.update(
        method="GET",
        url="https://x.azurewebsites.net/query?source=a&source=b&date=d",
        headers={"X-Thing": "1"},
        query={"source": "b", "date": "d"},
        params={"path": "query"},
        body="",
    )
    request = to_request(azure_http_request(stored))
    assert (request.path, request.query["source"], request.header("x-thing")) == (
        "/query",
        ("a", "b"),
        "1",
    )


def test_gcp_bucket_and_emulator_settings_reach_the_function(
    tmp_path: Path, fake_gcs: Server
) -> None:

    bucket = emulators.unique_bucket("gcp")
    gcs_client().create_bucket(bucket)
    from functions.gcp.main import build_app

    app = build_app(Settings(bucket=bucket, storage_emulator_host=fake_gcs.url))
    store = app.services.store()
    store.put("probe.json", b"{}")
    assert gcs_client().bucket(bucket).blob("probe.json").download_as_bytes() == b"{}"


@pytest.mark.parametrize(
    # The retry schedule is the app setting the Azure stack sets from retryScheduleMinutes.
    ("function", "schedule"),
    [("retry_outbox", "%LAMBDA_RETRY_SCHEDULE%"), ("compact", "0 10 * * * *")],
)
def test_azure_registers_the_scheduled_timers(function: str, schedule: str) -> None:
    timer = azure_functions()[function]
    (binding,) = [b for b in timer.get_bindings() if b.type == "timerTrigger"]
    assert binding.schedule == schedule


def test_the_aws_scheduled_entry_point_runs_the_outbox(
    monkeypatch: pytest.MonkeyPatch, s3_bucket: str
) -> None:
    from functions.aws import handler as module

    # GIVEN a peer that refuses connections, so the first delivery is queued
    monkeypatch.setenv("LAMBDA_BUCKET", s3_bucket)
    monkeypatch.setenv("LAMBDA_PEER_URLS", "http://127.0.0.1:9")
    monkeypatch.setenv("LAMBDA_PEER_SECRET", "s")
    monkeypatch.setenv("LAMBDA_OUTBOX_BACKOFF", "0.001,0.001")
    module._default_handler.cache_clear()
    module.default_app.cache_clear()
    try:
        event = load_event("aws", "function_url_post_base64")
        event["headers"].pop("x-github-delivery")
        answer = json.loads(module.handler(event, None)["body"])
        assert answer["fanout"] == {"delivered": 0, "queued": 1}
        # WHEN EventBridge invokes the scheduled entry point
        result = module.retry_outbox(eventbridge_scheduled_event(), None)
    finally:
        module._default_handler.cache_clear()
        module.default_app.cache_clear()
    # THEN it attempted the queued delivery (and rescheduled it: the peer is still down)
    assert result == {"attempted": 1, "delivered": 0, "failed": 1, "dead": 0}


@pytest.mark.parametrize(
    ("url", "path", "query"),
    [
        ("https://x.azurewebsites.net/webhook/a%2Fb", "/webhook/a/b", {}),
        (
            "https://x.azurewebsites.net/webhook/caf%C3%A9?x=%20y",
            "/webhook/caf\u00e9",
            {"x": (" y",)},
        ),
        ("https://x.azurewebsites.net", "/", {}),
        (
            "https://x.azurewebsites.net/query?source=a&hour=",
            "/query",
            {"source": ("a",), "hour": ("",)},
        ),
    ],
)
def test_azure_request_path_is_percent_decoded_and_blank_query_values_are_kept(
    url: str, path: str, query: dict[str, tuple[str, ...]]
) -> None:
    import azure.functions as func

    from functions.azure.http import to_request

    request = to_request(func.HttpRequest("post", url, headers={}, body=None))
    assert (request.method, request.path, request.query, request.body) == ("POST", path, query, b"")


def test_the_gcp_function_answers_a_flask_request_and_reads_no_more_than_the_limit_allows(
    fake_gcs: Server,
) -> None:
    # The request as functions-framework hands it over: a Flask (werkzeug) request.
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request as FlaskRequest

    from functions.gcp.main import build_app, serve

    bucket = emulators.unique_bucket("gcp")
    gcs_client().create_bucket(bucket)
    app = build_app(Settings(bucket=bucket, max_body_bytes=64, storage_emulator_host=fake_gcs.url))

    def call(
        method: str, path: str, body: bytes = b""
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        environ = EnvironBuilder(
            method=method, path=path, data=body, content_type="application/json"
        ).get_environ()
        answer, status, headers = serve(app, FlaskRequest(environ))
        return status, json.loads(answer), headers

    status, body, headers = call("GET", "/health")
    assert (status, body["adapter"], headers["content-type"]) == (200, "gcp", "application/json")
    status, body, _ = call("POST", "/webhook/s", b'{"n": 1}')
    assert status == 201
    stored = gcs_client().bucket(bucket).blob(body["key"]).download_as_bytes()
    assert json.loads(stored)["payload"] == {"n": 1}
    status, body, _ = call("POST", "/webhook/s", b'{"pad": "' + b"x" * 100 + b'"}')
    assert (status, body["error"]["code"]) == (413, "payload_too_large")


def test_an_azure_response_is_json_in_utf_8_with_the_cores_status_and_headers() -> None:
    from functions.azure.http import to_response
    from functions.core.http import json_response

    response = to_response(json_response(405, {"e": "caf\u00e9"}, {"allow": "GET"}))
    assert (response.status_code, response.mimetype, response.charset) == (
        405,
        "application/json",
        "utf-8",
    )
    assert response.headers["allow"] == "GET"
    assert json.loads(response.get_body()) == {"e": "caf\u00e9"}


def test_azure_without_a_connection_string_uses_the_account_url_and_the_apps_identity() -> None:
    from azure.identity import DefaultAzureCredential

    from functions.azure.store import POOL_SIZE, AzureBlobStore

    url = "https://lambdaevents.blob.core.windows.net"
    store = AzureBlobStore.from_settings("events", Settings(azure_account_url=url))
    assert store.name == "azure://lambdaevents/events"
    assert store._container.url == f"{url}/events"
    assert isinstance(store._container.credential, DefaultAzureCredential)
    # both schemes go through the pool sized for /query's concurrent reads
    session = store._container._client._client._pipeline._transport.session
    for scheme in ("http://", "https://"):
        pool = session.get_adapter(scheme + "x").poolmanager.connection_pool_kw
        assert pool["maxsize"] == POOL_SIZE, scheme


def test_azure_without_an_account_url_either_fails_naming_the_setting() -> None:
    from functions.azure.store import AzureBlobStore
    from functions.core.errors import ConfigError

    with pytest.raises(ConfigError, match="LAMBDA_AZURE_ACCOUNT_URL"):
        AzureBlobStore.from_settings("events", Settings())
