"""The HTTP transport a fan-out posts with, against a real peer on 127.0.0.1: only the answers
that mean "stored" count as delivered, and the transport's own timeout ends a hung peer's wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from functions.core.fanout import DeliveryError, HttpxTransport


class Peer:
    """Answers each POST with `status`; while `hold` is set it holds the answer until the test
    releases it (it never gives up by itself)."""

    def __init__(self) -> None:
        self.status = 201
        self.hold = threading.Event()
        self.released = threading.Event()
        self.bodies: list[bytes] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                peer.bodies.append(self.rfile.read(int(self.headers["content-length"])))
                if peer.hold.is_set():
                    peer.released.wait(600)
                try:
                    self.send_response(peer.status)
                    self.send_header("content-type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": {"code": "x"}}')
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
    HttpxTransport().post(peer.url, b'{"n": 1}', {"content-type": "application/json"}, 5.0)
    assert peer.bodies == [b'{"n": 1}']


@pytest.mark.parametrize("status", [202, 204, 301, 400, 401, 404, 409, 413, 429, 500, 503])
def test_any_other_answer_is_a_failed_delivery_naming_the_status(peer: Peer, status: int) -> None:
    peer.status = status
    with pytest.raises(DeliveryError, match=f"peer answered {status}"):
        HttpxTransport().post(peer.url, b"{}", {}, 5.0)


def test_a_refused_connection_is_a_failed_delivery() -> None:
    with pytest.raises(DeliveryError, match="ConnectError"):
        HttpxTransport().post("http://127.0.0.1:1/internal/event", b"{}", {}, 5.0)


def test_the_timeout_given_ends_the_wait_on_a_peer_that_never_answers(peer: Peer) -> None:
    peer.hold.set()
    started = time.perf_counter()
    with pytest.raises(DeliveryError, match="Timeout"):
        HttpxTransport().post(peer.url, b"{}", {}, 0.3)
    assert time.perf_counter() - started < 3.0  # the peer would have held it for ten minutes
