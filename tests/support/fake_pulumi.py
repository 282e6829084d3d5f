"""A stand-in `pulumi` executable for `make deploy|preview|destroy` tests (no CLI here).

It answers the few commands scripts/deploy.py runs as the real CLI does, from its source
(github:pulumi/pulumi):
- `stack select [--create] --stack S` selects S, creates it with --create, else fails with
  "no stack named 'S' found" (pkg/cmd/pulumi/stack/stack_select.go, pkg/backend/backenderr);
- `config get KEY` prints the value from Pulumi.<S>.yaml or set config, else fails with
  "configuration key 'KEY' not found for stack 'S'" (pkg/cmd/pulumi/config/config.go);
- `up`/`destroy` refuse a non-interactive run without --yes with the CLI's own message
  (pkg/cmd/pulumi/operations/up.go, backenderr.NoConfirmationInNonInteractiveError);
- `stack output --json` prints every output as one JSON object, secrets as "[secret]" unless
  --show-secrets (pkg/cmd/pulumi/stack/stack_output.go).
Errors go to stderr as "error: ..." with exit code 1 (sdk/go/common/util/cmdutil/exit.go).
State lives in $FAKE_PULUMI_STATE (JSON); every call is appended to its "calls"; `up` takes
its outputs from $FAKE_PULUMI_OUTPUTS (JSON).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

NOT_INTERACTIVE = (
    "--yes or --skip-preview or --preview-only must be passed in to proceed when running in "
    "non-interactive mode"
)
SECRET_OUTPUTS = {"read_token", "retry_token", "peer_signing_key"}


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def config_value(state: dict[str, Any], stack: str, key: str) -> str | None:
    stack_file = Path.cwd() / f"Pulumi.{stack}.yaml"
    config = yaml.safe_load(stack_file.read_text()).get("config", {}) if stack_file.exists() else {}
    value = state["config"].get(stack, {}).get(key, config.get(key))
    return None if value is None else str(value)


def answer(state: dict[str, Any], args: list[str]) -> int:
    stack = flag(args, "--stack") or ""
    words = [a for a in args if not a.startswith("-") and a != stack]
    if words[:2] == ["stack", "select"]:
        if stack not in state["stacks"] and "--create" not in args:
            return fail(f"no stack named '{stack}' found")
        state["stacks"].setdefault(stack, {})
        return 0
    if stack not in state["stacks"]:
        return fail(f"no stack named '{stack}' found")
    if words[:2] == ["config", "get"]:
        value = config_value(state, stack, words[2])
        if value is None:
            return fail(f"configuration key '{words[2]}' not found for stack '{stack}'")
        print(value)
        return 0
    if words[0] in ("up", "destroy") and "--yes" not in args and not sys.stdin.isatty():
        return fail(NOT_INTERACTIVE)
    if words[0] == "up":
        print(f"Updating ({stack}):")
        state["stacks"][stack] = json.loads(os.environ.get("FAKE_PULUMI_OUTPUTS", "{}"))
        return 0
    if words[0] == "destroy":
        print(f"Destroying ({stack}):")
        state["stacks"][stack] = {}
        return 0
    if words[0] == "preview":
        print(f"Previewing update ({stack}):")
        return 0
    if words[:2] == ["stack", "output"]:
        outputs = state["stacks"][stack]
        if "--show-secrets" not in args:
            outputs = {k: "[secret]" if k in SECRET_OUTPUTS else v for k, v in outputs.items()}
        print(json.dumps(outputs, indent=4))
        return 0
    return fail(f"the fake does not know `pulumi {' '.join(args)}`")


def main() -> int:
    path = Path(os.environ["FAKE_PULUMI_STATE"])
    state = json.loads(path.read_text()) if path.exists() else {}
    state.setdefault("stacks", {})
    state.setdefault("config", {})
    state.setdefault("calls", []).append(sys.argv[1:])
    code = answer(state, sys.argv[1:])
    path.write_text(json.dumps(state))
    return code


if __name__ == "__main__":
    sys.exit(main())
