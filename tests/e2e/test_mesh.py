"""End to end on the local three-cloud mesh (scripts/mesh.py): the AWS, GCP and Azure entry
points as three processes, each on its own emulator, wired as signed peers."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook
from stripe._webhook import WebhookSignature

from functions.core.signing import PeerSigner
from scripts.mesh import CLOUDS, Mesh
from tests.support.waiting import wait_for

GITHUB_SECRET, STRIPE_SECRET = "gh-mesh-secret", "whsec_stripe_mesh"
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
WEBHOOKS = json.dumps(
    {
        "gh": {"scheme": "github", "secret": GITHUB_SECRET},
        "stripe": {"scheme": "stripe", "secret": STRIPE_SECRET},
        "acme": {"scheme": "standard", "secret": STANDARD_SECRET},
    }
)
FANOUT_TIMEOUT = 1.0


class SlowPeer:
    """A peer that, while `slow` is set, holds each delivery until the test releases it, then
    acknowledges. It never ends the wait itself: the sender's own timeout must."""

    def __init__(self) -> None:
        self.slow = threading.Event()
        self.released = threading.Event()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                if peer.slow.is_set():
                    peer.released.wait(timeout=600)  # only so a broken run cannot hang forever
                try:
                    self.send_response(201)
                    self.send_header("content-type", "application/json")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting, as it should

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def slow_peer() -> Iterator[SlowPeer]:
    peer = SlowPeer()
    yield peer
    peer.server.shutdown()


@pytest.fixture(scope="module")
def mesh(
    tmp_path_factory: pytest.TempPathFactory, slow_peer: SlowPeer, request: pytest.FixtureRequest
) -> Iterator[Mesh]:
    # Starting three members on their emulators takes a while: say so, not a silent minute.
    terminal = request.config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        terminal.write_line("e2e: starting the three-member mesh (emulators and three servers)")
    mesh = Mesh(
        tmp_path_factory.mktemp("mesh"),
        fanout_timeout=FANOUT_TIMEOUT,
        backoff="0.2,1",
        schedule=0.3,
        extra_peers={"gcp": [slow_peer.url]},
        # Dead-lettering is not what these tests are about (tests/unit/test_fanout.py): with the
        # default 12 attempts, 0.3 s apart here, a loaded machine that takes longer than ~16 s
        # to post a test's webhooks had dead-lettered the first ones before the peer came back.
        extra_env={"LAMBDA_WEBHOOKS": WEBHOOKS, "LAMBDA_OUTBOX_MAX_ATTEMPTS": "100000"},
    )
    try:
        yield mesh.start()
    finally:
        mesh.stop()


def post(mesh: Mesh, cloud: str, source: str, payload: Any, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{mesh.members[cloud].url}/webhook/{source}", json=payload, headers=headers, timeout=30
    )


def keys(mesh: Mesh, cloud: str, source: str) -> list[str]:
    return list(mesh.store(cloud).list(f"events/source={source}/"))


def keys_of(mesh: Mesh, cloud: str, origin: str) -> list[str]:
    return keys(mesh, cloud, f"from-{origin}")


@pytest.mark.parametrize("origin", CLOUDS)
def test_a_webhook_to_any_member_is_stored_everywhere_under_one_key_and_id(
    mesh: Mesh, origin: str
) -> None:
    response = post(mesh, origin, f"from-{origin}", {"origin": origin})
    assert response.status_code == 201
    stored = response.json()
    # Each peer is delivered to now or queued for the retry schedule: which one depends on
    # whether the peer answered within the 1 s fan-out timeout, so on the machine's load. The
    # outcome is the same: the event reaches every member (waited for, bounded by the retries).
    peers = len(CLOUDS) if origin == "gcp" else len(CLOUDS) - 1  # gcp also has the slow peer
    assert stored["fanout"]["delivered"] + stored["fanout"]["queued"] == peers
    assert wait_for(lambda: all(stored["key"] in keys_of(mesh, c, origin) for c in CLOUDS))
    for cloud in CLOUDS:
        envelope = json.loads(mesh.store(cloud).get(stored["key"]))
        assert (envelope["id"], envelope["origin"]) == (stored["id"], origin), cloud
        day, hour = stored["received_at"][:10], stored["received_at"][11:13]
        rows = httpx.get(
            f"{mesh.members[cloud].url}/query",
            params={"source": f"from-{origin}", "date": day, "hour": hour},
            headers=reader(mesh),
        ).json()
        assert [row["id"] for row in rows["rows"]] == [stored["id"]], cloud


