"""The members `make status`, `make reconcile` and `make replay` talk to, and the status table."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from scripts.members import Member, NoMembers, from_mesh_file, from_stacks, resolve, write_mesh_file
from scripts.status import table


def pulumi_outputs(existing: dict[str, dict[str, str]]):  # type: ignore[no-untyped-def]
    """A stand-in for `pulumi stack output --json --show-secrets --stack S`: the outputs as one
    JSON object on stdout (pulumi/pulumi pkg/cmd/pulumi/stack/stack_output.go: jsonOut writes
    `ui.FprintJSON(outputs)`); for a stack that does not exist, RequireStack fails: an error
    on stderr and a non-zero exit."""

    def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        stack = argv[argv.index("--stack") + 1]
        if stack not in existing:
            return subprocess.CompletedProcess(
                argv, 255, "", f"error: no stack named '{stack}' found"
            )
        return subprocess.CompletedProcess(argv, 0, json.dumps(existing[stack]), "")

    return run


def test_the_stacks_that_exist_are_the_members_with_their_tokens() -> None:
    run = pulumi_outputs(
        {
            "aws": {
                "base_url": "https://x.lambda-url.eu-west-1.on.aws/",
                "read_token": "r",
                "retry_token": "j",
            },
            "azure": {
                "base_url": "https://y.azurewebsites.net",
                "read_token": "r2",
                "retry_token": "j2",
            },
        }
    )
    assert from_stacks(run=run) == [
        Member("aws", "https://x.lambda-url.eu-west-1.on.aws", "r", "j"),
        Member("azure", "https://y.azurewebsites.net", "r2", "j2"),
    ]


def test_the_running_mesh_wins_and_its_file_keeps_its_tokens_private(tmp_path: Path) -> None:
    path = tmp_path / ".mesh.json"
    members = [Member("aws", "http://127.0.0.1:1", "r", "j")]
    write_mesh_file(members, path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert from_mesh_file(path) == members
    assert resolve("auto", pulumi_outputs({}), path) == members


def test_no_mesh_and_no_stack_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(NoMembers, match="make mesh"):
        resolve("mesh", pulumi_outputs({}), tmp_path / "none.json")


def test_the_status_table_has_a_row_per_member_and_per_peer_and_says_why_one_is_down() -> None:
    rows = [
        {
            "member": "aws",
            "reachable": True,
            "version": "0.1.0",
            "peers": [{"url": "u1", "pending": 2, "dead": 1}, {"url": "u2", "pending": "n/a"}],
            "quarantined": 3,
            "last_reconcile": "2026-12-03T04:40:00Z",
            "hours_different": {"u1": 0, "u2": None},
        },
        {"member": "gcp", "reachable": False, "error": "ConnectError: refused"},
    ]
    lines = table(rows).splitlines()
    assert lines[1].split() == ["aws", "yes", "0.1.0", "3", "2026-12-03T04:40:00Z"]
    assert lines[2].split() == ["->", "u1", "pending", "2", "dead", "1", "hours", "different", "0"]
    assert lines[3].split()[-1] == "-"  # odd or missing numbers shown as such, never a crash
    assert lines[4].split()[:3] == ["gcp", "no", "ConnectError:"]


def test_a_member_answering_odd_json_is_a_row_saying_so_not_a_crash() -> None:
    import httpx

    from scripts.status import member_status

    def odd(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200, json=["not", "an", "object"])
        return httpx.Response(200, json={"peers": "nope", "reconcile": {"peers": [1]}})

    client = httpx.Client(transport=httpx.MockTransport(odd))
    row = member_status(client, Member("aws", "http://aws.example", "r", "j"))
    assert (row["reachable"], "not a JSON object" in row["error"]) == (False, True)


def test_posting_to_each_member_survives_one_that_is_down(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from scripts.members import post_each

    members = [Member("aws", "http://127.0.0.1:1", "r", "j")]
    assert post_each(members, "/internal/reconcile", 5.0) == 1
    line = json.loads(capsys.readouterr().out)
    assert (line["member"], line["status"]) == ("aws", None)
    assert "ConnectError" in line["error"]
