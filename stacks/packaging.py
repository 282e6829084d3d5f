"""Builds each cloud's deployment archive, deterministically and cached by content.

`pulumi up` calls `build_archive` itself, so there is no separate build step to forget. An
archive holds the core, that cloud's adapter and its runtime dependencies only (never Pulumi,
never stacks/), laid out as the platform expects:

- aws:   `functions/...` plus dependencies at the root (handler `functions.aws.handler.handler`)
- gcp:   `main.py` and a pinned `requirements.txt` at the root (Cloud Build installs them)
- azure: `function_app.py` and `host.json` at the root, dependencies vendored under
         `.python_packages/lib/site-packages`

Dependencies are manylinux wheels for the *target* Python and architecture, pinned by
requirements.lock and pruned to what the function imports. See docs/deploying.md (archives).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from functions.aws.sdk import OPERATIONS, PINNED_RULE_PARAMETERS
from stacks import boto_models
from stacks.boto_models import trim_data
from stacks.config import process_environment

ROOT = Path(__file__).resolve().parents[1]
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = {"__pycache__", "bin"}
LEVEL = 6  # zlib's default (write_zip)
SKIP_NAMES = {".lock"}  # uv's lock file for --target installs
SKIP_SUFFIXES = (".pyc", ".pyo")
BUILD_FORMAT = "4"  # bump to invalidate every cached archive
# Where each platform mounts the archive: compiled into the .pyc files as their source paths, so
# tracebacks name the deployed files, and independent of the build machine's temp directory.
# Where each platform puts the archive's files (the path compiled into its bytecode).
RUNTIME_ROOT = {"aws": "/var/task", "azure": "/home/site/wwwroot", "gcp": "/workspace"}
# Service models botocore keeps (it loads a client's model from botocore/data/<service>/),
# each trimmed to the operations the function calls (stacks/boto_models.py).
BOTO_SERVICES = frozenset(OPERATIONS)


@dataclass(frozen=True)
class Target:
    cloud: str
    python: str = "3.12"
    arch: str = "x86_64"  # "x86_64" or "arm64"

    @property
    def platform(self) -> str:
        # manylinux_2_28 as well as 2014: with 2014 alone an old DuckDB is silently chosen.
        machine = "aarch64" if self.arch == "arm64" else "x86_64"
        return f"{machine}-manylinux_2_28"


@dataclass(frozen=True)
class Archive:
    cloud: str
    path: Path
    sha256: str  # hex digest of the zip's bytes
    bytecode: str | None = None  # the interpreter that compiled the shipped .pyc files

    @property
    def object_name(self) -> str:
        """A content-hashed name: a changed archive is a new object, so the platform redeploys."""
        return f"lambda-{self.cloud}-{self.sha256[:16]}.zip"

    @property
    def sha256_base64(self) -> str:
        import base64

        return base64.b64encode(bytes.fromhex(self.sha256)).decode()


def runtime_requirements(cloud: str) -> list[str]:
    """The core's dependencies plus the cloud's extra, as pyproject.toml declares them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"][cloud]]


def source_files(cloud: str) -> dict[str, Path]:
    """Archive name -> file, for the core and this cloud's adapter only."""
    files: dict[str, Path] = {"functions/__init__.py": ROOT / "functions/__init__.py"}
    for package in ("core", cloud):
        for path in sorted((ROOT / "functions" / package).rglob("*")):
            if path.is_file() and not _skipped(path.relative_to(ROOT)):
                files[path.relative_to(ROOT).as_posix()] = path
    if cloud == "gcp":
        files["main.py"] = ROOT / "functions/gcp/main.py"
        files["functions/wsgi.py"] = ROOT / "functions/wsgi.py"  # the Flask request's translation
    if cloud == "azure":
        files["function_app.py"] = ROOT / "functions/azure/function_app.py"
        files["host.json"] = ROOT / "functions/azure/host.json"
    return files


def _skipped(relative: Path) -> bool:
    return (
        bool(SKIP_DIRS & set(relative.parts))
        or relative.suffix in SKIP_SUFFIXES
        or relative.name in SKIP_NAMES
    )


