"""Under the Lambda runtime, the collector is held from the adapter's first import until the
app has started (functions/aws/__init__.py, functions/core/gc_hold.py; docs/deploying.md,
cold starts). Each case is a fresh interpreter, as an instance is."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tools.processes import ROOT

LAMBDA = {
    "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",  # what the runtime sets in every function
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "LAMBDA_BUCKET": "gc-hold",
}

STEPS = """
import gc, json
from functions.core import gc_hold
seen = {"import": gc.isenabled()}
from functions.aws import handler
seen["handler"] = gc.isenabled()
def call(path):
    event = {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
             "headers": {}, "requestContext": {"http": {"method": "GET", "path": path}},
             "body": "", "isBase64Encoded": False}
    return handler.handler(event, None)["statusCode"]
seen["health"] = [call("/health"), call("/health"), gc.isenabled()]
seen["started"] = [call("/nowhere"), gc.isenabled(), gc.get_freeze_count() > 0]
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


def test_the_collector_waits_for_the_started_app_under_the_runtime() -> None:
    assert run(STEPS, LAMBDA) == {
        "import": True,
        "handler": False,  # held from the adapter's first import
        "health": [200, 200, False],  # /health builds no full app: still held
        "started": [404, True, True],  # the full app answered: released, the start frozen
    }


def test_outside_the_runtime_the_collector_is_left_alone() -> None:
    env = {k: v for k, v in LAMBDA.items() if k != "AWS_LAMBDA_RUNTIME_API"}
    seen = run(STEPS, env)
    assert seen == {
        "import": True,
        "handler": True,
        "health": [200, 200, True],
        "started": [404, True, False],
    }


def test_a_scheduled_job_releases_it() -> None:
    code = """
import gc, json
from functions.aws import handler
held = not gc.isenabled()
result = handler.retry_outbox({}, None)  # no peers: nothing to send, no storage read
print(json.dumps([held, result["attempted"], gc.isenabled()]))
"""
    assert run(code, LAMBDA) == [True, 0, True]
