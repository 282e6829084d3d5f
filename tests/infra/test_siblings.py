"""A mesh with no wiring step (issue 25, item 9): with `lambda:peerStacks` unset, a stack
references the project's other cloud stacks that exist in the backend, as `pulumi stack ls`
lists them; the fake CLI answers as the real one does (tests/support/fake_pulumi_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.converge import converge
from stacks.config import ConfigMistake
from tests.infra.conftest import AWS_URL, AZURE_URL, GCP_PROJECT_SET, GCP_URL, env_of
from tests.support.fake_pulumi_cli import FakePulumi, install, path_with
from tests.support.pulumi_mocks import ORG, RecordingMocks, run_program

FN = "aws:lambda/function:Function"
ALL = [f"{ORG}/lambda/{cloud}" for cloud in ("aws", "azure", "gcp")]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    fake = install(tmp_path / "bin")
    monkeypatch.setenv("PATH", path_with(fake.directory))
    return fake


def test_an_unset_peer_list_references_the_existing_sibling_stacks(cli: FakePulumi) -> None:
    # GIVEN `pulumi stack init` aws and gcp only (no azure stack), gcp deployed
    cli.write([f"{ORG}/lambda/aws", f"{ORG}/lambda/gcp"], deployed={f"{ORG}/lambda/gcp"})
    mocks, _ = run_program("aws", None, {f"{ORG}/lambda/gcp": GCP_URL})
    # THEN it references gcp, never the azure stack that does not exist, nor itself
    assert mocks.stack_references == [f"{ORG}/lambda/gcp"]
    env = env_of(mocks, FN, "lambda-fn", ("environment", "variables"))
    assert env["LAMBDA_PEER_URLS"] == GCP_URL
    assert cli.calls() == [
        ["stack", "ls", "--json", "--fully-qualify-stack-names", "--project", "lambda"]
    ]


def test_stacks_of_other_projects_and_orgs_are_never_referenced(cli: FakePulumi) -> None:
    cli.write([f"{ORG}/other/gcp", "someone-else/lambda/azure", f"{ORG}/lambda/aws"])
    mocks, _ = run_program("aws")
    assert mocks.stack_references == []


def test_a_sibling_that_exists_but_was_never_deployed_is_skipped_until_it_is(
    cli: FakePulumi,
) -> None:
    cli.write(ALL)
    mocks, _ = run_program("azure", None, {name: None for name in ALL})
    assert sorted(mocks.stack_references) == [f"{ORG}/lambda/aws", f"{ORG}/lambda/gcp"]
    assert peer_urls_of(mocks, "azure") == ""


def test_an_explicit_peer_list_wins_and_the_cli_is_not_asked(cli: FakePulumi) -> None:
    cli.write(ALL)
    mocks, _ = run_program("aws", {"lambda:peerStacks": "gcp"}, {f"{ORG}/lambda/gcp": GCP_URL})
    assert mocks.stack_references == [f"{ORG}/lambda/gcp"]
    assert cli.calls() == []


def test_none_opts_out_of_the_mesh(cli: FakePulumi) -> None:
    cli.write(ALL)
    mocks, _ = run_program("aws", {"lambda:peerStacks": "none"})
    assert mocks.stack_references == []
    assert cli.calls() == []


def test_without_a_cli_on_path_the_stack_is_a_lone_one() -> None:
    mocks, _ = run_program("aws")
    assert mocks.stack_references == []


def test_a_cli_that_cannot_list_stops_the_program_with_one_line(cli: FakePulumi) -> None:
    cli.fail("error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions")
    with pytest.raises(ConfigMistake) as raised:
        run_program("aws")
    message = str(raised.value)
    assert "\n" not in message
    assert "PULUMI_ACCESS_TOKEN" in message
    assert "lambda:peerStacks" in message


SETS = {"aws": None, "gcp": GCP_PROJECT_SET, "azure": None}
URLS = {"aws": AWS_URL, "gcp": GCP_URL, "azure": AZURE_URL}


def test_three_fresh_stacks_converge_in_two_passes_with_no_wiring(cli: FakePulumi) -> None:
    # GIVEN `pulumi stack init aws`, `gcp`, `azure` and nothing else set about peers
    cli.write(ALL)
    deployed: dict[str, str | None] = {name: None for name in ALL}

    def up(stack: str) -> dict[str, str]:
        # WHEN each `pulumi up` runs the real program, seeing the outputs of the stacks
        # deployed before it, as StackReference does
        mocks, _ = run_program(stack, SETS[stack], dict(deployed))
        deployed[f"{ORG}/lambda/{stack}"] = URLS[stack]
        cli.write(ALL, deployed={name for name, url in deployed.items() if url})
        return {"base_url": URLS[stack], "peer_urls": peer_urls_of(mocks, stack)}

    # THEN the second pass changes nothing more: two passes, as docs/deploying.md says
    assert converge(["aws", "gcp", "azure"], up, log=lambda _: None) == 2


# Where each cloud's HTTP function gets LAMBDA_PEER_URLS.
ENVIRONMENTS = {
    "aws": (FN, "lambda-fn", ("environment", "variables")),
    "gcp": (
        "gcp:cloudfunctionsv2/function:Function",
        "lambda-fn",
        ("serviceConfig", "environmentVariables"),
    ),
    "azure": ("azure-native:web:WebApp", "lambda-app", ("siteConfig", "appSettings")),
}


def peer_urls_of(mocks: RecordingMocks, cloud: str) -> str:
    return str(env_of(mocks, *ENVIRONMENTS[cloud]).get("LAMBDA_PEER_URLS", ""))
