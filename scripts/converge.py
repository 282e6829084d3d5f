"""Bring all three stacks up with Pulumi's Automation API, and re-run them until every stack's
injected peer URLs match its peers' `base_url` outputs.

    .venv/bin/python -m scripts.converge [--org ORG] [--stacks aws gcp azure]

Each stack finds its peers itself (stacks/siblings.py: the project's other stacks that exist),
so nothing is wired by hand: `pulumi stack init` the stacks, then run this. A stack deployed
before its peers injects only the peers deployed then; a second pass picks up the rest
(`pulumi preview` shows it as a change to the function's environment). From nothing, two passes
suffice (tests/infra/test_siblings.py runs the program through them); the script stops as soon
as a pass changes nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_PASSES = 3

Up = Callable[[str], dict[str, str]]
"""Runs `pulumi up` on one stack and returns its outputs (base_url, peer_urls)."""


def expected_peers(outputs: dict[str, dict[str, str]], stack: str) -> set[str]:
    return {
        o["base_url"].rstrip("/") for s, o in outputs.items() if s != stack and o.get("base_url")
    }


def converged(outputs: dict[str, dict[str, str]]) -> bool:
    return all(
        set(filter(None, o.get("peer_urls", "").split(","))) == expected_peers(outputs, stack)
        for stack, o in outputs.items()
    )


def converge(stacks: Sequence[str], up: Up, log: Callable[[str], None] = print) -> int:
    """Returns the number of passes it took."""
    outputs: dict[str, dict[str, str]] = {}
    for attempt in range(1, MAX_PASSES + 1):
        for stack in stacks:
            log(f"pass {attempt}: pulumi up --stack {stack}")
            outputs[stack] = up(stack)
        if converged(outputs):
            log(f"converged after {attempt} pass(es)")
            return attempt
    raise RuntimeError(f"peer URLs did not converge after {MAX_PASSES} passes: {outputs}")


def automation_up(org: str) -> Up:
    from pulumi import automation as auto

    def up(stack: str) -> dict[str, str]:
        workspace = auto.select_stack(
            stack_name=f"{org}/lambda/{stack}" if org else stack, work_dir=str(ROOT)
        )
        result = workspace.up(on_output=print)
        return {
            k: str(v.value) for k, v in result.outputs.items() if k in ("base_url", "peer_urls")
        }

    return up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--org", default="", help="Pulumi organization (default: current)")
    parser.add_argument("--stacks", nargs="+", default=["aws", "gcp", "azure"])
    args = parser.parse_args()
    converge(args.stacks, automation_up(args.org))


if __name__ == "__main__":
    main()
