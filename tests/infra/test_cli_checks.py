"""The Pulumi CLI's pre-run checks (tests/support/pulumi_cli.py, reproduced from its source)
applied to the committed files, and the first deploy a user makes with only what the docs
(docs/deploying.md, and the README's five lines) tell them to set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from functions.core.settings import Settings
from stacks.config import DEFAULTS
from tests.support import pulumi_cli
from tests.support.fake_pulumi_cli import install, path_with
from tests.support.pulumi_mocks import ROOT, cli_config, run_program

STACKS = ("aws", "gcp", "azure")
DEPLOYING = ROOT / "docs" / "deploying.md"
# Each block marked `<!-- cli-check: NAME -->` in a doc, by name.
BLOCKS = {"lone": DEPLOYING, "mesh": DEPLOYING, "readme": ROOT / "README.md"}


def documented_config_sets(section: str) -> dict[str, dict[str, str]]:
    """The `pulumi config set --stack S KEY VALUE` lines of one marked block, by stack, with
    placeholders (`<your-project-id>`) filled as a user would."""
    text = BLOCKS[section].read_text()
    block = text.split(f"<!-- cli-check: {section} -->", 1)[1].split("```", 2)[1]
    sets: dict[str, dict[str, str]] = {stack: {} for stack in STACKS}
    for stack, key, value in re.findall(r"pulumi config set --stack (\w+) (\S+) (\S+)", block):
        sets[stack][key] = value.replace("<your-project-id>", "my-gcp-project")
    assert "pulumi stack init" in block, f"the {section} block lost its commands"
    return sets


def test_the_project_file_passes_the_clis_schema_and_project_validation() -> None:
    project = pulumi_cli.load_project(ROOT / "Pulumi.yaml")
    assert project.name == "lambda"


def test_the_checker_rejects_what_the_cli_rejects(tmp_path: Path) -> None:
    """The checks can fail: the defects this project once shipped are refused as the CLI would."""
    raw = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    raw["config"]["lambda:fanoutTimeoutSeconds"] = {"type": "number", "default": 2}
    with pytest.raises(pulumi_cli.CliError, match=r"could not validate 'Pulumi\.yaml'"):
        pulumi_cli.validate_project(raw)
    raw["config"].pop("lambda:fanoutTimeoutSeconds")
    raw["config"]["lambda:memoryMb"] = {"type": "integer", "default": "lots"}
    with pytest.raises(pulumi_cli.CliError, match="not of the expected type 'integer'"):
        pulumi_cli.validate_project(raw)
    raw["config"]["lambda:memoryMb"] = {"type": "integer", "default": 512}
    raw["config"]["lambda:region"] = {"type": "string"}
    project = pulumi_cli.Project(raw["name"], raw["config"])
    with pytest.raises(
        pulumi_cli.CliError, match="Stack 'aws' is missing configuration value 'lambda:region'"
    ):
        pulumi_cli.merge_and_validate(project, "aws", {})
    raw["config"].pop("lambda:region")
    with pytest.raises(pulumi_cli.CliError, match="'lambda:memoryMb' must be of type 'integer'"):
        pulumi_cli.merge_and_validate(project, "aws", {"lambda:memoryMb": pulumi_cli.Value("2.5")})
    raw["config"]["lambda:token"] = {"type": "string", "secret": True, "default": ""}
    with pytest.raises(pulumi_cli.CliError, match="must be encrypted as it's secret"):
        pulumi_cli.merge_and_validate(pulumi_cli.Project("lambda", raw["config"]), "aws", {})


@pytest.mark.parametrize("stack", STACKS)
def test_each_committed_stack_file_passes_the_clis_config_checks_as_the_docs_have_it(
    stack: str,
) -> None:
    for section in BLOCKS:
        config = cli_config(stack, documented_config_sets(section)[stack])
        assert config["lambda:cloud"].text == stack


def test_every_declared_default_is_the_one_the_program_uses() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert {k.removeprefix("lambda:"): v["default"] for k, v in declared.items()} == DEFAULTS
    assert all("secret" not in v for v in declared.values())


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("section", ["lone", "readme"])
def test_one_cloud_alone_deploys_with_what_the_docs_set_and_no_peers(
    stack: str, section: str
) -> None:
    mocks, result = run_program(stack, documented_config_sets(section)[stack])
    assert mocks.stack_references == []  # no reference to a stack the user never created
    assert result["base_url"].startswith("https://")


def test_the_gcp_stack_without_a_project_stops_with_the_command_to_run() -> None:
    with pytest.raises(Exception, match=r"pulumi config set gcp:project <your-project-id>"):
        run_program("gcp", {})


def test_a_stack_name_that_is_no_cloud_stops_with_the_command_to_run() -> None:
    with pytest.raises(Exception, match=r"pulumi config set lambda:cloud aws"):
        run_program("aws", {"lambda:cloud": "dev"})


def documented_stacks(section: str) -> list[str]:
    """The stacks a block's `pulumi stack init` lines create, as the CLI lists them."""
    text = BLOCKS[section].read_text()
    block = text.split(f"<!-- cli-check: {section} -->", 1)[1].split("```", 2)[1]
    return [f"organization/lambda/{s}" for s in re.findall(r"pulumi stack init (\w+)", block)]


