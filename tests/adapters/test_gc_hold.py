"""On each cloud the collector is held from the entry module's import, where the platform runs
it, until a request has opened the store or a job has run (functions/core/gc_hold.py;
docs/deploying.md, cold starts). Each case is a fresh interpreter, as an instance is, called
as its platform calls it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from functions.core.settings import AZURE_INSTANCE, CLOUD_RUN_SERVICE, LAMBDA_RUNTIME_API
from tools import emulators
from tools.processes import ROOT, Server

AWS = """
import gc, json
seen = {"framework": gc.isenabled()}
from functions.aws import handler
seen["import"] = gc.isenabled()
def call(method, path, body=""):
    event = {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
             "headers": {"content-type": "application/json"},
             "requestContext": {"http": {"method": method, "path": path}},
             "body": body, "isBase64Encoded": False}
    return handler.handler(event, None)["statusCode"]
seen["health"] = [call("GET", "/health"), call("GET", "/x"), gc.isenabled()]
status = call("POST", "/webhook/gc", '{"n": 1}')
seen["started"] = [status, gc.isenabled(), gc.get_freeze_count() > 0]
print(json.dumps(seen))
"""

GCP = """
import gc, json
import functions_framework
seen = {"framework": gc.isenabled()}
# As `functions-framework --target handle` loads the source (create_app).
app = functions_framework.create_app("handle", "functions/gcp/main.py").test_client()
seen["import"] = gc.isenabled()
seen["health"] = [app.get("/health").status_code, app.get("/x").status_code, gc.isenabled()]
status = app.post("/webhook/gc", json={"n": 1}).status_code
seen["started"] = [status, gc.isenabled(), gc.get_freeze_count() > 0]
print(json.dumps(seen))
"""

AZURE = """
import gc, json
import azure.functions as func
seen = {"framework": gc.isenabled()}
from functions.azure.function_app import app
seen["import"] = gc.isenabled()
http = {f.get_function_name(): f for f in app.get_functions()}["http"].get_user_function()
def call(method, path, body=b""):
    request = func.HttpRequest(method, "https://x.azurewebsites.net" + path, body=body,
                               headers={"content-type": "application/json"},
                               route_params={"path": path.lstrip("/")})
    return http(request).status_code
seen["health"] = [call("GET", "/health"), call("GET", "/x"), gc.isenabled()]
status = call("POST", "/webhook/gc", b'{"n": 1}')
seen["started"] = [status, gc.isenabled(), gc.get_freeze_count() > 0]
print(json.dumps(seen))
"""

HELD = {
    "framework": True,
    "import": False,  # held from the entry module's import
    "health": [200, 404, False],  # neither opened the store
    "started": [201, True, True],  # the webhook did: released, the start frozen
}
LEFT_ALONE = {
    "framework": True,
    "import": True,
    "health": [200, 404, True],
    "started": [201, True, False],
}


def run(code: str, env: dict[str, str]) -> object:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **env},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def aws_env(moto: Server, s3_bucket: str) -> dict[str, str]:
    return {**emulators.AWS_ENV, "AWS_ENDPOINT_URL_S3": moto.url, "LAMBDA_BUCKET": s3_bucket}


@pytest.fixture
def gcp_env(fake_gcs: Server, gcs_bucket: str) -> dict[str, str]:
    return {"STORAGE_EMULATOR_HOST": fake_gcs.url, "LAMBDA_BUCKET": gcs_bucket}


@pytest.fixture
def azure_env(azure_container: tuple[str, str]) -> dict[str, str]:
    conn, name = azure_container
    return {"LAMBDA_AZURE_CONNECTION_STRING": conn, "LAMBDA_BUCKET": name}


def test_aws_holds_it_under_the_lambda_runtime_until_the_store_opens(
    aws_env: dict[str, str],
) -> None:
    # the Lambda runtime's variable: held from functions/aws/__init__.py, the first import
    assert run(AWS, {**aws_env, LAMBDA_RUNTIME_API: "127.0.0.1:9001"}) == HELD
    assert run(AWS, aws_env) == LEFT_ALONE


def test_an_aws_scheduled_job_releases_it(aws_env: dict[str, str]) -> None:
    code = """
