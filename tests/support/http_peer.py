"""A peer's `POST /internal/event` on 127.0.0.1, for the fan-out's real HTTP transport: it checks
the signature and acknowledges as the real route does (functions/core/handlers.py: 201, JSON
naming the event id), and can be slow, hung, or refuse chosen events. A slow or hung peer
holds the request; only the sender's own deadline ends its wait."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from functions.core.errors import Unauthorized
from functions.core.signing import PeerSigner


class Server(ThreadingHTTPServer):
    # socketserver's default backlog is 5: a retry run's sixteen concurrent connections would
    # overflow it, and a dropped SYN is resent only after a second (a cloud's front takes
    # thousands).
    request_queue_size = 128


class HttpPeer:
    """`slow_s`: holds each delivery that long before answering; `hung`: holds every delivery
    until `close()`; `rejects`: event ids answered 400; `status`: answered instead of 201.
    `received` lists the event id of every delivery as it arrives, `acked` those answered 201."""

    def __init__(self, secret: str) -> None:
        self.slow_s = 0.0
        self.hung = False
        self.rejects: set[str] = set()
        self.status = 201
        self.received: list[str] = []
        self.acked: list[str] = []
        self._signer = PeerSigner(secret)
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self.server = Server(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._closed.set()  # lets every held delivery go
        self.server.shutdown()
        self.server.server_close()

    def answer(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            self._signer.verify(body, headers)
        except Unauthorized as exc:
            return 401, {"error": {"code": "unauthorized", "message": str(exc)}}
        event_id = json.loads(body)["id"]
        with self._lock:
            self.received.append(event_id)
        if self.hung:
            self._closed.wait()
        elif self.slow_s:
            self._closed.wait(self.slow_s)
        if event_id in self.rejects:
            return 400, {"error": {"code": "bad_request", "message": "refused by the test"}}
        if self.status != 201:
            return self.status, {"error": {"code": "unavailable", "message": "by the test"}}
        with self._lock:
            self.acked.append(event_id)
        key = f"events/source=s/year=2026/month=12/day=03/hour=09/{event_id}.json"
        return 201, {"id": event_id, "key": key, "duplicate": False}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                status, answer = peer.answer(body, {k.lower(): v for k, v in self.headers.items()})
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up first

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