@pytest.mark.parametrize("stack", STACKS)
def test_the_documented_mesh_references_the_other_two_stacks(
    stack: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    others = sorted(f"organization/lambda/{s}" for s in STACKS if s != stack)
    # GIVEN the stacks the mesh block initialises, none deployed yet, listed by the CLI
    cli = install(tmp_path / "bin")
    cli.write(documented_stacks("mesh"))
    monkeypatch.setenv("PATH", path_with(cli.directory))
    created: dict[str, str | None] = dict.fromkeys(others)
    mocks, _ = run_program(stack, documented_config_sets("mesh")[stack], created)
    assert sorted(mocks.stack_references) == others


def test_the_clis_virtualenv_installs_the_program_set_only_at_the_locked_pins() -> None:
    def pins(path: Path) -> dict[str, str]:
        found = re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", path.read_text(), re.M)
        return {name.lower(): version for name, version in found}

    program, lock = pins(ROOT / "requirements.txt"), pins(ROOT / "requirements.lock")
    for needed in (
        "pulumi",
        "pulumi-aws",
        "pulumi-gcp",
        "pulumi-azure-native",
        "pulumi-random",
        "pulumiverse-time",
        "azure-identity",
        "uv",
    ):
        assert needed in program, needed
    for dev_only in ("pytest", "moto", "mypy", "matplotlib", "hypothesis", "duckdb", "ruff"):
        assert dev_only not in program, f"{dev_only} is not the program's"
    assert all(lock[name] == version for name, version in program.items())


@pytest.mark.parametrize("minutes", ["0", "60", "90"])
def test_a_retry_period_no_cron_minute_step_can_express_stops_the_program(minutes: str) -> None:
    # Cloud Scheduler and Azure's NCRONTAB take */N in the minute field, N below 60.
    with pytest.raises(Exception, match=r"lambda:retryScheduleMinutes"):
        run_program("aws", {"lambda:retryScheduleMinutes": minutes})


@pytest.mark.parametrize(
    ("sets", "limit"),
    [
        ({"lambda:retryTimeoutSeconds": "301", "lambda:jobTimeoutSeconds": "900"}, 225),
        ({"lambda:retryTimeoutSeconds": "136"}, 135),  # a quarter of the default 540 s
        ({"lambda:retryTimeoutSeconds": "30", "lambda:jobTimeoutSeconds": "100"}, 25),
    ],
)
def test_a_retry_deadline_the_job_cannot_hold_stops_the_program(
    sets: dict[str, str], limit: int
) -> None:
    with pytest.raises(Exception, match=rf"lambda:retryTimeoutSeconds must be at most {limit}"):
        run_program("aws", sets)


def test_a_retry_deadline_under_the_webhooks_bound_stops_the_program() -> None:
    sets = {"lambda:retryTimeoutSeconds": "2", "lambda:fanoutTimeoutMs": "3000"}
    with pytest.raises(Exception, match=r"lambda:retryTimeoutSeconds must be at least"):
        run_program("aws", sets)


@pytest.mark.parametrize(
    ("job_timeout", "retry_timeout"), [("100", "25"), ("60", "15"), ("540", "30"), ("10", "2.5")]
)
def test_the_retry_deadline_unset_follows_the_job_timeout_as_the_functions_do(
    job_timeout: str, retry_timeout: str
) -> None:
    # GIVEN a stack that never set lambda:retryTimeoutSeconds, with a short job timeout
    mocks, _ = run_program("aws", {"lambda:jobTimeoutSeconds": job_timeout})
    # THEN the program runs, and the retry function gets the functions' own default
    fn = mocks.named("aws:lambda/function:Function", "lambda-retry")
    env = fn.inputs["environment"]["variables"]
    assert env["LAMBDA_RETRY_TIMEOUT"] == retry_timeout, fn.urn
    assert Settings.from_env(env).retry_timeout_s == float(retry_timeout), fn.urn


@pytest.mark.parametrize("hours", ["0", "25"])
def test_a_reconcile_period_no_cron_hour_step_can_express_stops_the_program(hours: str) -> None:
    with pytest.raises(Exception, match=r"lambda:reconcileScheduleHours"):
        run_program("aws", {"lambda:reconcileScheduleHours": hours})


@pytest.mark.parametrize(
    ("stack", "expected"),
    [("aws", "cron(40 0/3 * * ? *)"), ("gcp", "40 */3 * * *"), ("azure", "0 40 */3 * * *")],
)
def test_the_reconcile_schedule_follows_its_setting_on_every_cloud(
    stack: str, expected: str
) -> None:
    from tests.infra.conftest import GCP_PROJECT_SET, env_of

    sets = {"lambda:reconcileScheduleHours": "3", **(GCP_PROJECT_SET if stack == "gcp" else {})}
    mocks, _ = run_program(stack, sets)
    if stack == "aws":
        rule = mocks.named("aws:cloudwatch/eventRule:EventRule", "lambda-reconcile-schedule")
        assert rule.inputs["scheduleExpression"] == expected, rule.urn
    elif stack == "gcp":
        (job,) = [j for j in mocks.of_type("gcp:cloudscheduler/job:Job") if "reconcile" in j.name]
        assert job.inputs["schedule"] == expected, job.urn
    else:
        app = "azure-native:web:WebApp"
        settings = env_of(mocks, app, "lambda-app", ("siteConfig", "appSettings"))
        assert settings["LAMBDA_RECONCILE_SCHEDULE"] == expected
