"""The archives as the platforms run them: unpacked, on the target Python with nothing but the
archive and the standard library (`-I -S`), every route's first request against a real storage
emulator. This is the proof that pruning removed nothing the function imports, and that the
shipped bytecode is complete (the run writes no file into the package)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from stacks.packaging import Target, build_archive, find_interpreter, unpack
from tools import artifacts, emulators
from tools.processes import Server

PYTHON = find_interpreter("3.12")
pytestmark = [
    pytest.mark.skipif(PYTHON is None, reason="no Python 3.12 on this machine"),
    pytest.mark.isolated,
]


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """AWS on x86_64 (this machine's architecture; the default arm64 build differs only in its
    native wheels) and Azure, each unpacked once."""
    roots = {}
    for cloud, arch in (("aws", "x86_64"), ("azure", "x86_64")):
        archive = build_archive(Target(cloud, "3.12", arch), tmp_path_factory.mktemp(f"{cloud}-b"))
        roots[cloud] = tmp_path_factory.mktemp(f"{cloud}-app")
        unpack(archive.path, roots[cloud])
    return roots


def check(result: dict, root: Path, before: set[str]) -> None:
    assert result["statuses"] == {"health": 200, "webhook": 201, "query": 200}, result
    assert result["outside"] == [], "modules loaded from outside the archive"
    assert artifacts.snapshot(root) == before, "the run wrote into the package (missing bytecode?)"
    assert "functions/core/app.py" in result["loaded"]
    assert any(name.endswith("_duckdb.abi3.so") for name in result["loaded"]), "/query ran DuckDB"


def test_the_loaded_size_counts_each_loaded_module_with_its_bytecode_and_nothing_else(
    tmp_path: Path,
) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        for name, size in {
            "app.py": 10,
            "__pycache__/app.cpython-312.pyc": 20,
            "pkg/mod.py": 100,
            "pkg/__pycache__/mod.cpython-312.pyc": 200,
            "pkg/unused.py": 1000,
            "pkg/__pycache__/unused.cpython-312.pyc": 2000,
            "lib.abi3.so": 5000,
        }.items():
            z.writestr(name, b"x" * size)
    sizes = artifacts.loaded_zipped_bytes(archive, ["app.py", "pkg/mod.py", "lib.abi3.so"])
    assert sizes == {"app.py": 30, "pkg/mod.py": 300, "lib.abi3.so": 5000}


def test_the_aws_archive_answers_every_route_against_s3(
    unpacked: dict[str, Path], moto: Server, s3_bucket: str
) -> None:
    root = unpacked["aws"]
    before = artifacts.snapshot(root)
    import json

    import boto3

    # Its secrets come from Secrets Manager, as deployed (the read token among them), through
    # the pruned botocore's secretsmanager model.
    secret = boto3.client("secretsmanager", endpoint_url=moto.url).create_secret(
        Name=f"artifact-{s3_bucket}",
        SecretString=json.dumps({"LAMBDA_READ_TOKEN": artifacts.READ_TOKEN}),
    )["ARN"]
    env = {
        **emulators.AWS_ENV,
        "AWS_ENDPOINT_URL_S3": moto.url,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto.url,
        "LAMBDA_SECRETS_ARN": secret,
        "LAMBDA_BUCKET": s3_bucket,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    }
    assert PYTHON is not None
    check(artifacts.run(PYTHON, "aws", root, env), root, before)


def test_the_azure_archive_answers_every_route_against_blob_storage(
    unpacked: dict[str, Path], azure_container: tuple[str, str]
) -> None:
    root = unpacked["azure"]
    before = artifacts.snapshot(root)
    conn, container = azure_container
    env = {
        "LAMBDA_AZURE_CONNECTION_STRING": conn,
        "LAMBDA_BUCKET": container,
        "LAMBDA_MEMORY_MB": "2048",
    }
    assert PYTHON is not None
    check(artifacts.run(PYTHON, "azure", root, env), root, before)
