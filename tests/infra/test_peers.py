"""Which stacks are peers, and what a peer contributes once deployed."""

from __future__ import annotations

import json

import pytest

from stacks.config import ConfigMistake, resolve_peer_stacks
from stacks.peers import _join, _keys
from tests.infra.conftest import GCP_URL, env_of, peers, secret_values
from tests.support.pulumi_mocks import ORG, PEER_KEY, run_program


def test_peer_stacks_resolve_bare_names_in_this_project_and_skip_the_stack_itself() -> None:
    assert resolve_peer_stacks("aws, gcp,azure,gcp", "acme", "lambda", "aws") == (
        "acme/lambda/gcp",
        "acme/lambda/azure",
    )
    assert resolve_peer_stacks("other/proj/gcp-prod", "acme", "lambda", "aws") == (
        "other/proj/gcp-prod",
    )
    assert resolve_peer_stacks("", "acme", "lambda", "aws") == ()


def test_a_peer_stack_that_is_neither_a_name_nor_fully_qualified_is_refused() -> None:
    with pytest.raises(ConfigMistake, match="lambda:peerStacks"):
        resolve_peer_stacks("lambda/gcp", "acme", "lambda", "aws")


def test_only_peers_that_export_both_a_url_and_a_key_are_wired() -> None:
    urls, keys = ["https://a/", None, "https://c"], ["ka", "kb", None]
    assert _join(urls, keys) == "https://a"
    assert json.loads(_keys(urls, keys)) == ["ka"]


@pytest.mark.parametrize(
    ("deployed", "expected"),
    [
        (peers(gcp=GCP_URL, azure=None), [GCP_URL]),
        (peers(gcp=None, azure=None), []),
    ],
)
def test_peer_urls_and_keys_come_from_the_deployed_peer_stacks_only(
    deployed: dict[str, str | None], expected: list[str]
) -> None:
    mocks, _ = run_program("aws", {"lambda:peerStacks": "gcp,azure"}, deployed)
    env = env_of(mocks, "aws:lambda/function:Function", "lambda-fn", ("environment", "variables"))
    assert env["LAMBDA_PEER_URLS"] == ",".join(expected)
    keys = [PEER_KEY + f"{ORG}/lambda/gcp"] if expected else []
    assert json.loads(secret_values(mocks, "aws")["LAMBDA_PEER_KEYS"]) == keys


def test_a_chosen_peer_secret_replaces_the_generated_key_and_stays_secret() -> None:
    mocks, _ = run_program("aws", {}, secrets={"lambda:peerSecret": "chosen-key"})
    assert mocks.of_type("random:index/randomPassword:RandomPassword") == []
    assert secret_values(mocks, "aws")["LAMBDA_PEER_SECRET"] == "chosen-key"


def test_webhook_rules_reach_the_function_as_a_secret() -> None:
    rules = {"github": {"scheme": "github", "secret": "gh-secret"}}
    mocks, _ = run_program("aws", {}, secrets={"lambda:webhooks": json.dumps(rules)})
    assert json.loads(secret_values(mocks, "aws")["LAMBDA_WEBHOOKS"]) == rules
