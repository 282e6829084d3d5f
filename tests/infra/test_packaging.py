"""Each cloud's archive, built for real: layout, byte-identical rebuilds, and a fresh
interpreter of the target Python version that imports the entry point from the unpacked archive
alone and answers /health."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from stacks.packaging import (
    Archive,
    Target,
    build_archive,
    content_key,
    find_interpreter,
    unpack,
    vendor,
)

DEFAULT_TARGETS = {
    "aws": Target("aws", "3.12", "arm64"),
    "gcp": Target("gcp", "3.12"),
    "azure": Target("azure", "3.12"),
}


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Archive, Archive]]:
    """Each default archive built twice from scratch, in two separate caches."""
    built = {}
    for cloud, target in DEFAULT_TARGETS.items():
        first = build_archive(target, tmp_path_factory.mktemp(f"{cloud}-a"))
        second = build_archive(target, tmp_path_factory.mktemp(f"{cloud}-b"))
        built[cloud] = (first, second)
    return built


@pytest.mark.parametrize("cloud", list(DEFAULT_TARGETS))
def test_rebuilding_an_unchanged_tree_gives_a_byte_identical_archive(
    archives: dict[str, tuple[Archive, Archive]], cloud: str
) -> None:
    first, second = archives[cloud]
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.object_name == f"lambda-{cloud}-{first.sha256[:16]}.zip"


def names(archive: Archive) -> list[str]:
    with zipfile.ZipFile(archive.path) as z:
        return z.namelist()


def test_every_archive_holds_the_core_and_its_own_adapter_only(
    archives: dict[str, tuple[Archive, Archive]],
) -> None:
    for cloud, (archive, _) in archives.items():
        files = names(archive)
        assert "functions/core/app.py" in files, cloud
        adapters = {
            n.split("/")[1]
            for n in files
            if n.startswith("functions/") and n.count("/") > 1 and "__pycache__" not in n
        }
        assert adapters == {"core", cloud}, cloud
        assert not any(
            n.startswith(("pulumi", "stacks/", "tests/")) or "/pulumi/" in n for n in files
        ), cloud
        # Bytecode beside every source the archive holds (on GCP, Cloud Build compiles the
        # dependencies it installs, never the uploaded sources: stacks/packaging.py)
        sources = {n for n in files if n.endswith(".py")}
        for source in sources:
            folder, _, module = source.rpartition("/")
            pyc = f"{folder}/__pycache__/{module[:-3]}.cpython-312.pyc".lstrip("/")
            assert pyc in files, (cloud, source)
        with zipfile.ZipFile(archive.path) as z:
            assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}, cloud


def test_aws_layout_has_the_handler_and_arm64_dependencies_at_the_root(
    archives: dict[str, tuple[Archive, Archive]],
) -> None:
    files = names(archives["aws"][0])
    assert "functions/aws/handler.py" in files
    assert "botocore/__init__.py" in files
    # botocore alone, its data cut to the operations the function calls (stacks/boto_models.py)
    assert not any(n.startswith(("boto3", "s3transfer")) for n in files)
    assert "botocore/data/s3/2006-03-01/service-2.json" in files
    assert not any(n.endswith(("examples-1.json", "service-2.json.gz")) for n in files)
    # the endpoint rules as plain JSON, cut to the pinned parameters (nothing to unzip at start)
    assert "botocore/data/s3/2006-03-01/endpoint-rule-set-1.json" in files
    assert not any(n.endswith("endpoint-rule-set-1.json.gz") for n in files)
    native = [n for n in files if n.startswith("_duckdb") and n.endswith(".so")]
    assert native, "duckdb's native module is missing"
    with zipfile.ZipFile(archives["aws"][0].path) as z:
        header = z.read(native[0])[:20]
    assert header[:4] == b"\x7fELF"
    assert int.from_bytes(header[18:20], "little") == 183
    assert any(n.startswith("duckdb-2.0.0.dist-info/") for n in files)  # not an old DuckDB


def test_gcp_layout_has_main_and_pinned_requirements_at_the_root(
    archives: dict[str, tuple[Archive, Archive]],
) -> None:
    with zipfile.ZipFile(archives["gcp"][0].path) as z:
        files = z.namelist()
        requirements = z.read("requirements.txt").decode()
        main = z.read("main.py")
    assert "main.py" in files
    assert main == Path("functions/gcp/main.py").read_bytes()
    pins = [line for line in requirements.splitlines() if line and not line.startswith("#")]
    assert any(p.startswith("functions-framework==") for p in pins)
    assert any(p.startswith("google-cloud-storage==") for p in pins)
    assert all("==" in p for p in pins), pins
    assert not any(p.startswith(("pulumi", "boto3", "azure")) for p in pins)


def test_azure_layout_vendors_dependencies_under_python_packages(
    archives: dict[str, tuple[Archive, Archive]],
) -> None:
    files = names(archives["azure"][0])
    assert {"function_app.py", "host.json"} <= set(files)
    site = ".python_packages/lib/site-packages/"
    assert f"{site}azure/storage/blob/__init__.py" in files
    assert f"{site}azure/functions/__init__.py" in files
    (native,) = [n for n in files if n.startswith(f"{site}_duckdb") and n.endswith(".so")]
    with zipfile.ZipFile(archives["azure"][0].path) as z:
        header = z.read(native)[:20]
    assert int.from_bytes(header[18:20], "little") == 62  # x86-64: Flex runs on x86 only
    assert not any(n.startswith("boto3") or n.startswith(f"{site}boto3") for n in files)


def test_a_changed_source_tree_changes_the_content_key(tmp_path: Path) -> None:
    target = DEFAULT_TARGETS["gcp"]
    before = content_key(target)
    probe = Path("functions/gcp/_probe_for_test.py")
    probe.write_text("X = 1\n")
    try:
        assert content_key(target) != before
    finally:
        probe.unlink()
    assert content_key(target) == before


HEALTH = {
    "aws": (
        "from functions.aws.handler import handler\n"
        "e = {'version': '2.0', 'rawPath': '/health', 'rawQueryString': '', 'headers': {},"
        " 'requestContext': {'http': {'method': 'GET'}, 'stage': '$default'},"
        " 'isBase64Encoded': False}\n"
        "print(handler(e, None)['body'])\n"
    ),
    "gcp": (
        "import flask\nfrom main import handle\n"
        "with flask.Flask('t').test_request_context('/health'):\n"
        "    print(handle(flask.request)[0].decode())\n"
    ),
    "azure": (
        "import azure.functions as func\nfrom function_app import app\n"
        "fn = {f.get_function_name(): f for f in app.get_functions()}['http']\n"
        "r = func.HttpRequest('GET', 'https://x.azurewebsites.net/health', headers={},"
        " body=b'', route_params={'path': 'health'})\n"
        "print(fn.get_user_function()(r).get_body().decode())\n"
    ),
}


@pytest.mark.isolated
@pytest.mark.parametrize("cloud", list(DEFAULT_TARGETS))
def test_the_unpacked_archive_answers_health_on_the_target_python(
    archives: dict[str, tuple[Archive, Archive]], cloud: str, tmp_path: Path
) -> None:
    target = DEFAULT_TARGETS[cloud]
    python = find_interpreter(target.python)
    if python is None:
        pytest.skip(f"no Python {target.python} interpreter on this machine")
    root = tmp_path / "app"
    unpack(archives[cloud][0].path, root)
    path = [root]
    if cloud == "azure":
        path.append(root / ".python_packages/lib/site-packages")
    if cloud == "gcp":
        # Cloud Build installs requirements.txt; do the same, for the target Python.
        deps = tmp_path / "gcp-deps"
        vendor((root / "requirements.txt").read_text(), target, deps)
        path.append(deps)
    # -I: isolated (no user site, no PYTHON* variables, no cwd); -S: no site-packages at all.
    # sys.path is then the stdlib plus exactly the unpacked archive.
    code = (
        f"import sys; sys.path[:0] = {[str(p) for p in path]!r}\n"
        + HEALTH[cloud]
        + "import json; print(json.dumps([m for m in ('boto3', 'botocore', 'duckdb')"
        + " if m in sys.modules]))"
    )
    result = subprocess.run(
        [python, "-I", "-S", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"LAMBDA_BUCKET": "b", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    health = json.loads(next(line for line in lines if line.startswith('{"status"')))
    assert (health["status"], health["adapter"]) == ("ok", cloud)
    assert lines[-1] == "[]"
    if cloud != "aws":  # aws is arm64: its native modules cannot load here, and /health needs none
        assert (
            subprocess.run(
                [
                    python,
                    "-I",
                    "-S",
                    "-c",
                    f"import sys; sys.path[:0] = {[str(p) for p in path]!r}; import duckdb",
                ],
                capture_output=True,
                timeout=60,
            ).returncode
            == 0
        )


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_every_module_ships_with_unchecked_hash_bytecode_of_the_target_python(
    archives: dict[str, tuple[Archive, Archive]], cloud: str
) -> None:
    archive = archives[cloud][0]
    if archive.bytecode is None:
        pytest.skip(
            "no Python 3.12 here: the archive is built without bytecode (a warning says so)"
        )
    assert archive.bytecode.endswith("cpython-312")
    with zipfile.ZipFile(archive.path) as z:
        files = set(z.namelist())
        sources = [n for n in files if n.endswith(".py")]
        for source in sources:
            folder, _, module = source.rpartition("/")
            pyc = f"{folder}/__pycache__/{module[:-3]}.cpython-312.pyc".lstrip("/")
            assert pyc in files, pyc
        sample = z.read(
            f"{sources[0].rpartition('/')[0]}/__pycache__/"
            f"{sources[0].rpartition('/')[2][:-3]}.cpython-312.pyc".lstrip("/")
        )
    # PEP 552 header: flags 0b01 = hash-based, source not checked (never stale, never rewritten).
    assert int.from_bytes(sample[4:8], "little") == 0b01


def test_pruned_archives_hold_the_models_the_function_uses_only_and_no_stripe(
    archives: dict[str, tuple[Archive, Archive]],
) -> None:
    files = names(archives["aws"][0])
    services = {
        n.split("/")[2] for n in files if n.startswith("botocore/data/") and n.count("/") > 3
    }
    assert services == {"s3", "secretsmanager"}  # the secret is read once per instance
    assert "botocore/data/endpoints.json" in files
    for cloud in ("aws", "azure"):
        assert not any(
            "/stripe/" in f"/{n}" or n.startswith("stripe") for n in names(archives[cloud][0])
        )
    assert not any("/aio/" in n for n in names(archives["azure"][0]) if "/azure/" in n)
