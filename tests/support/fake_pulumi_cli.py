"""A fake `pulumi` executable that answers `pulumi stack ls` as the real CLI does.

What it prints follows pulumi/pulumi pkg/cmd/pulumi/stack/stack_ls.go: a JSON array of
`stackSummaryJSON` (`name`, `current`, and, once the stack has been updated, `lastUpdate`,
`updateInProgress`; `resourceCount` when the backend knows it; `url` on Pulumi Cloud), sorted by
name, with only the stacks of the `--project` given. With `--fully-qualify-stack-names`
(pkg/cmd/pulumi/pulumi.go) each name is `org/project/stack`. Anything else it was not built to
answer exits 255 with an error line, as the CLI does for an unknown command or flag. Every call
is appended to `calls.jsonl` beside it, for tests to see what was asked.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

SCRIPT = """#!{python}
import json, sys
from pathlib import Path

here = Path(__file__).parent
args = sys.argv[1:]
with open(here / "calls.jsonl", "a") as log:
    log.write(json.dumps(args) + "\\n")
state = json.loads((here / "state.json").read_text())
if state.get("fail"):
    sys.stderr.write(state["fail"] + "\\n")
    sys.exit(255)
flags = [a for a in args if a.startswith("-")]
known = {{"--json", "--fully-qualify-stack-names", "--project"}}
if args[:2] != ["stack", "ls"] or not set(flags) <= known or "--project" not in args:
    sys.stderr.write("error: unknown command or flag: " + " ".join(args) + "\\n")
    sys.exit(255)
project = args[args.index("--project") + 1]
qualified = "--fully-qualify-stack-names" in args
summaries = []
for stack in state["stacks"]:
    org, proj, name = stack["name"].split("/")
    if proj != project:
        continue
    summary = {{"name": stack["name"] if qualified else name, "current": False}}
    if stack.get("lastUpdate"):
        summary["lastUpdate"] = stack["lastUpdate"]
        summary["updateInProgress"] = False
    summary["resourceCount"] = stack.get("resourceCount", 0)
    summaries.append(summary)
summaries.sort(key=lambda s: s["name"])
if "--json" in args:
    print(json.dumps(summaries, indent=4))
else:
    for s in summaries:
        print(s["name"])
"""


@dataclass
class FakePulumi:
    """The fake CLI in `directory`, listing `stacks` (full names) until told otherwise."""

    directory: Path

    def write(self, stacks: list[str], deployed: set[str] | None = None) -> None:
        """`stacks` exist (`pulumi stack init`); those in `deployed` have had an update."""
        entries = [
            {"name": name, "lastUpdate": "2026-12-03T04:00:00Z", "resourceCount": 40}
            if name in (deployed or set())
            else {"name": name}
            for name in stacks
        ]
        self._state({"stacks": entries})

    def fail(self, message: str) -> None:
        self._state({"stacks": [], "fail": message})

    def calls(self) -> list[list[str]]:
        log = self.directory / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def _state(self, state: dict[str, object]) -> None:
        (self.directory / "state.json").write_text(json.dumps(state))


def install(directory: Path) -> FakePulumi:
    """Write the executable; put `directory` first on PATH to use it."""
    directory.mkdir(parents=True, exist_ok=True)
    executable = directory / "pulumi"
    executable.write_text(SCRIPT.format(python=sys.executable))
    executable.chmod(0o755)
    fake = FakePulumi(directory)
    fake.write([])
    return fake


def path_with(directory: Path) -> str:
    return os.pathsep.join([str(directory), os.environ.get("PATH", "")])
