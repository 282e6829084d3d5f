"""The members `make status`, `make reconcile` and `make replay` talk to: the local mesh's (the
file `make mesh` writes while it runs), or the deployed stacks' (`pulumi stack output` of each
of aws, gcp and azure that exists), each with its URL, read token and jobs token."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MESH_FILE = ROOT / ".mesh.json"
STACKS = ("aws", "gcp", "azure")

Run = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


@dataclass(frozen=True)
class Member:
    name: str
    url: str
    read_token: str
    jobs_token: str


def write_mesh_file(members: Sequence[Member], path: Path = MESH_FILE) -> None:
    path.write_text(json.dumps([asdict(m) for m in members], indent=2))
    path.chmod(0o600)  # it holds the mesh's tokens


def from_mesh_file(path: Path = MESH_FILE) -> list[Member]:
    return [Member(**entry) for entry in json.loads(path.read_text())]


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=120, check=False)


def from_stacks(stacks: Sequence[str] = STACKS, run: Run = _run) -> list[Member]:
    """Each stack's `pulumi stack output --json --show-secrets`; a stack that does not exist
    (the CLI says so and exits 255) is left out."""
    members = []
    for stack in stacks:
        done = run(["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", stack])
        if done.returncode != 0:
            continue
        outputs = json.loads(done.stdout or "{}")
        if outputs.get("base_url"):
            members.append(
                Member(
                    stack,
                    str(outputs["base_url"]).rstrip("/"),
                    str(outputs.get("read_token", "")),
                    str(outputs.get("retry_token", "")),
                )
            )
    return members


class NoMembers(Exception):
    """Nothing to talk to: the message says what to start or deploy."""


def resolve(source: str = "auto", run: Run = _run, mesh_file: Path = MESH_FILE) -> list[Member]:
    """`mesh`, `stacks`, or `auto`: the running local mesh if there is one, else the stacks."""
    if source in ("auto", "mesh") and mesh_file.exists():
        return from_mesh_file(mesh_file)
    if source == "mesh":
        raise NoMembers("no local mesh is running: start one with `make mesh`")
    if shutil.which("pulumi") is None:
        raise NoMembers(
            "no local mesh is running (`make mesh`) and the Pulumi CLI is not installed to read "
            "the deployed stacks (https://www.pulumi.com/docs/install/)"
        )
    members = from_stacks(run=run)
    if not members:
        raise NoMembers("no stack among aws, gcp and azure has a base_url: `pulumi up` one")
    return members


def post_each(members: Sequence[Member], path: str, timeout: float, **request: Any) -> int:
    """POST `path` at each member with its jobs token; print one JSON line per member (its
    status and answer, or why it could not be reached); return how many failed."""
    import httpx

    failed = 0
    with httpx.Client(timeout=timeout) as client:
        for member in members:
            line: dict[str, Any] = {"member": member.name}
            try:
                response = client.post(
                    f"{member.url}{path}",
                    headers={"authorization": f"Bearer {member.jobs_token}"},
                    **request,
                )
                line.update(status=response.status_code, answer=_json(response))
                failed += response.status_code != 200
            except httpx.HTTPError as exc:
                line.update(status=None, error=f"{type(exc).__name__}: {exc}")
                failed += 1
            print(json.dumps(line))
    return failed


def _json(response: Any) -> object:
    """The answer's JSON, or its first 200 characters (a proxy's HTML page, say)."""
    try:
        return response.json()
    except ValueError:
        return response.text[:200]
