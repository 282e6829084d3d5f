"""Our archives beside what a user would deploy instead (bench/alternatives/), run as deployed:
each unpacked, a fresh Python 3.12 with `-I -S`, CPU over a bare interpreter for the import,
the first /health and the first webhook (storage client made, one put), then the warm CPU per
webhook. Runs are interleaved; each figure's ratio to its cloud's bare app is taken per run.

    .venv/bin/python -m bench.contenders [--runs N] [--warm N] [--cloud aws|gcp|azure ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import buildpack
from bench.alternatives import CONTENDERS, Contender
from bench.contender_calls import CALLS, DRIVER, TARGETS
from bench.deployed import _stores
from stacks.packaging import (
    ROOT,
    Target,
    build_archive,
    compile_bytecode,
    find_interpreter,
    resolve_pinned,
    unpack,
    vendor,
    write_zip,
)
from tools import artifacts, emulators
from tools.processes import stop_all

APPS = Path(__file__).parent / "alternatives" / "apps"
CACHE = ROOT / ".build" / "contenders"
CLOUDS = ("aws", "gcp", "azure")
OURS = {"aws": "aws: ours", "gcp": "gcp: ours", "azure": "azure: ours"}
BARE = {
    "aws": "aws: bare json + boto3",
    "gcp": "gcp: plain functions-framework",
    "azure": "azure: plain azure.functions",
}
# Ours per cloud: the module the platform loads, and how it calls it (bench/contender_calls.py).
ENTRIES = {
    "aws": ("functions.aws.handler", "lambda-url"),
    "gcp": ("main", "gcp"),
    "azure": ("function_app", "azure"),
}
BUCKET = "bench-deployed"


@dataclass(frozen=True)
class Setup:
    entry: str
    call: str
    root: Path  # the unpacked package
    cloud: str
    env: dict[str, str]
    flags: tuple[str, ...] = ()  # the interpreter's, after `-I -S`

    @property
    def paths(self) -> list[str]:
        """What the platform puts on sys.path before it loads the app."""
        if self.cloud == "gcp":
            return [str(buildpack.layer(self.root))]
        return artifacts.paths(self.cloud, self.root)


def _resolve(requirements: tuple[str, ...]) -> str:
    """The requirements and their dependencies at requirements.lock's pins, for the target."""
    return resolve_pinned(
        requirements, "--python-version", "3.12", "--python-platform", Target("aws").platform
    )


def _files(contender: Contender, target: Target, staging: Path) -> dict[str, Path]:
    if contender.cloud == "gcp":  # a source upload: Cloud Build installs requirements.txt
        requirements = staging / "requirements.txt"
        requirements.write_text(_resolve(contender.requirements))
        return {"requirements.txt": requirements, f"{contender.entry}.py": APPS / contender.app}
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


def upload(contender: Contender, python: str) -> Path:
    """The contender's archive, as its cloud receives it (cached by content)."""
    target = Target(contender.cloud, "3.12", "x86_64")
    digest = hashlib.sha256(contender.label.encode() + (APPS / contender.app).read_bytes())
    digest.update((ROOT / "requirements.lock").read_bytes() + Path(__file__).read_bytes())
    out = CACHE / f"{contender.app.removesuffix('.py')}-{digest.hexdigest()[:16]}.zip"
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            files = _files(contender, target, Path(tmp))
            if contender.cloud != "gcp":
                compile_bytecode(files, target, python, Path(tmp))
            write_zip(files, Path(tmp) / out.name)
            os.replace(Path(tmp) / out.name, out)
    return out


def build(contender: Contender, python: str) -> Path:
    """What runs: the upload itself, or on GCP what Cloud Build makes of it."""
    out = upload(contender, python)
    return buildpack.build(out, python, CACHE) if contender.cloud == "gcp" else out


def ours(cloud: str, python: str) -> Path:
    """Our archive for the cloud as `pulumi up` builds it; on GCP, as Cloud Build installs it."""
    archive = build_archive(Target(cloud, "3.12", "x86_64")).path
    return buildpack.build(archive, python, CACHE) if cloud == "gcp" else archive


def measure(python: str, setup: Setup, warm: int) -> dict[str, Any]:
    code = f"PATHS = {setup.paths!r}\nROOT = {str(setup.root)!r}\nWARM = {warm}\n" + DRIVER.format(
        call=CALLS[setup.call], target=TARGETS[setup.call].format(entry=setup.entry)
    )
    done = subprocess.run(
        [python, "-I", "-S", *setup.flags, "-c", code],
        cwd=setup.root,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "TMPDIR": os.environ.get("TMPDIR", "/tmp"), **setup.env},
    )
    name = setup.root.name
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["statuses"] != [200, 201]:
        raise RuntimeError(
            f"{name} answered {result['statuses']}, not 200 and 201:\n{done.stdout[-3000:]}"
        )
    return result


