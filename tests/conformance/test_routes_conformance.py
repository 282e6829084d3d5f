"""One route-conformance suite over every entry point: local, AWS (Function URL and REST
payloads), GCP (functions-framework) and Azure, each backed by its storage emulator. The same
requests must give the same statuses and (normalised) bodies everywhere."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.core.settings import Settings
from tests.conftest import READ_TOKEN
from tests.support.entrypoints import (
    AzureEntryPoint,
    HttpEntryPoint,
    LambdaEntryPoint,
)
from tests.support.gcs import gcs_client
from tools import emulators
from tools.platforms import azure_functions, gcp_framework_argv
from tools.processes import ROOT, Server, free_port

ENTRY_POINTS = ["local", "aws-url", "aws-rest", "gcp", "azure"]
PEER_SECRET = "conformance-peer-secret"
SIGNED = {"x-sign": "now"}  # replaced by Standard Webhooks headers at request time
REPLAYED = {"x-sign": "10 minutes ago"}
BAD_SIGNATURE = {"x-sign": "wrong secret"}
COMMON_ENV = {
    "LAMBDA_MAX_BODY_BYTES": "4096",
    "LAMBDA_PEER_SECRET": PEER_SECRET,
    "LAMBDA_READ_TOKEN": READ_TOKEN,
}
JSON = {"content-type": "application/json"}
KEY = re.compile(
    r"events/source=[\w-]+/year=\d{4}/month=\d\d/day=\d\d/hour=\d\d/[0-9a-f-]{36}\.json"
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("conformance")


def _local(workdir: Path) -> Iterator[Any]:
    port = free_port()
    env = {"PORT": str(port), "DATA_DIR": str(workdir / "data"), **COMMON_ENV}
    server = Server("local", [sys.executable, "-m", "functions.local"], port, workdir, env)
    server.wait_for_http("/health")
    yield HttpEntryPoint("local", port)
    server.stop()


def _aws(request: pytest.FixtureRequest, payload: str) -> Iterator[Any]:
    import boto3

    from functions.aws.handler import build_app, make_handler

    request.getfixturevalue("moto")
    bucket = emulators.unique_bucket("conf")
    boto3.client("s3").create_bucket(Bucket=bucket)
    app = build_app(
        Settings(bucket=bucket, max_body_bytes=4096, peer_secret=PEER_SECRET, read_token=READ_TOKEN)
    )
    yield LambdaEntryPoint(f"aws-{payload}", make_handler(app), payload)


def _gcp(request: pytest.FixtureRequest, workdir: Path) -> Iterator[Any]:

    gcs: Server = request.getfixturevalue("fake_gcs")
    bucket = emulators.unique_bucket("conf")
    gcs_client().create_bucket(bucket)
    port = free_port()
    argv = gcp_framework_argv(port)
    env = {
        "LAMBDA_BUCKET": bucket,
        "STORAGE_EMULATOR_HOST": gcs.url,
        "PYTHONPATH": str(ROOT),
        **COMMON_ENV,
    }
    server = Server("gcp", argv, port, workdir, env).wait_for_http("/health")
    yield HttpEntryPoint("gcp", port)
    server.stop()


def _azure(request: pytest.FixtureRequest) -> Iterator[Any]:
    from azure.storage.blob import BlobServiceClient

    from functions.azure.function_app import default_app

    azurite: Server = request.getfixturevalue("azurite")
    conn = emulators.azurite_connection_string(azurite)
    container = emulators.unique_bucket("conf")
    BlobServiceClient.from_connection_string(conn).create_container(container)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LAMBDA_BUCKET", container)
        env.setenv("LAMBDA_AZURE_CONNECTION_STRING", conn)
        for key, value in COMMON_ENV.items():
            env.setenv(key, value)
        default_app.cache_clear()
        yield AzureEntryPoint("azure", azure_functions()["http"].get_user_function())
    default_app.cache_clear()


@pytest.fixture(scope="module", params=ENTRY_POINTS)
def entry(request: pytest.FixtureRequest, workdir: Path) -> Iterator[Any]:
    name = request.param
    if name == "local":
        yield from _local(workdir)
    elif name.startswith("aws"):
        yield from _aws(request, "2.0" if name == "aws-url" else "1.0")
    elif name == "gcp":
        yield from _gcp(request, workdir)
    else:
        yield from _azure(request)


def envelope(event_id: str, source: str = "peer") -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "source": source,
            "received_at": "2026-11-20T08:00:00.000001Z",
            "origin": "aws",
            "idempotency_key": None,
            "headers": {},
            "payload": {"from": "peer"},
        }
    ).encode()


PEER_ID = "019aa0c4-1111-7222-8333-444455556666"
READBACK_ID = "019aa0c4-1111-7222-8333-777788889999"

# (method, target, body, headers, status, error code or None)
CASES: list[tuple[str, str, bytes, dict[str, str], int, str | None]] = [
    ("GET", "/health", b"", {}, 200, None),
    ("GET", "/peers", b"", {}, 200, None),
    ("POST", "/webhook/orders", b'{"n": 1}', JSON, 201, None),
    ("POST", "/webhook/orders", b'{"n": 2}', {**JSON, "Idempotency-Key": "k-1"}, 201, None),
    ("POST", "/webhook/orders", b'{"n": 2}', {**JSON, "Idempotency-Key": "k-1"}, 200, None),
    ("POST", "/webhook/a%2Fb", b"{}", JSON, 400, "bad_request"),
    ("POST", "/webhook/" + "x" * 65, b"{}", JSON, 400, "bad_request"),
    ("POST", "/webhook/bad%20source", b"{}", JSON, 400, "bad_request"),
    (
        "POST",
        "/webhook/orders",
        b"{}",
        {"content-type": "text/plain"},
        415,
        "unsupported_media_type",
    ),
    ("POST", "/webhook/orders", b"{nope", JSON, 400, "bad_request"),
    ("POST", "/webhook/orders", b'"\xff\xfe"', JSON, 400, "bad_request"),
    ("POST", "/webhook/orders", b"[" * 5000, JSON, 413, "payload_too_large"),
    ("POST", "/webhook/orders", b'{"n": 1e999}', JSON, 400, "bad_request"),
    ("POST", "/webhook/orders", b'{"s": "\\ud800"}', JSON, 400, "bad_request"),
    ("POST", "/webhook/orders", b"[" * 1500 + b"]" * 1500, JSON, 400, "bad_request"),
    ("GET", "/query?source=orders&date=2026-11-23&hour=%D9%A1", b"", {}, 400, "bad_request"),
    ("POST", "/internal/event", envelope(PEER_ID), JSON, 401, "unauthorized"),
    ("POST", "/internal/event", envelope(PEER_ID), BAD_SIGNATURE, 401, "unauthorized"),
    ("POST", "/internal/event", envelope(PEER_ID), REPLAYED, 401, "unauthorized"),
    ("POST", "/internal/event", envelope(PEER_ID), SIGNED, 201, None),
    ("POST", "/internal/event", envelope(PEER_ID), SIGNED, 200, None),
    ("POST", "/internal/event", envelope("../../etc"), SIGNED, 400, "bad_request"),
    ("POST", "/internal/outbox/retry", b"", {}, 401, "unauthorized"),
    ("POST", "/internal/outbox/requeue", b"", {"authorization": "bearer x"}, 401, "unauthorized"),
    ("POST", "/internal/compact", b"", {"authorization": "Bearer nope"}, 401, "unauthorized"),
    ("GET", "/query?source=orders&date=2026-02-30", b"", {}, 400, "bad_request"),
    ("GET", "/query?source=orders&date=2026-11-23&hour=24", b"", {}, 400, "bad_request"),
    ("GET", "/query?source=orders&date=2026-11-23&oops=1", b"", {}, 400, "bad_request"),
    ("GET", "/query?source=empty&date=2020-01-01", b"", {}, 200, None),
    (
        "GET",
        "/query?source=orders&date=2026-11-23",
        b"",
        {"authorization": ""},
        401,
        "unauthorized",
    ),
    (
        "GET",
        "/query?source=orders&date=2026-11-23",
        b"",
        {"authorization": "Bearer x"},
        401,
        "unauthorized",
    ),
    ("GET", "/nowhere", b"", {}, 404, "not_found"),
    ("DELETE", "/health", b"", {}, 405, "method_not_allowed"),
    ("GET", "/webhook/orders", b"", {}, 405, "method_not_allowed"),
]


def sign(headers: dict[str, str], body: bytes) -> dict[str, str]:
    from datetime import UTC, datetime, timedelta

    from functions.core.signing import PeerSigner

    how = headers.get("x-sign")
    if how is None:
        return headers
    secret = "not-the-peer-secret" if how == "wrong secret" else PEER_SECRET
    now = datetime.now(UTC) - (timedelta(minutes=10) if how == "10 minutes ago" else timedelta())
    return PeerSigner(secret).headers("msg-conformance", body, now)


def normalise(value: Any) -> Any:
    """Remove what legitimately differs between runs: ids, times, request ids, adapter names."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ("request_id", "id", "received_at"):
                out[k] = f"<{k}>"
            elif k in ("adapter", "origin", "version"):
                out[k] = "<name>"
            elif k == "key":
                assert KEY.fullmatch(v), v
                out[k] = "<key>"
            else:
                out[k] = normalise(v)
        return out
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


