"""Builds each cloud's deployment archive, deterministically and cached by content.

`pulumi up` calls `build_archive` itself, so there is no separate build step to forget. An
archive holds the core, that cloud's adapter and its runtime dependencies only (never Pulumi),
laid out as the platform expects:

- aws:   `functions/...` plus dependencies at the root (handler `functions.aws.handler.handler`)
- gcp:   `main.py` and a pinned `requirements.txt` at the root (Cloud Build installs them)
- azure: `function_app.py` and `host.json` at the root, dependencies vendored under
         `.python_packages/lib/site-packages`

Dependencies are installed as manylinux wheels for the *target* Python version and architecture
(`--python-platform`, `--only-binary :all:`) whatever machine runs `pulumi up`, pinned by
requirements.lock, without bytecode (`--no-compile`: archive timestamps are fixed, so shipped
timestamp-based .pyc files would be recompiled at every cold start).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = {"__pycache__", "bin"}
SKIP_NAMES = {".lock"}  # uv's lock file for --target installs
SKIP_SUFFIXES = (".pyc", ".pyo")
BUILD_FORMAT = "2"  # bump to invalidate every cached archive


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


def pinned_requirements(cloud: str) -> str:
    """The cloud's requirements resolved for the target against requirements.lock's pins."""
    from uv import find_uv_bin

    with tempfile.TemporaryDirectory() as tmp:
        reqs = Path(tmp) / "requirements.in"
        reqs.write_text("\n".join(runtime_requirements(cloud)) + "\n")
        out = subprocess.run(
            [
                find_uv_bin(),
                "pip",
                "compile",
                str(reqs),
                "-c",
                str(ROOT / "requirements.lock"),
                "--universal",
                "--no-header",
                "--no-annotate",
                "--quiet",
                "--python-version",
                "3.11",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return out


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
            env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )


def layout(target: Target, staging: Path) -> dict[str, Path]:
    """Everything the archive holds, by archive name."""
    files = source_files(target.cloud)
    requirements = pinned_requirements(target.cloud)
    if target.cloud == "gcp":
        req = staging / "requirements.txt"
        req.write_text(requirements)
        files["requirements.txt"] = req
        return files
    deps = staging / "deps"
    vendor(requirements, target, deps)
    prefix = ".python_packages/lib/site-packages/" if target.cloud == "azure" else ""
    for path in sorted(deps.rglob("*")):
        relative = path.relative_to(deps)
        if path.is_file() and not _skipped(relative):
            files[prefix + relative.as_posix()] = path
    return files


def write_zip(files: dict[str, Path], out: Path) -> None:
    """Sorted names, fixed timestamps and modes: the same files give the same bytes."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100644 & 0xFFFF) << 16
            info.create_system = 3  # unix, so the mode bits above are honoured
            archive.writestr(info, files[name].read_bytes(), compresslevel=9)


def content_key(target: Target) -> str:
    """Hash of everything that goes into the archive, so an unchanged tree is not rebuilt."""
    digest = hashlib.sha256(f"{BUILD_FORMAT}|{target}".encode())
    digest.update((ROOT / "requirements.lock").read_bytes())
    digest.update((ROOT / "pyproject.toml").read_bytes())
    for name, path in sorted(source_files(target.cloud).items()):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def build_archive(target: Target, cache_dir: Path | None = None) -> Archive:
    cache = cache_dir or ROOT / ".build"
    cache.mkdir(parents=True, exist_ok=True)
    out = cache / f"lambda-{target.cloud}-{target.python}-{target.arch}-{content_key(target)}.zip"
    if not out.exists():
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            partial = Path(tmp) / out.name
            write_zip(layout(target, Path(tmp)), partial)
            os.replace(partial, out)
    return Archive(target.cloud, out, hashlib.sha256(out.read_bytes()).hexdigest())


def unpack(archive: Path, into: Path) -> None:
    with zipfile.ZipFile(archive) as z:
        z.extractall(into)
    shutil.rmtree(into / "__MACOSX", ignore_errors=True)
