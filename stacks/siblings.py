"""This project's other cloud stacks, found in the current backend, so a mesh needs no wiring
step: `pulumi stack init` the stacks you want and `pulumi up` each. See docs/peers.md.

The Pulumi CLI is on PATH whenever the program runs (`pulumi up`, or the Automation API, which
drives the same CLI), and logged in to the backend the program's own stack is in. Its
`pulumi stack ls --json` prints an array of objects whose `name` is the stack's name
(pulumi/pulumi pkg/cmd/pulumi/stack/stack_ls.go, `stackSummaryJSON`: name, current,
lastUpdate, updateInProgress, resourceCount, url). With the global flag
`--fully-qualify-stack-names` (pkg/cmd/pulumi/pulumi.go) every name is `org/project/stack`,
as StackReference takes it (a DIY backend's org is literally `organization`; a legacy DIY stack
that predates projects has a bare name). Only stacks listed there are referenced: the engine
fails a StackReference to a stack that does not exist.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence

CLOUD_STACKS = ("aws", "gcp", "azure")
LIST_TIMEOUT_S = 120

Run = Callable[[Sequence[str], Mapping[str, str]], "subprocess.CompletedProcess[str]"]


class SiblingsUnknown(Exception):
    """The CLI is there but could not list the stacks: its own message, in one line."""


def _run(argv: Sequence[str], environ: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv),
        env=dict(environ),
        capture_output=True,
        text=True,
        timeout=LIST_TIMEOUT_S,
        check=False,
    )


def listed_stacks(project: str, environ: Mapping[str, str], run: Run = _run) -> set[str] | None:
    """Every stack name of `project` in the current backend, or None without a CLI on PATH (a
    test under plain mocks): then the stack is a lone one."""
    cli = shutil.which("pulumi", path=environ.get("PATH"))
    if cli is None:
        return None
    argv = [cli, "stack", "ls", "--json", "--fully-qualify-stack-names", "--project", project]
    result = run(argv, environ)
    if result.returncode != 0:
        detail = " ".join(result.stderr.split()) or f"exit status {result.returncode}"
        raise SiblingsUnknown(detail)
    try:
        summaries = json.loads(result.stdout)
        return {str(summary["name"]) for summary in summaries}
    except (ValueError, TypeError, KeyError) as error:
        raise SiblingsUnknown(f"unexpected output of pulumi stack ls --json ({error})") from error


def siblings(org: str, project: str, stack: str, names: Iterable[str]) -> tuple[str, ...]:
    """The project's other cloud stacks among `names`, as StackReference names."""
    listed = set(names)
    found = []
    for cloud in CLOUD_STACKS:
        full = f"{org}/{project}/{cloud}"
        if cloud == stack:
            continue
        if full in listed:
            found.append(full)
        elif cloud in listed:  # a legacy DIY stack, not scoped to a project
            found.append(cloud)
    return tuple(found)
