"""Each stack's whole desired state, pinned: every resource the program asks its cloud for, with
every input, its protection and its explicit dependencies, and the stack's outputs, compared
with the reviewed snapshot in tests/infra/snapshots/. The focused tests beside this one say
why the important inputs are what they are; this one makes sure nothing else changes unseen.
A deliberate change regenerates the snapshot (`LAMBDA_UPDATE_SNAPSHOTS=1 .venv/bin/pytest
tests/infra/test_program_snapshot.py`), and its diff is reviewed like code."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from tests.infra.conftest import GCP_PROJECT_SET, Run, peers
from tests.support.pulumi_mocks import run_program

SNAPSHOTS = Path(__file__).parent / "snapshots"
# What changes with every edit of the app's code, not with the infrastructure: the archive's
# content hash (hex, base64 and in object names) and where the build left it on this machine.
VOLATILE = [
    (re.compile(r"lambda-(aws|gcp|azure)-[0-9a-f]{16}\.zip"), r"lambda-\1-<content hash>.zip"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<sha256>"),
    (re.compile(r"^[A-Za-z0-9+/]{43}=$"), "<sha256 base64>"),
    (re.compile(r"^/.*/\.build/.*\.zip$"), "<archive path>"),
]


def normalised(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalised(v) for v in value]
    if isinstance(value, pulumi.Asset | pulumi.Archive):  # a FileAsset: where it reads from
        return {type(value).__name__: normalised(getattr(value, "path", repr(value)))}
    if isinstance(value, str):
        for pattern, replacement in VOLATILE:
            value = pattern.sub(replacement, value)
    return value


def desired_state(run: Run) -> dict[str, Any]:
    mocks, outputs = run
    resources = [
        {
            "type": r.typ,
            "name": r.name,
            "inputs": normalised(r.inputs),
            "protect": r.protect,
            "depends_on": sorted(r.depends_on),
        }
        for r in sorted(mocks.resources, key=lambda r: (r.typ, r.name))
    ]
    return {"resources": resources, "outputs": normalised(outputs)}


# The mesh runs the other infra tests share, and the other shapes a stack can take.
SCENARIOS: dict[str, Callable[[pytest.FixtureRequest], Run]] = {
    "aws": lambda request: request.getfixturevalue("aws_run"),
    "gcp": lambda request: request.getfixturevalue("gcp_run"),
    "azure": lambda request: request.getfixturevalue("azure_run"),
    "aws-warm": lambda _: run_program("aws", {"lambda:minInstances": "2"}),
    "gcp-warm": lambda _: run_program("gcp", {**GCP_PROJECT_SET, "lambda:minInstances": "1"}),
    "azure-warm": lambda _: run_program("azure", {"lambda:minInstances": "1"}),
    "azure-consumption": lambda _: run_program(
        "azure", {"lambda:azurePlan": "consumption"}, peers(aws=None, gcp=None)
    ),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_each_stack_asks_its_cloud_for_exactly_the_reviewed_resources(
    scenario: str, request: pytest.FixtureRequest
) -> None:
    got = json.loads(json.dumps(desired_state(SCENARIOS[scenario](request))))
    path = SNAPSHOTS / f"{scenario}.json"
    if os.environ.get("LAMBDA_UPDATE_SNAPSHOTS"):
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert path.exists(), f"no snapshot yet: LAMBDA_UPDATE_SNAPSHOTS=1 writes {path}"
    expected = json.loads(path.read_text())
    assert [r["type"] + "::" + r["name"] for r in got["resources"]] == [
        r["type"] + "::" + r["name"] for r in expected["resources"]
    ], "resources added or removed"
    for mine, reviewed in zip(got["resources"], expected["resources"], strict=True):
        assert mine == reviewed, f"{mine['type']}::{mine['name']} differs from the snapshot"
    assert got["outputs"] == expected["outputs"]