def setups(
    work: Path, python: str, envs: dict[str, dict[str, str]], clouds: tuple[str, ...] = CLOUDS
) -> dict[str, Setup]:
    """Per cloud, ours and then its contenders, each unpacked under `work`, by label."""
    found: dict[str, Setup] = {}
    for cloud in clouds:
        # GCP's sources ship without bytecode, and a new instance starts from the image: `-B`
        # compiles them at every start and writes nothing, as there (bench/buildpack.py).
        flags = ("-B",) if cloud == "gcp" else ()
        unpack(ours(cloud, python), work / cloud)
        found[OURS[cloud]] = Setup(*ENTRIES[cloud], work / cloud, cloud, envs[cloud], flags)
        if cloud == "aws":  # as the stack deploys it: the secret's ARN set (read when needed)
            found["aws: ours, secret ARN set"] = Setup(
                *ENTRIES[cloud], work / cloud, cloud, envs["aws-secret"]
            )
        for contender in (c for c in CONTENDERS if c.cloud == cloud):
            root = work / contender.app.removesuffix(".py")
            unpack(build(contender, python), root)
            found[contender.label] = Setup(
                contender.entry, contender.call, root, cloud, envs[cloud], flags
            )
    return found


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


def gcs_env(url: str, bucket: str = BUCKET) -> dict[str, str]:
    """A GCP function's environment as the stack sets it (the read token is a secret
    environment variable there), with the platform's own variables, on fake-gcs-server."""
    return {
        "STORAGE_EMULATOR_HOST": url,
        "LAMBDA_BUCKET": bucket,
        "LAMBDA_READ_TOKEN": artifacts.READ_TOKEN,
        "LAMBDA_MEMORY_MB": "512",
        "K_SERVICE": "bench",
        "FUNCTION_TARGET": "handle",
        "FUNCTION_SIGNATURE_TYPE": "http",
    }


def _create_bucket(url: str) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    # The endpoint given, not STORAGE_EMULATOR_HOST: this process's environment stays as it is.
    client = storage.Client(
        project="bench",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": url},
    )
    client.create_bucket(BUCKET)


def environments(work: Path, clouds: tuple[str, ...]) -> tuple[list[Any], dict[str, Any]]:
    """The emulators the clouds need, started, with each cloud's environment."""
    servers: list[Any] = []
    envs: dict[str, dict[str, str]] = {}
    try:
        if {"aws", "azure"} & set(clouds):
            servers, envs = _stores(work)
            aws = envs["aws-secret"] = envs["aws"]
            envs["aws"] = {k: v for k, v in aws.items() if k != "LAMBDA_SECRETS_ARN"}
            envs["aws"]["LAMBDA_READ_TOKEN"] = artifacts.READ_TOKEN
        if "gcp" in clouds:
            gcs = emulators.start_fake_gcs(work)
            servers.append(gcs)
            _create_bucket(gcs.url)
            envs["gcp"] = gcs_env(gcs.url)
    except BaseException:
        stop_all(servers)
        raise
    return servers, envs


def run(runs: int = 5, warm: int = 100, clouds: tuple[str, ...] = CLOUDS) -> dict[str, Any]:
    python = find_interpreter("3.12")
    if python is None:
        return {"skipped": "no Python 3.12 on this machine"}
    with tempfile.TemporaryDirectory(prefix="lambda-contenders-") as tmp:
        work = Path(tmp)
        servers, envs = environments(work, clouds)
        try:
            found = setups(work, python, envs, clouds)
            samples: dict[str, list[dict[str, Any]]] = {name: [] for name in found}
            bare: list[float] = []
            for _ in range(runs):  # interleaved: a drift of the machine hits every setup alike
                bare.append(artifacts.bare_cpu_ms(python))
                for name, setup in found.items():
                    samples[name].append(measure(python, setup, warm))
        finally:
            stop_all(servers)
    out: dict[str, Any] = {"python": python, "runs": runs, "warm_webhooks": warm, "setups": {}}
    for name, rows in samples.items():
        out["setups"][name] = _summary(rows, bare, samples[BARE[found[name].cloud]])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warm", type=int, default=100)
    parser.add_argument("--cloud", action="append", choices=CLOUDS, help="default: all three")
    args = parser.parse_args()
    print(json.dumps(run(args.runs, args.warm, tuple(args.cloud or CLOUDS)), indent=2))


if __name__ == "__main__":
    main()
