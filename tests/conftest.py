from __future__ import annotations

from typing import Any

import pytest

from functions.core.app import App
from functions.core.services import Services
from functions.core.settings import Settings
from tests.support.client import READ, READ_TOKEN, Captured, CoreClient, MakeClient
from tests.support.fakes import FakeClock, MemoryBlobStore
from tests.support.gcs import gcs_client
from tests.support.progress import register as register_progress

__all__ = ["READ", "READ_TOKEN", "Captured", "CoreClient", "MakeClient"]  # until tests move


def pytest_configure(config: pytest.Config) -> None:
    register_progress(config)  # `make test` runs under xdist: long tests say they still run


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
        app = App(Services(settings, "local", factory or (lambda: store), clock, logs.logger))
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

    name = emulators.unique_bucket("events")
    gcs_client().create_bucket(name)
    return name


@pytest.fixture
def azure_container(azurite: Server) -> tuple[str, str]:
    from azure.storage.blob import BlobServiceClient

    conn = emulators.azurite_connection_string(azurite)
    name = emulators.unique_bucket("events")
    BlobServiceClient.from_connection_string(conn).create_container(name)
    return conn, name