def test_a_stopped_peer_catches_up_on_every_missed_event_and_the_outboxes_drain(mesh: Mesh) -> None:
    azure_url = mesh.members["azure"].url

    def backlog(cloud: str) -> dict[str, Any]:
        peers = httpx.get(f"{mesh.members[cloud].url}/peers", headers=reader(mesh)).json()["peers"]
        return dict(next(p for p in peers if p["url"] == azure_url))

    drained = {"url": azure_url, "pending": 0, "dead": 0}
    # GIVEN nothing owed to azure from earlier tests (their retries run every 0.3 s), and
    # azure down
    assert wait_for(lambda: all(backlog(cloud) == drained for cloud in ("aws", "gcp")))
    mesh.stop_member("azure")
    try:
        ids = []
        for n in range(40):
            response = post(mesh, "aws" if n % 2 else "gcp", "catchup", {"n": n})
            # THEN webhooks still succeed at the others, with the azure delivery queued
            assert response.status_code == 201
            assert response.json()["fanout"]["queued"] >= 1
            ids.append(response.json()["id"])
        assert backlog("aws")["pending"] == 20
    finally:
        mesh.start_member("azure")

    # WHEN it comes back, THEN the schedules' retries deliver everything it missed, under the
    # origin's key and id, and both origins' outboxes drain: no entry left, none dead (each
    # retry round, 0.3 s apart, sends every due entry; a loaded machine needs more rounds)
    assert wait_for(lambda: all(backlog(c) == drained for c in ("aws", "gcp")), timeout=180), {
        cloud: backlog(cloud) for cloud in ("aws", "gcp")
    }
    azure_keys = keys(mesh, "azure", "catchup")
    assert sorted(k.rsplit("/", 1)[1][:-5] for k in azure_keys) == sorted(ids)


def test_a_slow_peer_does_not_hold_a_webhook_past_the_bound(
    mesh: Mesh, slow_peer: SlowPeer
) -> None:
    slow_peer.released.clear()
    slow_peer.slow.set()
    try:
        # answered within the client's 30 s while the slow peer would hold the delivery 600 s:
        # the fan-out's own timeout ended the wait. No tighter wall clock: a busy machine is
        # slower, and the two healthy peers may miss the 1 s timeout too (queued, not lost).
        response = post(mesh, "gcp", "slow", {"x": 1})
    finally:
        slow_peer.slow.clear()
        slow_peer.released.set()
    assert response.status_code == 201
    fanout = response.json()["fanout"]
    assert fanout["delivered"] + fanout["queued"] == 3
    assert fanout["queued"] >= 1  # the slow one


