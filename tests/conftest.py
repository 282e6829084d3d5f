from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from functions.core.app import App
from functions.core.http import Request
from functions.core.settings import Settings
from tests.support.fakes import FakeClock, MemoryBlobStore

READ_TOKEN = "test-read-token"  # what the test deployments accept for reads
READ = {"authorization": f"Bearer {READ_TOKEN}"}


class Captured:
    """A logger whose JSON lines the test can read back."""

    def __init__(self) -> None:
        from functions.core.logs import JsonFormatter

        self.stream = io.StringIO()
        self.logger = logging.getLogger(f"lambda.test.{id(self)}")
        handler = logging.StreamHandler(self.stream)
        handler.setFormatter(JsonFormatter())
        self.logger.addHandler(handler)
        self.logger.propagate = False
        self.logger.setLevel(logging.INFO)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


class CoreClient:
    """Calls `App.handle` directly with neutral requests (no I/O but the store)."""

    def __init__(self, app: App) -> None:
        self.app = app

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str | list[str]] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        q = {k: tuple(v) if isinstance(v, list) else (v,) for k, v in (query or {}).items()}
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        token = self.app.settings.read_token
        if token and "authorization" not in hdrs:  # a reader's credential unless a test sets one
            hdrs["authorization"] = f"Bearer {token}"
        request = Request(method, path, hdrs, q, body or b"")
        response = self.app.handle(request)
        answer = json.loads(response.body) if response.body else None  # HEAD has no body
        return response.status, answer, dict(response.headers)

    def webhook(self, source: str, payload: Any, **headers: str) -> tuple[int, Any, dict[str, str]]:
        hdrs = {"content-type": "application/json"} | {
            k.replace("_", "-"): v for k, v in headers.items()
        }
        return self.request("POST", f"/webhook/{source}", json.dumps(payload).encode(), hdrs)


MakeClient = Callable[..., CoreClient]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store() -> MemoryBlobStore:
    return MemoryBlobStore()


@pytest.fixture
def logs() -> Captured:
    return Captured()


@pytest.fixture
def make_client(clock: FakeClock, store: MemoryBlobStore, logs: Captured) -> MakeClient:
    def make(settings: Settings | None = None, factory: Any = None) -> CoreClient:
        settings = settings or Settings()
        if settings.read_token is None:
            settings = settings._replace(read_token=READ_TOKEN)
        app = App(settings, "local", factory or (lambda: store), clock, logs.logger)
        return CoreClient(app)

    return make


@pytest.fixture
def client(make_client: MakeClient) -> CoreClient:
    return make_client()


# --- storage emulators: one process each per test session, started on first use ---------------

from collections.abc import Iterator  # noqa: E402

from tools import emulators  # noqa: E402
from tools.processes import Server  # noqa: E402


@pytest.fixture(scope="session")
def emulator_logs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return tmp_path_factory.mktemp("emulators")


@pytest.fixture(scope="session")
def moto(emulator_logs: Any) -> Iterator[Server]:
    server = emulators.start_moto(emulator_logs)
    with pytest.MonkeyPatch.context() as env:
        for key, value in emulators.AWS_ENV.items():
            env.setenv(key, value)
        env.setenv("AWS_ENDPOINT_URL_S3", server.url)
        yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_gcs(emulator_logs: Any) -> Iterator[Server]:
    server = emulators.start_fake_gcs(emulator_logs)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("STORAGE_EMULATOR_HOST", server.url)
        yield server
    server.stop()


@pytest.fixture(scope="session")
def azurite(emulator_logs: Any) -> Iterator[Server]:
    server = emulators.start_azurite(emulator_logs)
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(moto: Server) -> str:
    import boto3

    name = emulators.unique_bucket("events")
    boto3.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture
def gcs_bucket(fake_gcs: Server) -> str:
    from functions.gcp.store import _client

    name = emulators.unique_bucket("events")
    _client().create_bucket(name)
    return name


@pytest.fixture
def azure_container(azurite: Server) -> tuple[str, str]:
    from azure.storage.blob import BlobServiceClient

    conn = emulators.azurite_connection_string(azurite)
    name = emulators.unique_bucket("events")
    BlobServiceClient.from_connection_string(conn).create_container(name)
    return conn, name
