"""The embedded default over real HTTP: `python -m functions.local` on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import READ, READ_TOKEN
from tools.processes import Server, free_port


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def server(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    env = {
        "PORT": str(port),
        "DATA_DIR": str(data_dir),
        "LAMBDA_MAX_BODY_BYTES": "4096",
        "LAMBDA_PEER_URLS": "http://127.0.0.1:1",  # nothing listens: every delivery is queued
        "LAMBDA_PEER_SECRET": "local-test-secret",
        "LAMBDA_READ_TOKEN": READ_TOKEN,
    }
    proc = Server(
        "local",
        [sys.executable, "-m", "functions.local"],
        port,
        tmp_path_factory.mktemp("logs"),
        env,
    )
    proc.wait_for_http("/health")
    yield proc
    proc.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10, headers=READ) as c:
        yield c


def stored_events(data_dir: Path) -> list[Path]:
    return (
        sorted(p for p in (data_dir / "events").rglob("*.json"))
        if (data_dir / "events").exists()
        else []
    )


def raw(
    server: Server, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict, dict[str, str]]:
    """Send the path byte for byte (httpx would normalise '..' and escapes)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request(method, path, body=body, headers={**READ, **(headers or {})})
    response = conn.getresponse()
    data = json.loads(response.read())
    conn.close()
    return response.status, data, {k.lower(): v for k, v in response.getheaders()}


def test_health_and_peers(client: httpx.Client, data_dir: Path) -> None:
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["adapter"] == "local"
    # The server is shared by this module's tests, in any order: its outbox holds one record
    # per webhook they sent to the peer that never answers.
    outbox = data_dir / "outbox"
    pending = len(list(outbox.rglob("*.json"))) if outbox.exists() else 0
    assert client.get("/peers").json() == {
        "peer_count": 1,
        "peers": [{"url": "http://127.0.0.1:1", "pending": pending, "dead": 0}],
        "quarantined": 0,
        "reconcile": None,  # no reconcile run yet
    }


def test_a_webhook_is_stored_as_a_file_under_the_hive_path_and_queried(
    client: httpx.Client, data_dir: Path
) -> None:
    before = datetime.now(UTC)
    response = client.post("/webhook/shop", json={"order": 42})
    after = datetime.now(UTC)
    assert response.status_code == 201
    body = response.json()
    assert body["fanout"] == {"delivered": 0, "queued": 1}  # the peer is down: queued
    path = data_dir / body["key"]
    assert json.loads(path.read_text())["payload"] == {"order": 42}
    # The server's own clock dated it, between the two readings (a run may cross midnight).
    days = {f"/year={t:%Y}/month={t:%m}/day={t:%d}/": f"{t:%Y-%m-%d}" for t in (before, after)}
    (day,) = [date for part, date in days.items() if part in body["key"]]
    rows = client.get("/query", params={"source": "shop", "date": day}).json()
    assert [r["id"] for r in rows["rows"]] == [body["id"]]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status"),
    [
        ("POST", "/webhook/a%2Fb", b"{}", {"content-type": "application/json"}, 400),
        ("POST", "/webhook/..", b"{}", {"content-type": "application/json"}, 400),
        ("POST", "/webhook/%2E%2E", b"{}", {"content-type": "application/json"}, 400),
        ("POST", "/webhook/", b"{}", {"content-type": "application/json"}, 400),
        ("POST", "/webhook/" + "x" * 65, b"{}", {"content-type": "application/json"}, 400),
        ("POST", "/webhook/ok", b"{}", {"content-type": "text/plain"}, 415),
        ("POST", "/webhook/ok", b"{", {"content-type": "application/json"}, 400),
        ("POST", "/webhook/ok", b"[" * 5000, {"content-type": "application/json"}, 413),
        ("POST", "/internal/event", b"{}", {"content-type": "application/json"}, 401),
        ("GET", "/query?source=ok&date=2026-13-01", b"", {}, 400),
        ("GET", "/nowhere", b"", {}, 404),
        ("DELETE", "/health", b"", {}, 405),
    ],
)
def test_bad_input_gets_one_json_error_shape_and_stores_nothing(
    server: Server,
    data_dir: Path,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
) -> None:
    before = stored_events(data_dir)
    got, answer, response_headers = raw(server, method, path, body, headers)
    assert got == status
    assert set(answer["error"]) == {"code", "message", "request_id"}
    assert response_headers["content-type"] == "application/json"
    assert stored_events(data_dir) == before


