"""The test workflow: `make test`, the same command a developer runs, on every push and pull
request, on each Python the project supports."""

from __future__ import annotations

import json
import re

import yaml

from tests.support.pulumi_mocks import ROOT

TEXT = (ROOT / ".github/workflows/test.yml").read_text()
WORKFLOW = yaml.safe_load(TEXT)
(JOB,) = WORKFLOW["jobs"].values()


def test_the_workflow_runs_on_every_push_and_pull_request() -> None:
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
    triggers = WORKFLOW.get("on", WORKFLOW.get(True))
    assert triggers == {"push": None, "pull_request": None}  # no branch or path filters


def test_make_test_runs_on_python_3_11_and_3_12_with_node_for_azurite() -> None:
    matrix = JOB["strategy"]["matrix"]
    assert matrix["python"] == ["3.11", "3.12"]
    assert JOB["strategy"]["fail-fast"] is False  # one version's failure does not hide the other's
    setup = {s["uses"].split("@")[0]: s.get("with", {}) for s in JOB["steps"] if "uses" in s}
    assert setup["actions/setup-python"]["python-version"] == "${{ matrix.python }}"
    node = int(setup["actions/setup-node"]["node-version"])
    azurite = ROOT / "tools/azurite/node_modules/azurite/package.json"
    if azurite.exists():  # the version Azurite asks for (`>=22.0.0`) once make install ran
        wanted = json.loads(azurite.read_text())["engines"]["node"]
        assert node >= int(re.findall(r"\d+", wanted)[0])
    (run,) = [s["run"] for s in JOB["steps"] if "run" in s]
    assert run == "make test PY_VERSION=${{ matrix.python }}"


def test_the_workflow_needs_no_secrets_and_reads_the_repository_only() -> None:
    assert "secrets." not in TEXT
    assert WORKFLOW["permissions"] == {"contents": "read"}


def test_actions_are_the_same_major_versions_as_the_preview_workflow() -> None:
    uses = dict(s["uses"].split("@") for s in JOB["steps"] if "uses" in s)
    assert uses == {
        "actions/checkout": "v5",
        "actions/setup-python": "v6",
        "actions/setup-node": "v6",
    }


def test_the_makefile_takes_the_python_version_the_matrix_passes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^PY_VERSION \?= ", makefile, re.M)
    assert re.search(r"^test: install lint typecheck ", makefile, re.M)