import gc, json
from functions.aws import handler
held = not gc.isenabled()
result = handler.retry_outbox({}, None)  # no peers: nothing to send, no storage read
print(json.dumps([held, result["attempted"], gc.isenabled()]))
"""
    assert run(code, {**aws_env, LAMBDA_RUNTIME_API: "127.0.0.1:9001"}) == [True, 0, True]


def test_gcp_holds_it_on_cloud_run_until_the_store_opens(gcp_env: dict[str, str]) -> None:
    assert run(GCP, {**gcp_env, CLOUD_RUN_SERVICE: "lambda-http"}) == HELD
    assert run(GCP, gcp_env) == LEFT_ALONE


@pytest.mark.parametrize("variable", AZURE_INSTANCE)
def test_azure_holds_it_in_azure_until_the_store_opens(
    azure_env: dict[str, str], variable: str
) -> None:
    assert run(AZURE, {**azure_env, variable: "instance"}) == HELD


def test_azure_leaves_it_alone_elsewhere(azure_env: dict[str, str]) -> None:
    assert run(AZURE, azure_env) == LEFT_ALONE


def test_gcp_jobs_function_releases_it(gcp_env: dict[str, str]) -> None:
    code = """
import gc, json
import functions_framework
app = functions_framework.create_app("jobs", "functions/gcp/main.py").test_client()
held = not gc.isenabled()
status = app.post("/internal/outbox/retry").status_code  # no peers: nothing to send
print(json.dumps([held, status, gc.isenabled()]))
"""
    assert run(code, {**gcp_env, CLOUD_RUN_SERVICE: "lambda-jobs"}) == [True, 200, True]


FAILING = """
import gc, json
from functions.core.gc_hold import MAX_HELD_REQUESTS
{load}
def attempt():
    try:
        {request}
    except Exception as error:  # the platform reports it; the instance lives on
        return type(error).__name__
    return "answered"
seen = [attempt() for _ in range(MAX_HELD_REQUESTS - 1)]
held = not gc.isenabled()
seen.append(attempt())
print(json.dumps([sorted(set(seen)), held, gc.isenabled()]))
"""


def test_an_aws_instance_whose_requests_all_raise_releases_it_after_the_cap(
    aws_env: dict[str, str], moto: Server
) -> None:
    # The secret cannot be read (deleted, say): every webhook raises before the app exists.
    code = FAILING.format(
        load="from functions.aws import handler",
        request="handler.handler({'version': '2.0', 'rawPath': '/webhook/x', 'body': '{}', "
        "'requestContext': {'http': {'method': 'POST', 'path': '/webhook/x'}}}, None)",
    )
    env = {
        **aws_env,
        LAMBDA_RUNTIME_API: "127.0.0.1:9001",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto.url,
        "LAMBDA_SECRETS_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf",
    }
    assert run(code, env) == [["ConfigError"], True, True]


def test_gcp_and_azure_instances_with_a_bad_setting_release_it_after_the_cap(
    gcp_env: dict[str, str], azure_env: dict[str, str]
) -> None:
    bad = {"LAMBDA_FANOUT_TIMEOUT": "abc"}
    gcp = FAILING.format(
        load="import functions_framework\n"
        "app = functions_framework.create_app('handle', 'functions/gcp/main.py').test_client()",
        request="assert app.get('/health').status_code == 500",
    )
    assert run(gcp, {**gcp_env, **bad, CLOUD_RUN_SERVICE: "lambda-http"}) == [
        ["answered"],
        True,
        True,
    ]
    azure = FAILING.format(
        load="import azure.functions as func\n"
        "from functions.azure.function_app import app\n"
        "http = {f.get_function_name(): f for f in app.get_functions()}['http']"
        ".get_user_function()",
        request="http(func.HttpRequest('GET', 'https://x/health', body=b'', "
        "route_params={'path': 'health'}))",
    )
    assert run(azure, {**azure_env, **bad, "CONTAINER_NAME": "c"}) == [["ConfigError"], True, True]


def test_an_azure_timer_releases_it(azure_env: dict[str, str]) -> None:
    code = """
import gc, json
from functions.azure.function_app import app
timers = {f.get_function_name(): f.get_user_function() for f in app.get_functions()}
held = not gc.isenabled()
timers["retry_outbox"](None)  # no peers: nothing to send
print(json.dumps([held, gc.isenabled()]))
"""
    assert run(code, {**azure_env, "CONTAINER_NAME": "c"}) == [True, True]
