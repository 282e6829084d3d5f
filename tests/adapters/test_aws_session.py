"""The function's lean botocore session (functions/aws/sdk.py): the built-in handlers it keeps
are every one botocore would run for our clients' events, Lambda's environment credentials skip
the rest of the chain (which stays for SnapStart's container credentials), and the endpoint
settings the trimmed rules rely on hold whatever the environment says
(docs/deploying.md, cold starts)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.handlers import BUILTIN_HANDLERS
from botocore.hooks import EventAliaser, HierarchicalEmitter

from functions.aws import sdk
from functions.aws.store import S3BlobStore
from tools.processes import Server

ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


class Recorder(HierarchicalEmitter):
    """botocore's emitter, noting every event name it is asked to emit (clients copy it, and
    share the list)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def emit(self, event_name: str, **kwargs: Any) -> Any:
        self.seen.append(event_name)
        return super().emit(event_name, **kwargs)

    def emit_until_response(self, event_name: str, **kwargs: Any) -> Any:
        self.seen.append(event_name)
        return super().emit_until_response(event_name, **kwargs)


def stand_in(place: int) -> Callable[..., int]:
    def handler(**kwargs: Any) -> int:
        return place

    return handler


def probes(specs: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Each built-in handler spec with a stand-in that answers the spec's place in botocore's
    list, so that an emit tells which built-ins would run, in which order."""
    for spec in specs:
        place = next(i for i, s in enumerate(BUILTIN_HANDLERS) if s is spec)
        yield (spec[0], stand_in(place), *spec[2:])


def fired(emitter: Any, event_name: str) -> list[int]:
    return [answer for _, answer in emitter.emit(event_name)]


def every_event_our_clients_emit(s3_bucket: str, moto_url: str) -> list[str]:
    import boto3

    recorder = Recorder()
    session = sdk.new_session(recorder)
    store = S3BlobStore(s3_bucket, session.create_client("s3", config=sdk.pinned_config()))
    store.put("a/1", b"one")
    store.put_if_absent("a/1", b"again")
    store.get("a/1")
    list(store.list("a/"))
    store.delete("a/1")
    with pytest.raises(Exception, match="a/1"):
        store.get("a/1")
    arn = boto3.client("secretsmanager", endpoint_url=moto_url).create_secret(
        Name="lambda-session-events", SecretString="{}"
    )["ARN"]
    secrets = session.create_client(
        "secretsmanager", endpoint_url=moto_url, config=sdk.pinned_config()
    )
    secrets.get_secret_value(SecretId=arn)
    return sorted(set(recorder.seen))


def test_the_kept_handlers_are_every_one_botocore_runs_for_our_events(
    moto: Server, s3_bucket: str
) -> None:
    # GIVEN every event name our clients emitted through every operation the function calls
    names = every_event_our_clients_emit(s3_bucket, moto.url)
    assert {"before-call.s3.PutObject", "before-call.secrets-manager.GetSecretValue"} <= set(names)
    # AND botocore's built-ins registered as its own session does (through its aliases), beside
    # the kept ones registered as ours does (straight to the emitter)
    full = EventAliaser(HierarchicalEmitter())
    sdk.register_builtin_handlers(full, probes(list(BUILTIN_HANDLERS)))
    lean_emitter = HierarchicalEmitter()
    kept = list(sdk.builtin_handlers(frozenset(sdk.OPERATIONS)))
    sdk.register_builtin_handlers(lean_emitter, probes(kept))
    lean = EventAliaser(lean_emitter)
    # THEN each event runs the same built-ins in the same order, fewer than half being kept
    for name in names:
        assert fired(lean, name) == fired(full, name), name
    assert sum(bool(fired(full, name)) for name in names) > 10
    assert len(kept) < len(BUILTIN_HANDLERS) * 0.6


class Registrations:
    def __init__(self) -> None:
        self.names: list[str] = []

    def register(self, event_name: str, handler: Callable[..., Any], *args: Any) -> None:
        self.names.append(event_name)

    register_first = register_last = register


def test_botocores_aliases_leave_every_kept_event_name_as_it_is() -> None:
    kept = list(sdk.builtin_handlers(frozenset(sdk.OPERATIONS)))
    seen = Registrations()
    sdk.register_builtin_handlers(EventAliaser(seen), iter(kept))  # type: ignore[arg-type]
    assert seen.names == [spec[0] for spec in kept]


def test_the_event_names_are_the_models_service_ids() -> None:
    import botocore.session

    for service, name in sdk.EVENT_NAMES.items():
        model = botocore.session.get_session().get_service_model(service)
        assert model.service_id.hyphenize() == name
    assert sdk.EVENT_NAMES.keys() == sdk.OPERATIONS.keys()


@pytest.fixture
def environment_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)


def test_lambdas_environment_credentials_skip_the_rest_of_the_chain(
    environment_credentials: None,
) -> None:
    session = sdk.new_session()
    providers = session.get_component("credential_provider").providers
    assert [p.METHOD for p in providers] == ["env"]
    assert session.get_credentials().access_key == "AKIDFROMENV"


@pytest.fixture
def container_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """SnapStart's way (AWS_CONTAINER_CREDENTIALS_FULL_URI and a token, no keys in the
    environment): a local endpoint answering as the container credentials provider expects
    (botocore/credentials.py ContainerProvider)."""
    tokens: list[str] = []
    expiry = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = {
        "AccessKeyId": "AKIDCONTAINER",
        "SecretAccessKey": "s",
        "Token": "t",
        "Expiration": expiry,
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            tokens.append(self.headers.get("Authorization", ""))
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    url = f"http://127.0.0.1:{server.server_address[1]}/creds"
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url)
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "snapstart-token")
    yield tokens
    server.shutdown()
    server.server_close()


def test_without_environment_credentials_the_chain_finds_snapstarts(
    container_credentials: list[str],
) -> None:
    session = sdk.new_session()
    assert session.get_credentials().get_frozen_credentials().access_key == "AKIDCONTAINER"
    assert container_credentials == ["snapstart-token"]


class Stop(Exception):
    pass


def first_url(client: Any) -> str:
    """Where the client would send a PutObject, stopped before it is sent."""
    urls: list[str] = []

    def stop(request: Any, **kwargs: Any) -> None:
        urls.append(request.url)
        raise Stop

    client.meta.events.register("before-send.s3.PutObject", stop)
    with pytest.raises(Stop):
        client.put_object(Bucket="events-bucket", Key="k.json", Body=b"{}")
    return urls[0]


def test_clients_keep_the_regular_endpoints_whatever_the_environment_asks(
    environment_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    regular = first_url(sdk.new_session().create_client("s3", config=sdk.pinned_config()))
    # WHEN the environment asks for FIPS and dual-stack endpoints
    monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", "true")
    monkeypatch.setenv("AWS_USE_DUALSTACK_ENDPOINT", "true")
    client = sdk.new_session().create_client("s3", config=sdk.pinned_config())
    # THEN the pinned client still asks the regular endpoint (the trimmed rules have no other)
    assert first_url(client) == regular
    assert "fips" not in regular
    assert "dualstack" not in regular
    assert regular.startswith("https://events-bucket.s3.")


def test_the_stores_puts_sign_their_body_instead_of_adding_a_crc(
    environment_credentials: None,
) -> None:
    # GIVEN the store's own client (from a fresh session), sending over HTTPS as in Lambda
    sdk.session.cache_clear()
    store = S3BlobStore("events-bucket")
    sdk.session.cache_clear()
    # WHEN it writes (stopped before sending)
    headers = sent_headers(store)
    # THEN the body's SHA-256 is signed (S3 checks it) and no CRC32 is computed beside it,
    # where botocore's default streams the body unsigned, with a CRC32 in a trailer
    assert len(headers["X-Amz-Content-SHA256"]) == 64
    assert not [
        name for name in headers if name.lower().startswith("x-amz-") and "checksum" in name.lower()
    ]
    default = sent_headers(S3BlobStore("b", client=sdk.new_session().create_client("s3")))
    assert b"UNSIGNED" in default["X-Amz-Content-SHA256"]
    assert default["X-Amz-Trailer"] == b"x-amz-checksum-crc32"


def sent_headers(store: S3BlobStore) -> Any:
    headers: list[Any] = []

    def stop(request: Any, **kwargs: Any) -> None:
        headers.append(request.headers)
        raise Stop

    store._client.meta.events.register("before-send.s3.PutObject", stop)
    with pytest.raises(Stop):
        store.put_if_absent("events/a.json", b'{"n": 1}')
    return headers[0]
