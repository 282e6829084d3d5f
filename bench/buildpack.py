"""What Cloud Build makes of a GCP source upload (main.py and requirements.txt at its root), for
the bench: the requirements installed into a layer of their own and compiled there, the
uploaded sources left as they are. See docs/benchmarks.md.

Google's Python buildpack (github.com/GoogleCloudPlatform/buildpacks, pkg/python/python.go,
`compileBytecode`; requirements.go, `UVInstallRequirements`) installs requirements.txt into a
layer, then runs `python3 -m compileall --invalidation-mode unchecked-hash -qq <layer>` on that
layer alone: the dependencies ship compiled, the function's own sources (/workspace) do not, so a
new instance compiles them as it imports them. The runtime then starts `functions-framework
--target <entry point>`, which appends the source's folder to sys.path after the layer
(functions-framework-python, _function_registry.py, `load_function_module`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from stacks.config import process_environment
from stacks.packaging import Target, unpack, vendor, write_zip

# Where the installed layer sits in the unpacked tree: a name no `import` can reach, so the
# sources still find only what the layer holds (the layer's real path is /layers/...).
LAYER = ".buildpack/site-packages"
# The layer's path in the compiled files (tracebacks), as the buildpack's uv install leaves it.
LAYER_ROOT = "/layers/google.python.pip/pip/.venv/lib/python3.12/site-packages"


def layer(root: Path) -> Path:
    return root / LAYER


def _compile(tree: Path, python: str) -> None:
    subprocess.run(
        [
            *(python, "-I", "-m", "compileall", "-qq"),
            *("--invalidation-mode", "unchecked-hash", "-s", str(tree), "-p", LAYER_ROOT),
            str(tree),
        ],
        check=True,
        env={"PATH": process_environment().get("PATH", "/usr/bin:/bin"), "PYTHONHASHSEED": "0"},
    )


def build(source: Path, python: str, cache: Path) -> Path:
    """The deployed container's files for the source archive `source`: its files at the root,
    the layer under LAYER (cached by the source's bytes and this module's)."""
    digest = hashlib.sha256(source.read_bytes() + Path(__file__).read_bytes()).hexdigest()
    out = cache / f"{source.stem}-built-{digest[:16]}.zip"
    if out.exists():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        staging = Path(tmp)
        unpack(source, staging / "src")
        deps = staging / "layer"
        requirements = (staging / "src" / "requirements.txt").read_text()
        vendor(requirements, Target("gcp", "3.12", "x86_64"), deps)
        for cache_dir in sorted(deps.rglob("__pycache__")):
            shutil.rmtree(cache_dir, ignore_errors=True)
        _compile(deps, python)
        files = {p.relative_to(staging / "src").as_posix(): p for p in _files(staging / "src")}
        files.update({f"{LAYER}/{p.relative_to(deps).as_posix()}": p for p in _files(deps)})
        write_zip(files, staging / out.name)
        os.replace(staging / out.name, out)
    return out


def _files(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.rglob("*")) if p.is_file()]
