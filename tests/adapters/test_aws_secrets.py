"""The AWS function reads its secrets from Secrets Manager (moto's server), once, by ARN."""

from __future__ import annotations

import json

import boto3
import pytest

from functions.aws.secrets import with_secrets
from functions.core.errors import ConfigError
from functions.core.settings import Settings
from tools.processes import Server


def test_the_secret_json_becomes_the_settings_secrets(
    moto: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.url)
    values = {"LAMBDA_PEER_SECRET": "k", "LAMBDA_READ_TOKEN": "r", "LAMBDA_PEER_KEYS": '["p"]'}
    arn = boto3.client("secretsmanager").create_secret(
        Name="lambda-test-secrets", SecretString=json.dumps(values)
    )["ARN"]
    environ = with_secrets({"LAMBDA_SECRETS_ARN": arn, "LAMBDA_BUCKET": "b"})
    settings = Settings.from_env(environ)
    assert (settings.peer_secret, settings.read_token, settings.peer_keys) == ("k", "r", ("p",))
    assert settings.bucket == "b"


@pytest.mark.parametrize("stored", ["not json", '["a list"]', '{"LAMBDA_PEER_SECRET": 1}'])
def test_a_secret_that_is_not_a_json_object_of_strings_stops_the_start(
    moto: Server, monkeypatch: pytest.MonkeyPatch, stored: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.url)
    arn = boto3.client("secretsmanager").create_secret(
        Name=f"lambda-bad-{abs(hash(stored))}", SecretString=stored
    )["ARN"]
    with pytest.raises(ConfigError, match="LAMBDA_SECRETS_ARN"):
        with_secrets({"LAMBDA_SECRETS_ARN": arn})


def test_a_missing_secret_names_the_variable(moto: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.url)
    with pytest.raises(ConfigError, match="LAMBDA_SECRETS_ARN': cannot read the secret"):
        with_secrets({"LAMBDA_SECRETS_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:nope"})


def test_without_an_arn_the_environment_is_used_as_it_is() -> None:
    assert with_secrets({"LAMBDA_PEER_SECRET": "env"}) == {"LAMBDA_PEER_SECRET": "env"}