def _pruned(relative: Path) -> bool:
    """Vendored files the function never loads (tests/infra/test_artifacts.py runs every route
    from the pruned archive to prove it): other AWS services' models (botocore ships ~440; the
    app creates an S3 client only) and boto3's resource models likewise; the Azure SDKs' async
    (`aio`) packages, as the app uses the sync clients; DuckDB's Spark API; type stubs."""
    parts = relative.parts
    if len(parts) > 3 and parts[:2] in (("botocore", "data"), ("boto3", "data")):
        return parts[2] not in BOTO_SERVICES
    if parts[0] == "azure" and "aio" in parts:
        return True
    return parts[:2] == ("duckdb", "experimental") or relative.suffix == ".pyi"


def find_interpreter(version: str) -> str | None:
    """A real interpreter of that version: pyenv's own install first (its shims refuse versions
    that are not selected), else whatever on PATH answers to python<version>."""
    candidates: list[str] = []
    try:
        root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, check=True
        ).stdout.strip()
        pattern = f"{version}.*/bin/python{version}"
        candidates += [str(p) for p in sorted(Path(root, "versions").glob(pattern), reverse=True)]
    except (OSError, subprocess.CalledProcessError):
        pass
    if shutil.which(f"python{version}"):
        candidates.append(str(shutil.which(f"python{version}")))
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def _interpreter_id(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0], sys.implementation.cache_tag)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def compile_bytecode(files: dict[str, Path], target: Target, python: str, staging: Path) -> None:
    """Add `__pycache__/*.pyc` for every .py the archive holds, compiled by `python`.

    Lambda's `/var/task` and Azure's run-from-package mount are read-only, so bytecode the
    archive lacks is compiled again at every cold start. The .pyc files are compiled by the
    *target* interpreter with hash-based invalidation (`unchecked-hash`: never checked against
    the fixed zip timestamps, never stale since the sources beside them are the ones compiled),
    deterministically (PYTHONHASHSEED=0, sorted, fixed paths). When that interpreter is not on
    the machine running `pulumi up`, the archive is built without bytecode and a warning says
    so (the function still runs, its cold starts are slower). On GCP, Cloud Build installs and
    compiles the dependencies (the Python buildpack's `compileBytecode` runs on their layer
    alone) but not the uploaded sources, so the archive carries its own sources' bytecode: each
    new instance otherwise compiled them again, 50-90 ms of its first webhook (bench.contenders)."""
    tree = staging / "tree"
    for name, path in files.items():
        if name.endswith(".py"):
            dest = tree / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
    # One process, in sorted order: marshal's reference flags depend on what the process
    # compiled before (interned strings' refcounts), so parallel workers (-j) that split the
    # files differently from run to run give different bytes for the same source.
    subprocess.run(
        [
            python,
            "-I",
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(tree),
            "-p",
            RUNTIME_ROOT[target.cloud],
            str(tree),
        ],
        check=True,
        env={"PATH": process_environment().get("PATH", "/usr/bin:/bin"), "PYTHONHASHSEED": "0"},
    )
    for pyc in sorted(tree.rglob("*.pyc")):
        files[pyc.relative_to(tree).as_posix()] = pyc


def pinned_requirements(cloud: str) -> str:
    """The cloud's requirements resolved for the target against requirements.lock's pins."""
    return resolve_pinned(runtime_requirements(cloud), "--universal", "--python-version", "3.11")


QUIET_COMPILE = ("--no-header", "--no-annotate", "--quiet")


def resolve_pinned(requirements: Sequence[str], *flags: str) -> str:
    """`requirements` and their dependencies at requirements.lock's pins (uv pip compile with
    `flags` saying for which Python and platform), as a requirements file."""
    from uv import find_uv_bin

    with tempfile.TemporaryDirectory() as tmp:
        reqs = Path(tmp) / "requirements.in"
        reqs.write_text("\n".join(requirements) + "\n")
        lock = str(ROOT / "requirements.lock")
        return subprocess.run(
            [find_uv_bin(), "pip", "compile", str(reqs), "-c", lock, *flags, *QUIET_COMPILE],
            check=True,
            capture_output=True,
            text=True,
        ).stdout


