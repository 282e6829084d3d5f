"""Cold start of the archives as deployed: each unpacked into its own directory, run by a fresh
Python 3.12 that sees only the archive and the standard library (`-I -S`), against the storage
emulators; CPU milliseconds over a bare interpreter for the first /health, the first /webhook
(storage client created, one put) and the first /query. Runs are interleaved across clouds.

    .venv/bin/python -m bench.deployed [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from stacks.packaging import Target, build_archive, find_interpreter, unpack
from tools import artifacts, emulators

TARGETS = {"aws": Target("aws", "3.12", "x86_64"), "azure": Target("azure", "3.12", "x86_64")}
# Each archive as shipped, and the same files without their bytecode on a read-only package
# (`-B`: nothing written, so every start compiles), which is how they shipped before.
VARIANTS = {
    "aws": ("aws", ()),
    "azure": ("azure", ()),
    "aws, no bytecode": ("aws", ("-B",)),
    "azure, no bytecode": ("azure", ("-B",)),
}


def spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 1), "min": min(values), "max": max(values)}


def _stores(work: Path) -> tuple[list[Any], dict[str, dict[str, str]]]:
    moto, azurite = emulators.start_moto(work), emulators.start_azurite(work)
    os.environ.update({**emulators.AWS_ENV, "AWS_ENDPOINT_URL_S3": moto.url})
    import boto3
    from azure.storage.blob import BlobServiceClient

    boto3.client("s3").create_bucket(Bucket="bench-deployed")
    # The function's secrets, as the stack keeps them: read once per instance, on first use.
    secret = boto3.client("secretsmanager", endpoint_url=moto.url).create_secret(
        Name="bench-deployed-secrets",
        SecretString=json.dumps({"LAMBDA_READ_TOKEN": artifacts.READ_TOKEN}),
    )["ARN"]
    conn = emulators.azurite_connection_string(azurite)
    BlobServiceClient.from_connection_string(conn).create_container("bench-deployed")
    envs = {
        "aws": {
            **emulators.AWS_ENV,
            "AWS_ENDPOINT_URL_S3": moto.url,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto.url,
            "LAMBDA_SECRETS_ARN": secret,
            "LAMBDA_BUCKET": "bench-deployed",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            # Set by Lambda in every function's environment (the runtime interface's address).
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        },
        "azure": {
            "LAMBDA_AZURE_CONNECTION_STRING": conn,
            "LAMBDA_BUCKET": "bench-deployed",
            "LAMBDA_MEMORY_MB": "2048",
            # Set in every Flex and Linux Consumption instance (the Functions host reads it as
            # the instance's id; the Python worker's `is_azure_environment` checks it).
            "CONTAINER_NAME": "bench",
        },
    }
    return [moto, azurite], envs


def run(runs: int = 5) -> dict[str, Any]:
    python = find_interpreter("3.12")
    if python is None:
        return {"skipped": "no Python 3.12 on this machine"}
    with tempfile.TemporaryDirectory(prefix="lambda-deployed-") as tmp:
        work = Path(tmp)
        roots: dict[str, Path] = {}
        for cloud, target in TARGETS.items():
            roots[cloud] = work / cloud
            unpack(build_archive(target).path, roots[cloud])
            stripped = roots[f"{cloud}, no bytecode"] = work / f"{cloud}-source-only"
            unpack(build_archive(target).path, stripped)
            for cache in sorted(stripped.rglob("__pycache__"), reverse=True):
                shutil.rmtree(cache)
        servers, envs = _stores(work)
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
        bare: list[float] = []
        try:
            for _ in range(runs):  # interleaved: a drift of the machine hits every cloud alike
                bare.append(artifacts.bare_cpu_ms(python))
                for name, (cloud, flags) in VARIANTS.items():
                    samples[name].append(
                        artifacts.run(python, cloud, roots[name], envs[cloud], flags)
                    )
        finally:
            for server in servers:
                server.stop()
    base = statistics.median(bare)
    out: dict[str, Any] = {"python": python, "runs": runs, "bare_cpu_ms": spread(bare)}
    for cloud, rows in samples.items():
        steps = rows[0]["steps"].keys()
        out[cloud] = {
            step: spread([round(r["steps"][step] - base, 1) for r in rows]) for step in steps
        }
        out[cloud]["process_cpu_ms"] = spread([r["process_cpu_ms"] for r in rows])
    for cloud, target in TARGETS.items():
        loaded = artifacts.loaded_zipped_bytes(
            build_archive(target).path, samples[cloud][0]["loaded"]
        )
        largest = sorted(loaded.items(), key=lambda item: -item[1])[:3]
        out[cloud]["loaded"] = {
            "zipped_mib": round(sum(loaded.values()) / 2**20, 2),
            "files": len(loaded),
            "largest": [{"name": Path(k).name, "mib": round(v / 2**20, 2)} for k, v in largest],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    print(json.dumps(run(parser.parse_args().runs), indent=2))


if __name__ == "__main__":
    main()
