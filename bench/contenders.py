"""Our archives beside what a user would deploy instead (bench/alternatives/), run as deployed:
each unpacked, a fresh Python 3.12 with `-I -S`, CPU over a bare interpreter for the import,
the first /health and the first webhook (storage client made, one put), then the warm CPU per
webhook. Runs are interleaved; each figure's ratio to its cloud's bare app is taken per run.

    .venv/bin/python -m bench.contenders [--runs N] [--warm N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.alternatives import CONTENDERS, Contender
from bench.deployed import _stores
from stacks.packaging import (
    ROOT,
    Target,
    build_archive,
    compile_bytecode,
    find_interpreter,
    unpack,
    vendor,
    write_zip,
)
from tools import artifacts

APPS = Path(__file__).parent / "alternatives" / "apps"
CACHE = ROOT / ".build" / "contenders"
OURS = {"aws": "aws: ours", "azure": "azure: ours"}
BARE = {"aws": "aws: bare json + boto3", "azure": "azure: plain azure.functions"}

# How each platform calls the app: `call(method, path, body) -> status`.
CALLS = {
    "lambda-url": """
def call(method, path, body):
    # A Function URL event (payload 2.0), as Lambda hands it over.
    event = {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
             "headers": {"content-type": "application/json", "host": "x.lambda-url.aws"},
             "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                         "sourceIp": "127.0.0.1", "userAgent": "bench"},
                                "domainName": "x.lambda-url.aws", "requestId": "r",
                                "routeKey": "$default", "stage": "$default", "timeEpoch": 0},
             "body": body.decode(), "isBase64Encoded": False}
    return TARGET(event, None)["statusCode"]
""",
    "lambda-rest-chalice": """
def call(method, path, body):
    # A REST API event: API Gateway, which Chalice deploys, has matched the route already.
    resource, params = ("/health", None) if path == "/health" else (
        "/webhook/{source}", {"source": path.rsplit("/", 1)[1]})
    event = {"resource": resource, "path": path, "httpMethod": method,
             "headers": {"content-type": "application/json"}, "multiValueHeaders": None,
             "queryStringParameters": None, "multiValueQueryStringParameters": None,
             "pathParameters": params, "stageVariables": None,
             "requestContext": {"resourcePath": resource, "httpMethod": method, "stage": "api",
                                "path": "/api" + path, "requestId": "r"},
             "body": body.decode() or None, "isBase64Encoded": False}
    return TARGET(event, None)["statusCode"]
""",
    "azure": """
import azure.functions as func
steps["framework"] = cpu()
def call(method, path, body):
    request = func.HttpRequest(method, "https://x.azurewebsites.net" + path,
                               headers={"content-type": "application/json"},
                               route_params={"path": path.lstrip("/")}, body=body)
    return HTTP(request).status_code
""",
}
TARGETS = {
    "lambda-url": "from {entry} import handler as TARGET\n",
    "lambda-rest-chalice": "from {entry} import app as TARGET\n",
    "azure": (
        "from {entry} import app as _APP\n"
        "HTTP = {{f.get_function_name(): f for f in _APP.get_functions()}}['http']"
        ".get_user_function()\n"
    ),
}
DRIVER = """
import json, sys, time
sys.path[:0] = PATHS
cpu = lambda: time.process_time() * 1000
steps = {{}}
{call}{target}steps["import"] = cpu()
statuses = [call("GET", "/health", b"")]
steps["health"] = cpu()
statuses.append(call("POST", "/webhook/bench", b'{{"n": 1}}'))
steps["webhook"] = cpu()
for _ in range(WARM):
    statuses.append(call("POST", "/webhook/bench", b'{{"n": 2}}'))
