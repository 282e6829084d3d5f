"""`make deploy|preview|destroy STACK=aws|gcp|azure`: one stack with the Pulumi CLI, then the
smoke test with that stack's own read token. See docs/deploying.md (one command).

    python -m scripts.deploy up|preview|destroy --stack aws [--yes]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from scripts import smoke

ROOT = Path(__file__).resolve().parents[1]

CLI_MISSING = (
    "make {target} needs the Pulumi CLI: install it from https://www.pulumi.com/docs/install/"
    " (curl -fsSL https://get.pulumi.com | sh)"
)
# Where each cloud's provider takes its region (stacks/config.py REGION_KEYS, pinned equal by
# tests/unit/test_deploy.py; not imported: this runs without the Pulumi SDK).
REGION_KEYS = {"aws": "aws:region", "gcp": "gcp:region", "azure": "azure-native:location"}
# The GCP provider's own fallbacks when gcp:project is unset (stacks/config.py GCP_PROJECT_ENV).
GCP_PROJECT_ENV = (
    "GOOGLE_PROJECT",
    "GOOGLE_CLOUD_PROJECT",
    "GCLOUD_PROJECT",
    "CLOUDSDK_CORE_PROJECT",
)


def stop(message: str) -> NoReturn:
    print(f"lambda: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


class Pulumi:
    """The CLI, run in the project folder: its own output goes to the terminal, except where
    we read a value (`capture`)."""

    def __init__(self, stack: str, target: str) -> None:
        path = shutil.which("pulumi")
        if path is None:
            stop(CLI_MISSING.format(target=target))
        self.path, self.stack = path, stack

    def run(self, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
        argv = [self.path, *args, "--stack", self.stack]
        return subprocess.run(argv, cwd=ROOT, text=True, capture_output=capture, check=False)

    def must(self, *args: str) -> None:
        done = self.run(*args)
        if done.returncode:
            raise SystemExit(done.returncode)

    def config(self, key: str) -> str | None:
        """The stack's value, or None: the CLI exits 1 with "configuration key ... not found"
        (pkg/cmd/pulumi/config/config.go in github:pulumi/pulumi)."""
        done = self.run("config", "get", key, capture=True)
        return done.stdout.strip() if done.returncode == 0 else None

    def outputs(self) -> dict[str, object]:
        done = self.run("stack", "output", "--json", "--show-secrets", capture=True)
        if done.returncode:
            stop(f"pulumi stack output failed: {done.stderr.strip()}")
        outputs: dict[str, object] = json.loads(done.stdout or "{}")
        return outputs


def where(pulumi: Pulumi, environ: dict[str, str]) -> str:
    """Which region the stack deploys to and how to change it; stops on a missing GCP project."""
    cloud, key = pulumi.stack, REGION_KEYS.get(pulumi.stack, "lambda:region")
    project = pulumi.config("gcp:project") if cloud == "gcp" else "n/a"
    if not project and not any(environ.get(name) for name in GCP_PROJECT_ENV):
        stop("the gcp stack needs a project: pulumi config set --stack gcp gcp:project <id>")
    region = pulumi.config(key) or "(none set)"
    return (
        f"stack {cloud}: region {region}; to change it before the first deploy: "
        f"pulumi config set --stack {cloud} {key} <region>"
    )


def up(pulumi: Pulumi, yes: bool, say: Callable[[str], None] = print) -> int:
    pulumi.must("stack", "select", "--create")
    say(where(pulumi, dict(os.environ)))
    pulumi.must("up", *(["--yes"] if yes else []))
    outputs = pulumi.outputs()
    base_url = str(outputs.get("base_url", ""))
    if not base_url:
        stop(f"stack {pulumi.stack} has no base_url output: did pulumi up finish?")
    say(f"base_url: {base_url}")
    return smoke.run(base_url, str(outputs.get("read_token", "")))


def preview(pulumi: Pulumi) -> int:
    pulumi.must("stack", "select", "--create")
    print(where(pulumi, dict(os.environ)))
    pulumi.must("preview")
    return 0


def destroy(pulumi: Pulumi, yes: bool, ask: Callable[[str], str] = input) -> int:
    """Asks first (unless --yes). The events are `protect`ed and kept: docs/deploying.md
    (destroying) says how to delete them too."""
    if pulumi.run("stack", "select", capture=True).returncode:
        stop(f"there is no stack {pulumi.stack} to destroy (pulumi stack ls lists them)")
    if not yes:
        prompt = (
            f"This deletes every resource of stack {pulumi.stack} but its stored events. "
            f"Type {pulumi.stack} to go on: "
        )
        try:
            answer = ask(prompt)
        except EOFError:
            answer = ""
        if answer.strip() != pulumi.stack:
            print("nothing deleted")
            return 1
    pulumi.must("destroy", "--exclude-protected", "--yes")
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["up", "preview", "destroy"])
    parser.add_argument("--stack", required=True, help="aws, gcp or azure")
    parser.add_argument("--yes", action="store_true", help="no questions (CI)")
    args = parser.parse_args(argv)
    target = {"up": "deploy"}.get(args.action, args.action)
    pulumi = Pulumi(args.stack, target)
    if args.action == "up":
        sys.exit(up(pulumi, args.yes))
    sys.exit(preview(pulumi) if args.action == "preview" else destroy(pulumi, args.yes))


if __name__ == "__main__":
    main()
