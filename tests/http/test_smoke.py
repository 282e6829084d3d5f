"""The smoke command users run after a deploy, run here against the local server."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator

import pytest

from scripts.smoke import run
from tests.conftest import READ_TOKEN
from tests.support.local import start_local
from tools.processes import ROOT, Server, free_port

SERVE_HERE = ["SERVE_STAMP=", f"SERVE_PY={sys.executable}"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    proc = start_local(
        "local-smoke", tmp_path_factory.mktemp("smoke-data"), {"LAMBDA_READ_TOKEN": READ_TOKEN}
    )
    yield proc
    proc.stop()


def test_make_smoke_passes_against_a_healthy_deployment(server: Server) -> None:
    result = subprocess.run(
        # this environment stands in for .venv-serve (tests/infra/test_make_targets.py)
        ["make", "-s", "smoke", f"URL={server.url}", f"TOKEN={READ_TOKEN}", *SERVE_HERE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    checks = (
        "health",
        "read token",
        "peers",
        "reads need the token",
        "webhook round trip",
        "bad input rejected",
    )
    for check in checks:
        assert f"ok   {check}" in result.stdout
    assert "all checks passed" in result.stdout


def test_smoke_fails_with_a_readable_report_when_nothing_answers() -> None:
    out = io.StringIO()
    assert run(f"http://127.0.0.1:{free_port()}", READ_TOKEN, out, timeout=2) == 1
    assert "FAIL health: ConnectError" in out.getvalue()


def test_smoke_stops_at_the_first_failing_check(server: Server) -> None:
    # GIVEN a base URL whose routes are all missing (the app answers 404 under /nope)
    out = io.StringIO()
    assert run(f"{server.url}/nope", READ_TOKEN, out) == 1
    report = out.getvalue()
    assert "FAIL health: SmokeFailure: /health answered 404" in report
    assert "peers" not in report


def test_smoke_says_the_token_was_refused_when_it_is_not_the_deployments(
    server: Server,
) -> None:
    # GIVEN a token the deployment does not know (it was a body mismatch under "peers")
    out = io.StringIO()
    assert run(server.url, "not-the-token", out) == 1
    report = out.getvalue()
    assert "FAIL read token: SmokeFailure: the read token was refused (401)" in report
    assert "read_token" in report  # where to get the right one
    assert "peers" not in report


def test_smoke_says_the_token_is_missing_when_none_is_given(server: Server) -> None:
    out = io.StringIO()
    assert run(server.url, "", out) == 1
    assert "FAIL read token: SmokeFailure: no read token given: TOKEN=$(pulumi" in out.getvalue()