def signed(body: bytes, secret: str, at: datetime) -> dict[str, str]:
    return PeerSigner(secret).headers("msg-x", body, at)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_unsigned_wrongly_signed_and_replayed_peer_events_are_rejected(
    mesh: Mesh, cloud: str
) -> None:
    event_id = f"019aa0c4-2222-7333-8444-{CLOUDS.index(cloud):012d}"
    body = json.dumps(
        {
            "id": event_id,
            "source": "forged",
            "origin": "evil",
            "received_at": "2026-11-20T08:00:00.000000Z",
            "idempotency_key": None,
            "headers": {},
            "payload": {"forged": True},
        }
    ).encode()
    now = datetime.now(UTC)
    attempts = [
        {"content-type": "application/json"},
        signed(body, "whsec_bm90IHRoZSBzZWNyZXQ=", now),
        signed(body, mesh.secret, now - timedelta(minutes=10)),
        {**signed(body, mesh.secret, now), "webhook-id": "another-id"},
    ]
    for headers in attempts:
        response = httpx.post(
            f"{mesh.members[cloud].url}/internal/event", content=body, headers=headers
        )
        assert response.status_code == 401, (cloud, headers, response.text)
        assert response.json()["error"]["code"] == "unauthorized"
    assert keys(mesh, cloud, "forged") == []
    assert mesh.secret not in response.text


def github(body: bytes, secret: str = GITHUB_SECRET) -> dict[str, str]:
    return {
        "x-hub-signature-256": "sha256="
        + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    }


def stripe(body: bytes) -> dict[str, str]:
    return {
        "stripe-signature": WebhookSignature.generate_signature_header(body.decode(), STRIPE_SECRET)
    }


def standard(body: bytes) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "webhook-id": "msg_mesh",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(STANDARD_SECRET).sign("msg_mesh", now, body.decode()),
    }


@pytest.mark.parametrize(
    ("cloud", "source", "sign"),
    [("aws", "gh", github), ("gcp", "stripe", stripe), ("azure", "acme", standard)],
)
def test_each_webhook_verifier_accepts_a_signed_request_and_rejects_a_tampered_one(
    mesh: Mesh, cloud: str, source: str, sign: Callable[[bytes], dict[str, str]]
) -> None:
    body = json.dumps({"amount": 100}).encode()
    url = f"{mesh.members[cloud].url}/webhook/{source}"
    base = {"content-type": "application/json"}
    tampered = httpx.post(url, content=body.replace(b"100", b"999"), headers={**base, **sign(body)})
    assert tampered.status_code == 401
    assert keys(mesh, cloud, source) == []
    good = httpx.post(url, content=body, headers={**base, **sign(body)})
    assert good.status_code == 201, good.text
    assert len(keys(mesh, cloud, source)) == 1


def test_a_burst_of_concurrent_webhooks_loses_none_anywhere(mesh: Mesh) -> None:
    url = f"{mesh.members['aws'].url}/webhook/burst"

    def send(n: int) -> tuple[int, str]:
        response = httpx.post(url, json={"n": n}, timeout=60)
        return response.status_code, response.json().get("id", "")

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(send, range(300)))
    assert [status for status, _ in results] == [201] * 300
    ids = sorted(i for _, i in results)
    for cloud in CLOUDS:
        assert wait_for(lambda c=cloud: len(keys(mesh, c, "burst")) >= 300), cloud
        stored = sorted(k.rsplit("/", 1)[1][:-5] for k in keys(mesh, cloud, "burst"))
        assert stored == ids, cloud


def test_the_mesh_prints_its_members_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from tools.processes import ROOT

    def ignore_sigint() -> None:  # as a background job of a non-interactive shell starts
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.mesh", "--schedule", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=ignore_sigint,
    )
    children: list[int] = []
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        urls = {line.split()[0]: line.split()[1] for line in lines[1:4]}
        assert set(urls) == set(CLOUDS), lines
        for url in urls.values():
            assert httpx.get(f"{url}/health").json()["status"] == "ok"
        children = children_of(proc.pid)
        assert len(children) == 6  # three emulators and three members
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground group
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            # Never leave the mesh behind, even when this test fails: its members die with it
            # (PR_SET_PDEATHSIG).
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    assert code == 0
    for pid in children:
        assert not Path(f"/proc/{pid}").exists(), f"process {pid} was left running"


def reader(mesh: Mesh) -> dict[str, str]:
    return {"authorization": f"Bearer {mesh.read_token}"}


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found