TRANSCRIPTS: dict[str, list[Any]] = {}


def test_every_case_gives_the_expected_status_and_error_shape(entry: Any) -> None:
    transcript = []
    for method, target, body, headers, status, code in CASES:
        got, response_headers, answer = entry.request(method, target, body, sign(headers, body))
        label = f"{entry.name}: {method} {target[:40]}"
        assert got == status, f"{label} -> {got} {answer}"
        assert response_headers["content-type"].startswith("application/json"), label
        if code is not None:
            assert set(answer) == {"error"}, label
            assert set(answer["error"]) == {"code", "message", "request_id"}, label
            assert answer["error"]["code"] == code, label
        if status == 405:
            assert response_headers["allow"], label
        transcript.append((got, normalise(answer)))
    TRANSCRIPTS[entry.name] = transcript
    first = next(iter(TRANSCRIPTS))
    assert transcript == TRANSCRIPTS[first], f"{entry.name} differs from {first}"


def test_webhooks_read_back_through_query_in_the_same_order(entry: Any) -> None:
    ids, day, hour = [], "", ""
    for n in range(12):
        status, _, answer = entry.request(
            "POST", "/webhook/roundtrip", json.dumps({"n": n, "text": "caf\u00e9"}).encode(), JSON
        )
        assert status == 201
        ids.append(answer["id"])
        day, hour = answer["received_at"][:10], answer["received_at"][11:13]
    status, _, rows = entry.request("GET", f"/query?source=roundtrip&date={day}&limit=10")
    assert status == 200
    # received_at can cross an hour between posts; the newest first are the last ten posted
    assert [row["id"] for row in rows["rows"]] == ids[::-1][:10]
    assert [row["payload"]["n"] for row in rows["rows"]] == list(range(11, 1, -1))
    assert rows["rows"][0]["payload"]["text"] == "caf\u00e9"
    _, _, one_hour = entry.request("GET", f"/query?source=roundtrip&date={day}&hour={hour}")
    assert ids[-1] in [row["id"] for row in one_hour["rows"]]
    # a peer's envelope, posted here (no other test's data: tests run in any order)
    body = envelope(READBACK_ID, "peer-readback")
    assert entry.request("POST", "/internal/event", body, sign(SIGNED, body))[0] == 201
    _, _, peer = entry.request("GET", "/query?source=peer-readback&date=2026-11-20&hour=08")
    assert [(r["id"], r["origin"]) for r in peer["rows"]] == [(READBACK_ID, "aws")]


def test_head_answers_every_get_route_with_its_status_and_no_body(entry: Any) -> None:
    for target in ("/health", "/peers", "/query?source=empty&date=2020-01-01"):
        status, headers, body = entry.request("HEAD", target)
        assert (status, body) == (200, None), (entry.name, target)
        assert headers["content-type"] == "application/json"
