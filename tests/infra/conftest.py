"""Shared runs of the Pulumi program under mocks, one per stack and scenario."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.pulumi_mocks import ORG, RecordingMocks, run_program

AWS_URL = "https://x7kq2m4lzp3vbn6hd5tc2rg7yu0ijwfe.lambda-url.eu-west-1.on.aws"
GCP_URL = "https://lambda-gcp-68522566d8-ew.a.run.app"
AZURE_URL = "https://lambda-app13ba5cf8-h3c8d9e2f4a1b5c6.westeurope-01.azurewebsites.net"
GCP_PROJECT_SET = {"gcp:project": "my-gcp-project"}
MESH = {"lambda:peerStacks": "aws,gcp,azure"}

Run = tuple[RecordingMocks, dict[str, Any]]


@pytest.fixture(scope="session", autouse=True)
def no_pulumi_cli() -> Iterator[None]:
    """Plain mocks run with no Pulumi CLI on PATH (as here and in CI, and on a developer's
    machine too), so the program is a lone stack unless `lambda:peerStacks` says otherwise or a
    test puts a fake CLI first on PATH (stacks/siblings.py, tests/infra/test_siblings.py)."""
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    kept = [d for d in dirs if not (Path(d) / "pulumi").is_file()]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", os.pathsep.join(kept))
        yield


def peers(**urls: str | None) -> dict[str, str | None]:
    return {f"{ORG}/lambda/{cloud}": url for cloud, url in urls.items()}


def env_of(mocks: RecordingMocks, typ: str, name: str, path: tuple[str, ...]) -> dict[str, Any]:
    value: Any = mocks.named(typ, name).inputs
    for part in path:
        value = value[part]
    if isinstance(value, list):  # Azure app settings: a list of {name, value}
        return {item["name"]: item["value"] for item in value}
    return dict(value)


@pytest.fixture(scope="module")
def aws_run() -> Run:
    """A mesh member whose two peers are deployed, with memory and timeout set by the user."""
    return run_program(
        "aws",
        {**MESH, "lambda:memoryMb": "768", "lambda:timeoutSeconds": "20"},
        peers(gcp=GCP_URL, azure=AZURE_URL + "/"),
    )


@pytest.fixture(scope="module")
def gcp_run() -> Run:
    return run_program("gcp", {**GCP_PROJECT_SET, **MESH}, peers(aws=AWS_URL, azure=None))


@pytest.fixture(scope="module")
def azure_run() -> Run:
    return run_program("azure", MESH, peers(aws=AWS_URL, gcp=GCP_URL))


SECRET_NAMES = ("LAMBDA_PEER_SECRET", "LAMBDA_PEER_KEYS", "LAMBDA_RETRY_TOKEN", "LAMBDA_READ_TOKEN")


def secret_values(mocks: RecordingMocks, cloud: str) -> dict[str, str]:
    """The function's secrets as each cloud's secret store holds them, by environment name."""
    import json

    if cloud == "aws":
        version = mocks.one("aws:secretsmanager/secretVersion:SecretVersion")
        assert "secretString" in version.secret_inputs, version.urn
        return dict(json.loads(version.inputs["secretString"]))
    found = {}
    for name in (*SECRET_NAMES, "LAMBDA_WEBHOOKS", "LAMBDA_AZURE_CONNECTION_STRING"):
        slug = name.lower().replace("_", "-")
        if cloud == "gcp":
            hits = [
                r
                for r in mocks.of_type("gcp:secretmanager/secretVersion:SecretVersion")
                if r.name == f"lambda-{slug}-value"
            ]
            field = "secretData"
        else:
            hits = [
                r
                for r in mocks.of_type("azure-native:keyvault:Secret")
                if r.inputs["secretName"] == slug
            ]
            field = "properties.value"
        for hit in hits:
            marked = {field, field.split(".")[0]} & hit.secret_inputs
            assert marked, f"{hit.urn} stores its value in clear"
            value = hit.inputs[field] if cloud == "gcp" else hit.inputs["properties"]["value"]
            found[name] = value
    return found
