"""`make deploy|preview|destroy STACK=...` against a stand-in `pulumi` executable that answers
as the real CLI does (tests/support/fake_pulumi.py, which cites the CLI's source), and the
smoke test against a local server standing in for the deployed function."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import deploy
from tests.conftest import READ_TOKEN
from tests.support.local import start_local
from tools.processes import ROOT, Server

# this environment stands in for .venv-serve (tests/infra/test_make_targets.py pins the target)
SERVE_HERE = ["SERVE_STAMP=", f"SERVE_PY={sys.executable}"]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    proc = start_local(
        "local-deployed", tmp_path_factory.mktemp("deployed"), {"LAMBDA_READ_TOKEN": READ_TOKEN}
    )
    yield proc
    proc.stop()


@pytest.fixture
def cli(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH has the fake `pulumi` first, and where its state is kept."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text(f"#!{sys.executable}\n" + (ROOT / "tests/support/fake_pulumi.py").read_text())
    fake.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_PULUMI_STATE": str(tmp_path / "state.json"),
    }


def make(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", *args, *SERVE_HERE],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def calls(env: dict[str, str]) -> list[list[str]]:
    return list(json.loads(Path(env["FAKE_PULUMI_STATE"]).read_text())["calls"])


def test_deploy_creates_the_stack_names_the_region_prints_base_url_and_smokes_it(
    cli: dict[str, str], deployed: Server
) -> None:
    outputs = {"base_url": deployed.url, "read_token": READ_TOKEN}
    done = make({**cli, "FAKE_PULUMI_OUTPUTS": json.dumps(outputs)}, "deploy", "STACK=aws", "YES=1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stack aws: region eu-west-1; to change it before the first deploy: " in done.stdout
    assert "pulumi config set --stack aws aws:region <region>" in done.stdout
    assert f"base_url: {deployed.url}" in done.stdout
    assert "ok   read token" in done.stdout  # the stack's own token, read with --show-secrets
    assert "all checks passed" in done.stdout
    assert calls(cli)[0] == ["stack", "select", "--create", "--stack", "aws"]
    assert ["up", "--yes", "--stack", "aws"] in calls(cli)


def test_deploy_without_yes_leaves_the_confirmation_to_pulumi_up(cli: dict[str, str]) -> None:
    # no terminal here: the real CLI refuses `up` without --yes, and make deploy says so
    done = make(cli, "deploy", "STACK=aws")
    assert done.returncode != 0
    assert "error: --yes or --skip-preview" in done.stderr
    assert not any(call[0] == "stack" and "output" in call for call in calls(cli))


def test_deploy_of_gcp_without_a_project_stops_before_pulumi_up(cli: dict[str, str]) -> None:
    env = {k: v for k, v in cli.items() if k not in deploy.GCP_PROJECT_ENV}
    done = make(env, "deploy", "STACK=gcp", "YES=1")
    assert done.returncode == 2
    assert done.stderr.startswith(
        "lambda: the gcp stack needs a project: pulumi config set --stack gcp gcp:project <id>\n"
    )
    assert not any(call[0] == "up" for call in calls(cli))


def test_preview_creates_the_stack_and_runs_pulumi_preview(cli: dict[str, str]) -> None:
    done = make(cli, "preview", "STACK=azure")
    assert done.returncode == 0, done.stderr
    assert "stack azure: region westeurope" in done.stdout
    assert "Previewing update (azure)" in done.stdout
    assert ["preview", "--stack", "azure"] in calls(cli)


@pytest.mark.parametrize(("typed", "deleted"), [("aws\n", True), ("yes\n", False), ("", False)])
def test_destroy_asks_for_the_stack_name_first(
    cli: dict[str, str], typed: str, deleted: bool
) -> None:
    assert make(cli, "preview", "STACK=aws").returncode == 0  # the stack exists
    done = make(cli, "destroy", "STACK=aws", stdin=typed)
    assert "Type aws to go on" in done.stdout
    destroyed = ["destroy", "--exclude-protected", "--yes", "--stack", "aws"] in calls(cli)
    assert destroyed is deleted
    assert (done.returncode == 0) is deleted
    if not deleted:
        assert "nothing deleted" in done.stdout


def test_destroy_of_a_stack_that_does_not_exist_says_so(cli: dict[str, str]) -> None:
    done = make(cli, "destroy", "STACK=aws", "YES=1")
    assert done.returncode == 2
    assert "there is no stack aws to destroy" in done.stderr
    assert not any(call[0] == "destroy" for call in calls(cli))


@pytest.mark.parametrize("target", ["deploy", "preview", "destroy", "converge"])
def test_without_the_cli_each_target_says_so_in_one_line(target: str) -> None:
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        ["make", "-s", target, "STACK=aws"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stdout.startswith(f"make {target} needs the Pulumi CLI: install it from https://")
    assert done.stdout.count("\n") == 1


def test_a_missing_or_unknown_stack_is_refused_with_the_usage(cli: dict[str, str]) -> None:
    for stack in ([], ["STACK=aws2"]):
        done = make(cli, "deploy", *stack)
        assert done.returncode == 2
        assert "usage: make deploy STACK=aws|gcp|azure" in done.stdout


def test_the_region_keys_are_the_stacks_own() -> None:
    from stacks.config import GCP_PROJECT_ENV, REGION_KEYS

    assert {c: f"{ns}:{key}" for c, (ns, key) in REGION_KEYS.items()} == deploy.REGION_KEYS
    assert deploy.GCP_PROJECT_ENV == GCP_PROJECT_ENV


def test_make_logs_prints_the_aws_functions_json_lines(cli: dict[str, str], moto: Server) -> None:
    import boto3

    from tools.emulators import AWS_ENV

    # GIVEN a deployed stack (the fake CLI's outputs) whose log group holds two lines
    logs = boto3.client("logs", endpoint_url=moto.url, region_name="eu-west-1")
    group = f"/aws/lambda/lambda-aws-{moto.port}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    lines = ["START RequestId: 1", json.dumps({"level": "INFO", "status": 201})]
    events = [{"timestamp": now - 1000 + n, "message": m} for n, m in enumerate(lines)]
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=events)
    outputs = {"functions": {"http": f"lambda-aws-{moto.port}"}}
    env = {**cli, **AWS_ENV, "FAKE_PULUMI_OUTPUTS": json.dumps(outputs)}
    env["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"] = moto.url  # boto3's per-service endpoint variable
    assert make(env, "preview", "STACK=aws").returncode == 0  # creates the stack
    subprocess.run(["pulumi", "up", "--yes", "--stack", "aws"], env=env, check=True, cwd=ROOT)
    # WHEN make logs runs, THEN only the app's JSON line is shown
    done = make(env, "logs", "STACK=aws", "SINCE=5m", f"LOGS_PY={sys.executable}", "LOGS_STAMP=")
    assert done.returncode == 0, done.stderr
    assert done.stdout == '{"level":"INFO","status":201}\n'
