"""The shape of stacks/: each cloud's package imports the shared modules and never another
cloud's; the shared modules import no cloud package (the program picks one, lazily); and the
Azure dynamic providers keep the module name deployed state knows them by."""

from __future__ import annotations

import ast
import base64
import json
import pickle
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STACKS = ROOT / "stacks"
CLOUDS = ("aws", "gcp", "azure")
SNAPSHOTS = Path(__file__).parent / "snapshots"


def imported(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {name for name in names if name.startswith("stacks")}


def cloud_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in CLOUDS else None


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_cloud_package_imports_no_other_cloud(cloud: str) -> None:
    for path in sorted((STACKS / cloud).glob("*.py")):
        others = {m for m in imported(path, False) if cloud_of(m) not in (None, cloud)}
        assert not others, f"{path.relative_to(ROOT)} imports {sorted(others)}"


def test_the_shared_modules_import_no_cloud_package_at_load_time() -> None:
    # stacks/flex_deploy.py is the one exception, by design: it only re-exports (see below).
    for path in sorted(STACKS.glob("*.py")):
        if path.name == "flex_deploy.py":
            continue
        clouds = {m for m in imported(path, True) if cloud_of(m)}
        assert not clouds, f"{path.relative_to(ROOT)} imports {sorted(clouds)}"


def test_the_program_imports_each_cloud_package_only_when_that_cloud_is_deployed() -> None:
    program = STACKS / "program.py"
    lazily = imported(program, False) - imported(program, True)
    assert {m for m in lazily if cloud_of(m)} == {"stacks.aws", "stacks.gcp", "stacks.azure"}


def provider_pickles() -> set[str]:
    found: set[str] = set()
    for snapshot in SNAPSHOTS.glob("azure*.json"):
        for resource in json.loads(snapshot.read_text())["resources"]:
            if "__provider" in resource["inputs"]:
                found.add(resource["inputs"]["__provider"])
    return found


def test_deployed_azure_state_still_unpickles_to_the_moved_providers() -> None:
    # GIVEN the providers as Pulumi pickled them into state, by module and class name
    from stacks.azure import flex_deploy

    pickles = provider_pickles()
    assert len(pickles) == 3
    for encoded in pickles:
        # WHEN Pulumi unpickles one to refresh or delete its resource
        provider = pickle.loads(base64.b64decode(encoded))
        # THEN it is the provider that now lives in stacks/azure/flex_deploy.py
        assert type(provider) is getattr(flex_deploy, type(provider).__name__)
        assert type(provider).__module__ == "stacks.flex_deploy"
