"""Under the Lambda runtime, the collector is held from the adapter's first import until the
app has started (functions/aws/__init__.py, functions/core/gc_hold.py; docs/deploying.md,
cold starts). Each case is a fresh interpreter, as an instance is."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tools import emulators
from tools.processes import ROOT, Server

RUNTIME = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}  # what Lambda sets in every function


@pytest.fixture
def env(moto: Server, s3_bucket: str) -> dict[str, str]:
    return {**emulators.AWS_ENV, "AWS_ENDPOINT_URL_S3": moto.url, "LAMBDA_BUCKET": s3_bucket}


STEPS = """
import gc, json
from functions.core import gc_hold
seen = {"import": gc.isenabled()}
from functions.aws import handler
seen["handler"] = gc.isenabled()
def call(method, path, body=""):
    event = {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
             "headers": {"content-type": "application/json"},
             "requestContext": {"http": {"method": method, "path": path}},
             "body": body, "isBase64Encoded": False}
    return handler.handler(event, None)["statusCode"]
seen["health"] = [call("GET", "/health"), call("GET", "/nowhere"), gc.isenabled()]
seen["started"] = [call("POST", "/webhook/gc", '{"n": 1}'), gc.isenabled(),
                   gc.get_freeze_count() > 0]
print(json.dumps(seen))
"""


def run(code: str, env: dict[str, str]) -> object:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **env},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_collector_waits_for_the_store_under_the_runtime(env: dict[str, str]) -> None:
    assert run(STEPS, {**env, **RUNTIME}) == {
        "import": True,
        "handler": False,  # held from the adapter's first import
        "health": [200, 404, False],  # neither opened the store: still held
        "started": [201, True, True],  # a webhook opened it: released, the start frozen
    }


def test_outside_the_runtime_the_collector_is_left_alone(env: dict[str, str]) -> None:
    assert run(STEPS, env) == {
        "import": True,
        "handler": True,
        "health": [200, 404, True],
        "started": [201, True, False],
    }


def test_a_scheduled_job_releases_it(env: dict[str, str]) -> None:
    code = """
import gc, json
from functions.aws import handler
held = not gc.isenabled()
result = handler.retry_outbox({}, None)  # no peers: nothing to send, no storage read
print(json.dumps([held, result["attempted"], gc.isenabled()]))
"""
    assert run(code, {**env, **RUNTIME}) == [True, 0, True]