def vendor(requirements: str, target: Target, into: Path) -> None:
    from uv import find_uv_bin

    with tempfile.TemporaryDirectory() as tmp:
        reqs = Path(tmp) / "requirements.txt"
        reqs.write_text(requirements)
        subprocess.run(
            [
                find_uv_bin(),
                "pip",
                "install",
                "--quiet",
                "--target",
                str(into),
                "--python-platform",
                target.platform,
                "--python-version",
                target.python,
                "--only-binary",
                ":all:",
                "--no-compile",
                "--no-deps",
                "-r",
                str(reqs),
            ],
            check=True,
            env=process_environment(UV_PYTHON_DOWNLOADS="never"),
        )


def layout(target: Target, staging: Path, python: str | None = None) -> dict[str, Path]:
    """Everything the archive holds, by archive name (with bytecode when `python` is given)."""
    files = source_files(target.cloud)
    requirements = pinned_requirements(target.cloud)
    if target.cloud == "gcp":
        req = staging / "requirements.txt"
        req.write_text(requirements)
        files["requirements.txt"] = req
        if python is not None:
            compile_bytecode(files, target, python, staging)
        return files
    deps = staging / "deps"
    vendor(requirements, target, deps)
    if target.cloud == "aws":
        trim_data(deps / "botocore" / "data", OPERATIONS, PINNED_RULE_PARAMETERS)
    prefix = ".python_packages/lib/site-packages/" if target.cloud == "azure" else ""
    for path in sorted(deps.rglob("*")):
        relative = path.relative_to(deps)
        if path.is_file() and not _skipped(relative) and not _pruned(relative):
            files[prefix + relative.as_posix()] = path
    if python is not None:
        compile_bytecode(files, target, python, staging)
    return files


def write_zip(files: dict[str, Path], out: Path) -> None:
    """Sorted names, fixed timestamps and modes: the same files give the same bytes. zlib's
    default level: level 9 took 2.5x as long (16.8 s against 6.7 s for the 103 MB Azure tree)
    for an archive 0.7% smaller, well inside every cloud's limit either way."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=LEVEL) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100644 & 0xFFFF) << 16
            info.create_system = 3  # unix, so the mode bits above are honoured
            archive.writestr(info, files[name].read_bytes(), compresslevel=LEVEL)


def content_key(target: Target, compiler: str = "") -> str:
    """Hash of everything that goes into the archive, so an unchanged tree is not rebuilt."""
    digest = hashlib.sha256(f"{BUILD_FORMAT}|{target}|{compiler}".encode())
    digest.update((ROOT / "requirements.lock").read_bytes())
    digest.update((ROOT / "pyproject.toml").read_bytes())
    digest.update(Path(__file__).read_bytes())  # how the archive is built is part of it too
    digest.update(Path(boto_models.__file__).read_bytes())
    for name, path in sorted(source_files(target.cloud).items()):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def bytecode_compiler(target: Target, warn: Callable[[str], None] | None = None) -> str | None:
    """The target's interpreter, for the clouds whose archives ship bytecode; None (with a
    warning saying what it costs) when this machine lacks it."""
    if target.cloud not in RUNTIME_ROOT:
        return None
    python = find_interpreter(target.python)
    if python is None:
        (warn or _stderr)(
            f"no Python {target.python} on this machine: the {target.cloud} archive ships "
            f"without bytecode, so every cold start compiles its code (install Python "
            f"{target.python}, e.g. `pyenv install {target.python}`, and run `pulumi up` again)"
        )
    return python


def _stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def build_archive(
    target: Target, cache_dir: Path | None = None, warn: Callable[[str], None] | None = None
) -> Archive:
    cache = cache_dir or ROOT / ".build"
    cache.mkdir(parents=True, exist_ok=True)
    python = bytecode_compiler(target, warn)
    compiler = _interpreter_id(python) if python else ""
    key = content_key(target, compiler)
    out = cache / f"lambda-{target.cloud}-{target.python}-{target.arch}-{key}.zip"
    if not out.exists():
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            partial = Path(tmp) / out.name
            write_zip(layout(target, Path(tmp), python), partial)
            os.replace(partial, out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    return Archive(target.cloud, out, digest, compiler or None)


def unpack(archive: Path, into: Path) -> None:
    with zipfile.ZipFile(archive) as z:
        z.extractall(into)
    shutil.rmtree(into / "__MACOSX", ignore_errors=True)
