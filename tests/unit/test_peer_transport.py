"""The HTTP transport a fan-out posts with, against a real peer on 127.0.0.1: only the
receiver's own acknowledgement of the event counts as delivered; the transport reads a few KiB
of any answer at most, and its own deadline ends a hung or dripping peer's wait."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from functions.core.transport import DeliveryError, HttpxTransport

EVENT_ID = "0192b0a4-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
SIGNED = {"content-type": "application/json", "webhook-id": EVENT_ID}


def acknowledgement(event_id: str) -> bytes:
    """What POST /internal/event answers when it stored an event (functions/core/handlers.py)."""
    key = f"events/source=s/year=2026/month=12/day=03/hour=04/{event_id}.json"
    return json.dumps({"id": event_id, "key": key, "duplicate": False}).encode()


class Peer:
    """Answers each POST with `status`, `content_type` and `answer` (by default our
    acknowledgement of the event id it was sent); `drip` sends the answer a byte at a time,
    that many seconds apart; while `hold` is set it holds the answer until the test releases
    it (it never gives up by itself)."""

    def __init__(self) -> None:
        self.status = 201
        self.content_type = "application/json"
        self.answer: bytes | None = None
        self.drip = 0.0
        self.hold = threading.Event()
        self.released = threading.Event()
        self.bodies: list[bytes] = []
        self.sent = 0  # bytes of answer that reached the socket before the client left
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                peer.bodies.append(self.rfile.read(int(self.headers["content-length"])))
                if peer.hold.is_set():
                    peer.released.wait(600)
                answer = peer.answer
                if answer is None:
                    answer = acknowledgement(self.headers.get("webhook-id", ""))
                try:
                    self.send_response(peer.status)
                    self.send_header("content-type", peer.content_type)
                    self.send_header("content-length", str(len(answer)))
                    self.end_headers()
                    step = 1 if peer.drip else 64 * 1024
                    for start in range(0, len(answer), step):
                        self.wfile.write(answer[start : start + step])
                        self.wfile.flush()
                        peer.sent += step
                        if peer.drip and peer.released.wait(peer.drip):
                            return
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/internal/event"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def peer() -> Iterator[Peer]:
    peer = Peer()
    yield peer
    peer.released.set()
    peer.server.shutdown()
    peer.server.server_close()


@pytest.mark.parametrize("status", [200, 201])
def test_a_peer_that_answers_stored_or_already_stored_is_delivered(peer: Peer, status: int) -> None:
    peer.status = status
    HttpxTransport().post(peer.url, b'{"n": 1}', SIGNED, 5.0)
    assert peer.bodies == [b'{"n": 1}']


@pytest.mark.parametrize("status", [202, 204, 301, 400, 401, 404, 409, 413, 429, 500, 503])
def test_any_other_answer_is_a_failed_delivery_naming_the_status(peer: Peer, status: int) -> None:
    peer.status = status
    with pytest.raises(DeliveryError, match=f"peer answered {status}"):
        HttpxTransport().post(peer.url, b"{}", SIGNED, 5.0)


@pytest.mark.parametrize(
    ("content_type", "answer"),
    [
        ("text/html", b"<html><body><h1>It works!</h1></body></html>"),  # Apache's default page
        ("text/plain", b"OK"),
        ("application/json", b"{}"),  # JSON, but no acknowledgement
        ("application/json", b'{"status": "ok"}'),
        ("application/json", b"[1, 2]"),
        ("application/json", b"<html>not json</html>"),
        ("application/json", acknowledgement("0192b0a4-0000-7000-8000-000000000000")),
    ],
    ids=["html", "plain", "empty-json", "other-json", "json-array", "bad-json", "other-event"],
)
def test_a_2xx_that_is_not_our_acknowledgement_of_this_event_is_a_failed_delivery(
    peer: Peer, content_type: str, answer: bytes
) -> None:
    # GIVEN a proxy or parked domain answering 200 for whatever it is sent
    peer.status, peer.content_type, peer.answer = 200, content_type, answer
    # THEN the event is not counted as delivered
    with pytest.raises(DeliveryError, match=r"not an acknowledgement|another event"):
        HttpxTransport().post(peer.url, b"{}", SIGNED, 5.0)


def test_only_a_few_kib_of_a_huge_answer_are_read(peer: Peer) -> None:
    # GIVEN a peer that answers 200 with a 256 MiB JSON body
    peer.status, peer.answer = 200, b"[" + b"0," * (128 * 2**20) + b"0]"
    with pytest.raises(DeliveryError, match="not an acknowledgement"):
        HttpxTransport().post(peer.url, b"{}", SIGNED, 5.0)
    peer.answer = None  # (frees it)
    # THEN the client left long before the peer could send it all (what reached the socket
    # is bounded by the kernel's buffers, a few MiB on loopback)
    assert peer.sent < 64 * 2**20


def test_a_peer_dripping_its_answer_is_cut_off_at_the_deadline(peer: Peer) -> None:
    # GIVEN a peer that sends its headers, then one byte of the answer every 0.2 s (its
    # acknowledgement would take ~40 s)
    peer.drip = 0.2
    started = time.perf_counter()
    with pytest.raises(DeliveryError, match=r"no whole answer within 0\.5 s"):
        HttpxTransport().post(peer.url, b"{}", SIGNED, 0.5)
    assert time.perf_counter() - started < 10.0


def test_a_refused_connection_is_a_failed_delivery() -> None:
    with pytest.raises(DeliveryError, match="ConnectError"):
        HttpxTransport().post("http://127.0.0.1:1/internal/event", b"{}", {}, 5.0)


def test_the_timeout_given_ends_the_wait_on_a_peer_that_never_answers(peer: Peer) -> None:
    peer.hold.set()
    started = time.perf_counter()
    with pytest.raises(DeliveryError, match="Timeout"):
        HttpxTransport().post(peer.url, b"{}", SIGNED, 0.3)
    assert time.perf_counter() - started < 3.0  # the peer would have held it for ten minutes


def test_a_peer_answering_200_html_never_loses_the_event_it_is_dead_lettered(
    peer: Peer, tmp_path: Any
) -> None:
    # GIVEN an origin whose one peer is a web page answering 200 text/html to everything
    from datetime import UTC, datetime

    from functions.core.app import App
    from functions.core.services import Services
    from functions.core.settings import Settings
    from tests.support.client import CoreClient
    from tests.support.fakes import FakeClock, MemoryBlobStore

    peer.status, peer.content_type = 200, "text/html"
    peer.answer = b"<html>It works!</html>"
    store, clock = MemoryBlobStore(), FakeClock(datetime.now(UTC))
    settings = Settings(
        peer_urls=(peer.url.removesuffix("/internal/event"),),
        peer_secret="s",
        read_token="r",
        outbox_max_attempts=2,
        outbox_backoff_s=(10.0, 10.0),
    )
    app = App(Services(settings, "local", lambda: store, clock))
    # WHEN a webhook arrives and the retries run out
    status, body, _ = CoreClient(app).webhook("s", {"n": 1})
    assert (status, body["fanout"]) == (201, {"delivered": 0, "queued": 1})
    for _ in range(3):
        clock.advance(seconds=60)
        app.jobs.retry()
    # THEN the event sits in a dead letter for an operator to requeue, never counted delivered
    dead = [k for k in store.objects if k.startswith("outbox-dead/")]
    assert len(dead) == 1
    letter = json.loads(store.objects[dead[0]])
    assert letter["envelope"]["id"] == body["id"]
    assert "not an acknowledgement" in letter["last_error"]
    assert len(peer.bodies) == 3
