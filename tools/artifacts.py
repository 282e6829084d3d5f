"""Run a built archive as its platform does: unpacked, with nothing but the archive and the
standard library on the path (`python -I -S`), on the target Python, and time each first step.

Used by the tests (every route answers from the pruned archive, and no bytecode has to be
written) and by the benchmark (CPU milliseconds over a bare interpreter).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

# Each step's request, made the way the platform would: a Function URL event (payload 2.0) on
# AWS, a func.HttpRequest on Azure. The driver prints one JSON line: per step the status and the
# process's CPU time (ms) when the step ended, and any module loaded from outside the archive.
_COMMON = """
import json, sys, time
sys.path[:0] = PATHS
cpu = lambda: round(time.process_time() * 1000, 2)
steps, statuses = {}, {}
today = time.strftime("%Y-%m-%d", time.gmtime())
HEADERS = {"content-type": "application/json", "authorization": "Bearer " + READ_TOKEN}
REQUESTS = [
    ("health", "GET", "/health", "", b""),
    ("webhook", "POST", "/webhook/artifact", "", b'{"n": 1}'),
    ("query", "GET", "/query", "source=artifact&date=" + today, b""),
]
"""

_AWS = """
from functions.aws.handler import handler
steps["import"] = cpu()
for name, method, path, query, body in REQUESTS:
    event = {"version": "2.0", "rawPath": path, "rawQueryString": query,
             "headers": HEADERS,
             "requestContext": {"http": {"method": method}, "stage": "$default"},
             "body": body.decode(), "isBase64Encoded": False}
    statuses[name] = handler(event, None)["statusCode"]
    steps[name] = cpu()
"""

_AZURE = """
import azure.functions as func
steps["framework"] = cpu()
from function_app import app
steps["import"] = cpu()
http = {f.get_function_name(): f for f in app.get_functions()}["http"].get_user_function()
for name, method, path, query, body in REQUESTS:
    params = dict(p.split("=", 1) for p in query.split("&") if p)
    request = func.HttpRequest(method, "https://x.azurewebsites.net" + path + "?" + query,
                               headers=HEADERS, params=params,
                               route_params={"path": path.lstrip("/")}, body=body)
    statuses[name] = http(request).status_code
    steps[name] = cpu()
"""

_REPORT = """
stdlib = sys.base_prefix
outside = sorted(m for m, mod in list(sys.modules.items())
                 if getattr(mod, "__file__", None)
                 and not any(mod.__file__.startswith(p) for p in PATHS)
                 and not mod.__file__.startswith(stdlib))
loaded = sorted({mod.__file__[len(PATHS[0]) + 1:] for mod in list(sys.modules.values())
                 if (getattr(mod, "__file__", None) or "").startswith(PATHS[0] + "/")})
print(json.dumps({"steps": steps, "statuses": statuses, "outside": outside, "loaded": loaded}))
"""

DRIVERS = {"aws": _AWS, "azure": _AZURE}
READ_TOKEN = "artifact-read-token"


def paths(cloud: str, root: Path) -> list[str]:
    """Where the platform looks for the app's code: the archive's root (Lambda's /var/task),
    plus .python_packages on Azure."""
    found = [str(root)]
    if cloud == "azure":
        found.append(str(root / ".python_packages/lib/site-packages"))
    return found


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def run(
    python: str, cloud: str, root: Path, env: Mapping[str, str], flags: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Run the three first requests in a fresh process; add its total CPU time (ms). `-B` in
    `flags` stands for a read-only package without bytecode: compiled at every start."""
    code = (
        f"PATHS = {paths(cloud, root)!r}\nREAD_TOKEN = {READ_TOKEN!r}\n"
        + _COMMON
        + DRIVERS[cloud]
        + _REPORT
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-I", "-S", *flags, "-c", code],
        cwd=root,  # the working directory is the (read-only) package, as on the platforms
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PATH": "/usr/bin:/bin",
            "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
            # Azure's references resolve to environment variables; AWS reads its secret itself.
            **({} if "LAMBDA_SECRETS_ARN" in env else {"LAMBDA_READ_TOKEN": READ_TOKEN}),
            **env,
        },
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{cloud} artifact failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_cpu_ms"] = round(
        ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000, 1
    )
    result["wall_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def loaded_zipped_bytes(archive: Path, loaded: list[str]) -> dict[str, int]:
    """The zipped bytes of what a run loaded: each imported module's file, with its bytecode
    beside it, and every extension library. No pruning can make an archive smaller than this
    without removing code the function runs."""
    wanted = set(loaded)
    sizes: dict[str, int] = {}
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            path = PurePosixPath(info.filename)
            if path.parent.name == "__pycache__":  # pkg/__pycache__/m.cpython-312.pyc: pkg/m.py
                path = path.parent.parent / (path.name.split(".", 1)[0] + ".py")
            name = str(path)
            if name in wanted:
                sizes[name] = sizes.get(name, 0) + info.compress_size
    return sizes


def bare_cpu_ms(python: str) -> float:
    """A bare interpreter's start and exit, the baseline every figure is taken over."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([python, "-I", "-S", "-c", "pass"], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(
        ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000, 1
    )