warm = (cpu() - steps["webhook"]) / max(WARM, 1)
print(json.dumps({{"steps": steps, "statuses": sorted(set(statuses)), "warm_ms": warm}}))
"""


def _resolve(requirements: tuple[str, ...]) -> str:
    """The requirements and their dependencies at requirements.lock's pins, for the target."""
    from uv import find_uv_bin

    with tempfile.TemporaryDirectory() as tmp:
        reqs = Path(tmp) / "requirements.in"
        reqs.write_text("\n".join(requirements) + "\n")
        return subprocess.run(
            [
                *(
                    find_uv_bin(),
                    "pip",
                    "compile",
                    str(reqs),
                    "-c",
                    str(ROOT / "requirements.lock"),
                ),
                *("--no-header", "--no-annotate", "--quiet", "--python-version", "3.12"),
                *("--python-platform", Target("aws").platform),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout


def _files(contender: Contender, target: Target, staging: Path) -> dict[str, Path]:
    deps = staging / "deps"
    vendor(_resolve(contender.requirements), target, deps)
    prefix = ".python_packages/lib/site-packages/" if contender.cloud == "azure" else ""
    files = {
        prefix + p.relative_to(deps).as_posix(): p
        for p in sorted(deps.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    for package, wanted in contender.runtime_files:
        side = staging / package
        pins = _resolve((package,)).splitlines()
        vendor(next(p for p in pins if p.startswith(f"{package}==")) + "\n", target, side)
        files.update({name: side / name for name in wanted})
    files[f"{contender.entry}.py"] = APPS / contender.app
    if contender.cloud == "azure":
        files["host.json"] = ROOT / "functions/azure/host.json"
    return files


def build(contender: Contender, python: str) -> Path:
    """The contender's archive, as its cloud would receive it (cached by content)."""
    target = Target(contender.cloud, "3.12", "x86_64")
    digest = hashlib.sha256(contender.label.encode() + (APPS / contender.app).read_bytes())
    digest.update((ROOT / "requirements.lock").read_bytes() + Path(__file__).read_bytes())
    out = CACHE / f"{contender.app.removesuffix('.py')}-{digest.hexdigest()[:16]}.zip"
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            files = _files(contender, target, Path(tmp))
            compile_bytecode(files, target, python, Path(tmp))
            write_zip(files, Path(tmp) / out.name)
            os.replace(Path(tmp) / out.name, out)
    return out


def measure(
    python: str, entry: str, call: str, root: Path, cloud: str, env: dict[str, str], warm: int
) -> dict[str, Any]:
    code = f"PATHS = {artifacts.paths(cloud, root)!r}\nWARM = {warm}\n" + DRIVER.format(
        call=CALLS[call], target=TARGETS[call].format(entry=entry)
    )
    done = subprocess.run(
        [python, "-I", "-S", "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "TMPDIR": os.environ.get("TMPDIR", "/tmp"), **env},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{root.name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["statuses"] != [200, 201]:
        raise RuntimeError(
            f"{root.name} answered {result['statuses']}, not 200 and 201:\n{done.stdout[-3000:]}"
        )
    return result


def _setups(work: Path, python: str, envs: dict[str, dict[str, str]]) -> dict[str, Any]:
    """name -> (entry module, call, unpacked root, cloud, environment)."""
    setups: dict[str, Any] = {}
    for cloud, label in OURS.items():
        root = work / cloud
        unpack(build_archive(Target(cloud, "3.12", "x86_64")).path, root)
        entry, call = (
            ("functions.aws.handler", "lambda-url")
            if cloud == "aws"
            else (
                "function_app",
                "azure",
            )
        )
        setups[label] = (entry, call, root, cloud, envs[cloud])
    # Ours as the stack deploys it on AWS: the secret's ARN set (read when a route needs it).
    setups["aws: ours, secret ARN set"] = (*setups[OURS["aws"]][:4], envs["aws-secret"])
    for contender in CONTENDERS:
        root = work / contender.app.removesuffix(".py")
        unpack(build(contender, python), root)
        setups[contender.label] = (contender.entry, contender.call, root, contender.cloud)
        setups[contender.label] += (envs[contender.cloud],)
    return setups


def _summary(rows: list[dict[str, Any]], bare: list[float], base: list[dict[str, Any]]) -> Any:
    out: dict[str, Any] = {}
    for step in ("import", "health", "webhook"):
        over = [r["steps"][step] - b for r, b in zip(rows, bare, strict=True)]
        ref = [r["steps"][step] - b for r, b in zip(base, bare, strict=True)]
        out[step] = {
            "median_ms": round(statistics.median(over), 1),
            "ratio_to_bare": round(
                statistics.median(o / r for o, r in zip(over, ref, strict=True)), 2
            ),
        }
    warm = [r["warm_ms"] for r in rows]
    ratios = [r["warm_ms"] / b["warm_ms"] for r, b in zip(rows, base, strict=True)]
    out["warm_ms_per_webhook"] = {
        "median_ms": round(statistics.median(warm), 2),
        "ratio_to_bare": round(statistics.median(ratios), 2),
    }
    return out


def run(runs: int = 5, warm: int = 100) -> dict[str, Any]:
    python = find_interpreter("3.12")
    if python is None:
        return {"skipped": "no Python 3.12 on this machine"}
    with tempfile.TemporaryDirectory(prefix="lambda-contenders-") as tmp:
        work = Path(tmp)
        servers, envs = _stores(work)
        aws = envs["aws"]
        envs["aws-secret"] = aws
        envs["aws"] = {k: v for k, v in aws.items() if k != "LAMBDA_SECRETS_ARN"}
        envs["aws"]["LAMBDA_READ_TOKEN"] = artifacts.READ_TOKEN
        try:
            setups = _setups(work, python, envs)
            samples: dict[str, list[dict[str, Any]]] = {name: [] for name in setups}
            bare: list[float] = []
            for _ in range(runs):  # interleaved: a drift of the machine hits every setup alike
                bare.append(artifacts.bare_cpu_ms(python))
                for name, (entry, call, root, cloud, env) in setups.items():
                    samples[name].append(measure(python, entry, call, root, cloud, env, warm))
        finally:
            for server in servers:
                server.stop()
    out: dict[str, Any] = {"python": python, "runs": runs, "warm_webhooks": warm, "setups": {}}
    for name, rows in samples.items():
        cloud = setups[name][3]
        out["setups"][name] = _summary(rows, bare, samples[BARE[cloud]])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warm", type=int, default=100)
    args = parser.parse_args()
    print(json.dumps(run(args.runs, args.warm), indent=2))


if __name__ == "__main__":
    main()
