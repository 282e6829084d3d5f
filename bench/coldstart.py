"""Cold start per entry point: a fresh interpreter to its first /health and first /webhook
response (storage on the emulators), next to a bare interpreter that only starts.

    .venv/bin/python -m bench.coldstart [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tools import emulators
from tools.processes import ROOT

# What the platform's host has imported before it loads our module (its own framework).
FRAMEWORKS = {"gcp": "functions_framework", "azure": "azure.functions"}

PROBES: dict[str, tuple[str, str]] = {
    # entry point: (module imported, code that answers one request `call(method, path, body)`)
    "local": (
        "functions.local.server",
        """
from functions.local.server import build_app
from functions.core.settings import Settings
from functions.core.http import Request
app = build_app(Settings.from_env())
def call(method, path, body):
    return app.handle(Request(method, path, {"content-type": "application/json"}, {}, body)).status
""",
    ),
    "aws": (
        "functions.aws.handler",
        """
from functions.aws.handler import handler
def call(method, path, body):
    # The runtime hands the handler an already parsed Function URL event (payload 2.0).
    event = {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
             "headers": {"content-type": "application/json"},
             "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"},
             "body": body.decode(), "isBase64Encoded": False}
    return handler(event, None)["statusCode"]
""",
    ),
    "gcp": (
        "functions.gcp.main",
        """
import flask
from functions.gcp.main import handle
app = flask.Flask("bench")
def call(method, path, body):
    with app.test_request_context(path, method=method, data=body,
                                  content_type="application/json"):
        return handle(flask.request)[1]
""",
    ),
    "azure": (
        "functions.azure.function_app",
        """
import azure.functions as func
from functions.azure.function_app import app
fn = {f.get_function_name(): f for f in app.get_functions()}["http"]
user = fn.get_user_function()
def call(method, path, body):
    req = func.HttpRequest(method, "https://x.azurewebsites.net" + path,
                           headers={"content-type": "application/json"}, body=body,
                           route_params={"path": path.lstrip("/")})
    return user(req).status_code
""",
    ),
}

MEASURE = """
import time, sys
{probe}
status = call({method!r}, {path!r}, b'{{"bench": true}}')
sys.stdout.write(f"RESULT {{status}}\\n")
"""


def spawn_ms(code: str, env: dict[str, str]) -> tuple[float, str]:
    """Wall time from spawning `python -c code` to the line it prints when it has answered."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    while line and not line.startswith("RESULT "):  # the app's own log lines come first
        line = proc.stdout.readline()
    elapsed = (time.perf_counter() - start) * 1000
    proc.wait()
    return elapsed, line.split()[1] if line else "no answer"


def import_ms(module: str, env: dict[str, str]) -> tuple[float, list[tuple[str, float]]]:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    rows = []
    for line in out.splitlines():
        if line.startswith("import time:") and "|" in line and "self" not in line:
            _, cumulative, name = (part.strip() for part in line[12:].split("|"))
            rows.append((name, int(cumulative) / 1000))
    total = next(ms for name, ms in reversed(rows) if name.strip() == module)
    top = sorted(
        ((n.strip(), ms) for n, ms in rows if n.startswith(" ") is False), key=lambda r: -r[1]
    )
    return total, top[:5]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def environment(log_dir: Path) -> tuple[dict[str, str], list[Any]]:
    moto, gcs, azurite = (
        emulators.start_moto(log_dir),
        emulators.start_fake_gcs(log_dir),
        emulators.start_azurite(log_dir),
    )
    import boto3
    from azure.storage.blob import BlobServiceClient

    env = {
        **os.environ,
        **emulators.AWS_ENV,
        "PYTHONPATH": str(ROOT),
        "AWS_ENDPOINT_URL_S3": moto.url,
        "STORAGE_EMULATOR_HOST": gcs.url,
        "LAMBDA_BUCKET": "bench",
        "DATA_DIR": str(log_dir / "data"),
        "LAMBDA_AZURE_CONNECTION_STRING": emulators.azurite_connection_string(azurite),
    }
    os.environ.update(env)
    boto3.client("s3").create_bucket(Bucket="bench")
    from functions.gcp.store import _client

    _client(gcs.url).create_bucket("bench")
    BlobServiceClient.from_connection_string(
        env["LAMBDA_AZURE_CONNECTION_STRING"]
    ).create_container("bench")
    return env, [moto, gcs, azurite]


def run(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        env, servers = environment(Path(tmp))
        try:
            bare = [
                spawn_ms("import sys; sys.stdout.write('RESULT 0\\n')", env)[0] for _ in range(runs)
            ]
            results: dict[str, Any] = {"bare_interpreter_ms": summary(bare), "entry_points": {}}
            for name, (module, probe) in PROBES.items():
                health, webhook = [], []
                for _ in range(runs):
                    ms, status = spawn_ms(
                        MEASURE.format(probe=probe, method="GET", path="/health"), env
                    )
                    assert status == "200", (name, status)
                    health.append(ms)
                    ms, status = spawn_ms(
                        MEASURE.format(probe=probe, method="POST", path="/webhook/bench"), env
                    )
                    assert status == "201", (name, status)
                    webhook.append(ms)
                total, top = import_ms(module, env)
                framework = FRAMEWORKS.get(name)
                base = bare
                if framework:
                    code = f"import {framework}, sys; sys.stdout.write('RESULT 0\\n')"
                    base = [spawn_ms(code, env)[0] for _ in range(runs)]
                results["entry_points"][name] = {
                    "import_ms": round(total, 1),
                    "first_health_ms": summary(health),
                    "first_webhook_ms": summary(webhook),
                    "health_over_bare_ms": round(
                        statistics.median(health) - statistics.median(bare), 1
                    ),
                    "framework": framework,
                    "health_over_framework_ms": round(
                        statistics.median(health) - statistics.median(base), 1
                    ),
                    "importtime_top": [{"module": m, "ms": round(v, 1)} for m, v in top],
                }
            return results
        finally:
            for server in servers:
                server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    print(json.dumps(run(parser.parse_args().runs), indent=2))


if __name__ == "__main__":
    main()