def test_a_body_far_over_the_limit_is_a_json_413(server: Server) -> None:
    status, answer, _ = raw(
        server,
        "POST",
        "/webhook/big",
        b"[" * (3 * 1024 * 1024),
        {"content-type": "application/json"},
    )
    assert (status, answer["error"]["code"]) == (413, "payload_too_large")


def test_concurrent_webhooks_are_all_stored(client: httpx.Client, data_dir: Path) -> None:
    def post(n: int) -> int:
        with httpx.Client(base_url=str(client.base_url), timeout=10) as c:
            return c.post("/webhook/burst", json={"n": n}).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(post, range(64)))
    assert statuses == [201] * 64
    files = list((data_dir / "events" / "source=burst").rglob("*.json"))
    assert sorted(json.loads(f.read_text())["payload"]["n"] for f in files) == list(range(64))


def test_the_local_server_retries_its_outbox_until_a_peer_comes_back(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    logs = tmp_path_factory.mktemp("retry-logs")
    peer_port = free_port()
    common = {
        "LAMBDA_PEER_SECRET": "retry-secret",
        "LAMBDA_READ_TOKEN": READ_TOKEN,
        "LAMBDA_OUTBOX_RETRY_INTERVAL": "0.2",
        "LAMBDA_OUTBOX_BACKOFF": "0.1,0.5",
    }
    origin_port = free_port()
    origin = Server(
        "origin",
        [sys.executable, "-m", "functions.local"],
        origin_port,
        logs,
        {
            **common,
            "PORT": str(origin_port),
            "DATA_DIR": str(logs / "origin"),
            "LAMBDA_PEER_URLS": f"http://127.0.0.1:{peer_port}",
        },
    ).wait_for_http("/health")
    peer = None
    try:
        # GIVEN the peer is down when the webhook arrives
        answer = httpx.post(f"{origin.url}/webhook/later", json={"x": 1}).json()
        assert answer["fanout"] == {"delivered": 0, "queued": 1}
        # WHEN it comes up, THEN the retry loop delivers the event
        peer = Server(
            "peer",
            [sys.executable, "-m", "functions.local"],
            peer_port,
            logs,
            {**common, "PORT": str(peer_port), "DATA_DIR": str(logs / "peer")},
        ).wait_for_http("/health")
        delivered = logs / "peer" / answer["key"]
        deadline = time.monotonic() + 30
        while not delivered.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert json.loads(delivered.read_text())["id"] == answer["id"]
        backlog = httpx.get(f"{origin.url}/peers", headers=READ).json()["peers"][0]
        deadline = time.monotonic() + 10
        while backlog["pending"] and time.monotonic() < deadline:
            time.sleep(0.1)
            backlog = httpx.get(f"{origin.url}/peers", headers=READ).json()["peers"][0]
        assert (backlog["pending"], backlog["dead"]) == (0, 0)
    finally:
        origin.stop()
        if peer:
            peer.stop()


def test_the_local_compact_command_compacts_closed_hours(tmp_path: Path) -> None:
    import subprocess
    from datetime import timedelta

    from functions.core.app import App
    from functions.core.services import Services
    from functions.core.settings import Settings
    from functions.local.store import FileBlobStore
    from tests.conftest import CoreClient
    from tests.support.fakes import FakeClock
    from tools.processes import ROOT

    # GIVEN events stored two hours ago
    clock = FakeClock(datetime.now(UTC) - timedelta(hours=2))
    client = CoreClient(App(Services(Settings(), "local", lambda: FileBlobStore(tmp_path), clock)))
    for n in range(5):
        assert client.webhook("cmd", {"n": n})[0] == 201
    # WHEN the command runs, THEN that hour is rolled into Parquet, and a re-run does nothing
    run = [sys.executable, "-m", "functions.local.compact"]
    env = {"DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    first = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert json.loads(first.stdout) == {"partitions": 1, "compacted": 1, "events": 5, "failed": 0}
    assert len(list((tmp_path / "compacted").rglob("*.parquet"))) == 1
    again = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert json.loads(again.stdout)["compacted"] == 0


def test_head_is_answered_on_every_get_route_without_a_body(client: httpx.Client) -> None:
    for path in ("/health", "/peers", "/query?source=github&date=2026-11-23"):
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b"", path
        assert head.headers["content-type"] == "application/json", path
        # RFC 9110 8.6: the length GET would send, on the wire (it was 0)
        assert head.headers["content-length"] == str(len(get.content)), path
    # HEAD is not a way around a route's method: a POST-only route still answers 405.
    refused = client.head("/webhook/github")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "POST"
    assert "HEAD" in client.post("/health").headers["allow"]


def run_server(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    from tools.processes import ROOT

    base = {"PATH": "/usr/bin:/bin", "PORT": str(free_port()), "DATA_DIR": "/tmp/lambda-unused"}
    return subprocess.run(
        [sys.executable, "-m", "functions.local"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"LAMBDA_LOG_LEVEL": "LOUD"}, "'LAMBDA_LOG_LEVEL' has an invalid value: must be one of"),
        ({"LAMBDA_WEBHOOKS": '{"gh": {"scheme": "gitlab"}}'}, "'LAMBDA_WEBHOOKS' has an invalid"),
        ({"LAMBDA_PEER_URLS": "http://127.0.0.1:1"}, "'LAMBDA_PEER_SECRET' is missing"),
        ({"PORT": "http"}, "'PORT' has an invalid value"),
        ({"LAMBDA_WORKERS": "0"}, "'LAMBDA_WORKERS' has an invalid value"),
        ({"LAMBDA_SYNC": "sometimes"}, "'LAMBDA_SYNC' has an invalid value: must be one of fsync"),
    ],
)
def test_a_bad_setting_stops_the_server_with_one_line_naming_it(
    env: dict[str, str], says: str
) -> None:
    done = run_server(env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr  # one line, no traceback
    assert done.stderr.startswith("lambda: Config ")
    assert says in done.stderr


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_an_unusable_data_dir_stops_the_server_with_one_line_naming_it(
    tmp_path: Path, where: str
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    data_dir = str(afile if where == "a file" else afile / "data")
    done = run_server({"DATA_DIR": data_dir})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr  # one line, no traceback
    assert done.stderr.startswith(f"lambda: DATA_DIR={data_dir} is unusable ("), done.stderr


def test_a_missing_data_dir_is_created(tmp_path: Path, server: Server) -> None:
    # a missing DATA_DIR is not an error: it is made, as ./.data is on a fresh clone
    done = run_server({"DATA_DIR": str(tmp_path / "new" / "data"), "PORT": str(server.port)})
    assert (tmp_path / "new" / "data").is_dir(), done.stderr


def test_a_busy_port_is_reported_with_the_variable_to_change(server: Server) -> None:
    done = run_server({"PORT": str(server.port)})
    assert done.returncode == 2
    assert (
        done.stderr
        == f"lambda: port {server.port} on 127.0.0.1 is in use: set PORT to a free one\n"
    )


def test_the_local_requeue_command_puts_dead_letters_back_in_the_outbox(tmp_path: Path) -> None:
    from functions.core.events import Envelope
    from functions.core.outbox import DEAD, PENDING, Attempts, Outbox, Record
    from functions.local.store import FileBlobStore
    from tools.processes import ROOT

    # GIVEN a dead letter in the local store, left by a peer that never answered
    now = datetime.now(UTC)
    envelope = Envelope("01a20d1a-4412-707d-bca7-a2cd28ee43f5", "s", now, "local", {"n": 1})
    store = FileBlobStore(tmp_path)
    record = Record(envelope, now, {"http://127.0.0.1:1": Attempts(11)})
    Outbox(store, 12, (1.0, 1.0)).settle(record, {"http://127.0.0.1:1": "refused"}, now)
    assert len(list(store.list(DEAD))) == 1
    # WHEN the command runs, THEN it is pending again, due now, with fresh attempts
    run = [sys.executable, "-m", "functions.local.requeue"]
    env = {"DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == {"requeued": 1}
    assert list(store.list(DEAD)) == []
    (key,) = list(store.list(PENDING))
    assert Record.decode(store.get(key)).peers == {"http://127.0.0.1:1": Attempts(0)}


def test_without_a_read_token_the_server_makes_one_and_keeps_it_private(tmp_path: Path) -> None:
    from tests.support.local import start_local

    server = start_local("tokenless", tmp_path)
    try:
        token_file = tmp_path / "data" / "read-token"
        token = token_file.read_text().strip()
        assert len(token) >= 32
        assert token_file.stat().st_mode & 0o777 == 0o600
        query = f"{server.url}/query?source=x&date=2026-11-23"
        assert httpx.get(query).status_code == 401
        assert httpx.get(query, headers={"authorization": f"Bearer {token}"}).status_code == 200
        assert "read-token" in server.log()
    finally:
        server.stop()
