"""The AWS function's cold path: botocore's own data trimmed to the operations we call still
drives real requests (against moto), and `/health` never reads the secret
(docs/deploying.md, cold starts)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore
import botocore.session
import pytest

from functions.aws import handler as module
from functions.aws import sdk
from functions.aws.store import S3BlobStore
from functions.core.errors import BlobNotFound, ConfigError
from stacks.boto_models import trim_data, trim_model
from tests.support.payloads import load_event
from tools.processes import Server

DATA = Path(botocore.__file__).parent / "data"
PINNED = sdk.PINNED_RULE_PARAMETERS
TOP = ("endpoints.json", "partitions.json", "sdk-default-configuration.json", "_retry.json")


def s3_model() -> dict[str, Any]:
    loader = botocore.session.get_session().get_component("data_loader")
    model: dict[str, Any] = loader.load_service_model("s3", "service-2")
    return model


def trimmed_session(tmp_path: Path) -> Any:
    """The function's botocore session (functions/aws/sdk.py), finding the data as the archive
    ships it (stacks/packaging.py) before its own."""
    data = tmp_path / "data"
    data.mkdir()
    for name in TOP:
        shutil.copy(DATA / name, data / name)
    for service in sdk.OPERATIONS:
        shutil.copytree(DATA / service, data / service)
    trim_data(data, sdk.OPERATIONS, PINNED)
    assert not list(data.rglob("*.gz"))  # botocore reads the plain JSON: nothing to unzip
    session = sdk.new_session()
    session.get_component("data_loader").search_paths.insert(0, str(data))
    return session


def test_a_trimmed_model_keeps_the_operations_and_every_shape_they_reach() -> None:
    model = s3_model()
    trimmed = trim_model(model, sdk.OPERATIONS["s3"])
    assert set(trimmed["operations"]) == set(sdk.OPERATIONS["s3"])
    assert {"PutObjectRequest", "ListObjectsV2Output", "NoSuchKey"} <= trimmed["shapes"].keys()
    assert "CreateBucketRequest" not in trimmed["shapes"]
    assert len(json.dumps(trimmed)) < len(json.dumps(model)) / 20


def test_trimming_refuses_an_operation_the_model_lacks() -> None:
    with pytest.raises(ValueError, match="PutBananas"):
        trim_model(s3_model(), frozenset({"PutObject", "PutBananas"}))


def test_the_store_works_on_the_trimmed_models(s3_bucket: str, tmp_path: Path) -> None:
    # GIVEN an S3 client built from the trimmed data and the lean session, as in the archive
    client = trimmed_session(tmp_path).create_client("s3", config=sdk.pinned_config())
    assert sorted(client.meta.service_model.operation_names) == sorted(sdk.OPERATIONS["s3"])
    store = S3BlobStore(s3_bucket, client=client, page_size=1)
    # WHEN every operation the store has runs, conditional writes and pagination included
    store.put("a/1", b"one")
    assert store.put_if_absent("a/2", b"two") is True
    assert store.put_if_absent("a/2", b"again") is False
    store.close_connections()  # SnapStart's refresh: the next request opens a new connection
    assert store.get("a/2") == b"two"
    assert list(store.list("a/")) == ["a/1", "a/2"]
    store.delete("a/1")
    # THEN each behaved as on the full model
    assert list(store.list("a/")) == ["a/2"]
    with pytest.raises(BlobNotFound):
        store.get("a/1")


def test_the_secret_is_read_on_the_trimmed_models(moto: Server, tmp_path: Path) -> None:
    import boto3

    arn = boto3.client("secretsmanager", endpoint_url=moto.url).create_secret(
        Name="lambda-trimmed-models", SecretString='{"k": "v"}'
    )["ARN"]
    client = trimmed_session(tmp_path).create_client(
        "secretsmanager", endpoint_url=moto.url, config=sdk.pinned_config()
    )
    assert client.get_secret_value(SecretId=arn)["SecretString"] == '{"k": "v"}'


@pytest.fixture
def fresh_handler() -> Iterator[None]:
    module._default_handler.cache_clear()
    module.default_app.cache_clear()
    module._public_app.cache_clear()
    yield
    module._default_handler.cache_clear()
    module.default_app.cache_clear()
    module._public_app.cache_clear()


def health_event() -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": "/health",
        "rawQueryString": "",
        "headers": {},
        "requestContext": {"http": {"method": "GET"}, "stage": "$default"},
        "isBase64Encoded": False,
    }


def test_health_answers_without_reading_the_secret(
    moto: Server, monkeypatch: pytest.MonkeyPatch, s3_bucket: str, fresh_handler: None
) -> None:
    # GIVEN the stack's settings, whose secret cannot be read (so any read would fail loudly),
    # and peers whose signing key sits in that secret
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.url)
    monkeypatch.setenv("LAMBDA_SECRETS_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:absent")
    monkeypatch.setenv("LAMBDA_BUCKET", s3_bucket)
    monkeypatch.setenv("LAMBDA_PEER_URLS", "https://peer.example")
    # WHEN /health is asked, twice
    answers = [module.handler(health_event(), None) for _ in range(2)]
    # THEN it answers, and the secret was never read
    assert [a["statusCode"] for a in answers] == [200, 200]
    assert json.loads(answers[0]["body"])["adapter"] == "aws"
    assert module.default_app.cache_info().currsize == 0
    # AND the first route that needs the secret reads it (and stops, naming the setting)
    with pytest.raises(ConfigError, match="LAMBDA_SECRETS_ARN"):
        module.handler(load_event("aws", "function_url_post_base64"), None)


def test_once_the_secret_is_read_health_uses_the_full_app(
    moto: Server, monkeypatch: pytest.MonkeyPatch, s3_bucket: str, fresh_handler: None
) -> None:
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.url)
    arn = boto3.client("secretsmanager").create_secret(
        Name="lambda-cold-path", SecretString=json.dumps({"LAMBDA_PEER_SECRET": "k"})
    )["ARN"]
    monkeypatch.setenv("LAMBDA_SECRETS_ARN", arn)
    monkeypatch.setenv("LAMBDA_BUCKET", s3_bucket)
    first = module.handler(load_event("aws", "function_url_post_base64"), None)
    assert first["statusCode"] == 201
    assert module.handler(health_event(), None)["statusCode"] == 200
    assert module._public_app.cache_info().currsize == 0  # never needed
    assert module.default_app().settings.peer_secret == "k"
