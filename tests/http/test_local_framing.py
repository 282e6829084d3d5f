"""The local server at the byte level: what waitress answers before the app is in the app's
JSON error shape, ambiguous framing closes the connection, and idle or slow clients do not
starve /health. Raw sockets on 127.0.0.1, so nothing normalises the bytes sent."""

from __future__ import annotations

import json
import os
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.local import InProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    server = InProcess(tmp_path_factory.mktemp("framing"), {"LAMBDA_MAX_BODY_BYTES": "1024"})
    yield server
    server.stop()


def still_closed(sock: socket.socket) -> bool:
    """Whether the server closed the connection after its answer: ask it again. An open one
    answers; a closed one gives EOF or a reset. No wall clock: a server that kept it open
    would close it only after its 30 s idle timeout, far beyond this wait."""
    sock.settimeout(10)
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def exchange(server: InProcess, raw: bytes) -> tuple[int, dict, bytes, bool]:
    """Send raw bytes; return the status, headers, body, and whether the server then closed."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        # In small pieces, stopping once the server answers: a server that refuses a request
        # mid-way closes, and bytes it never read would make the client's TCP stack reset.
        for start in range(0, len(raw), 4096):
            sock.sendall(raw[start : start + 4096])
            if select.select([sock], [], [], 0.001)[0]:
                break
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"closed without an answer after {data[:200]!r}"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        while len(body) < int(headers.get("content-length", 0)):
            chunk = sock.recv(65536)
            assert chunk, "closed mid-body"
            body += chunk
        closed = still_closed(sock)
    return int(lines[0].split()[1]), headers, body, closed


# Just over waitress's 256 KiB header cap, and no more: bytes a refusing server never reads
# would make this client's TCP stack reset the connection and drop the answer.
_START = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: "
OVERSIZE_HEADERS = _START + b"a" * (262_144 + 64 - len(_START) - 4) + b"\r\n\r\n"


def error(body: bytes) -> dict:
    answer = json.loads(body)
    assert set(answer) == {"error"}
    assert set(answer["error"]) == {"code", "message", "request_id"}
    return answer["error"]


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (
            b"POST /webhook/a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            b"Transfer-Encoding: chunked\r\ncontent-type: application/json\r\n\r\n0\r\n\r\n",
            400,
            "bad_request",
        ),
        (
            b"POST /webhook/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n{}",
            400,
            "bad_request",
        ),
        (
            b"POST /webhook/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            400,
            "bad_request",
        ),
        (
            OVERSIZE_HEADERS,
            431,
            "headers_too_large",
        ),
        (
            b"POST /webhook/a HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
            413,
            "payload_too_large",
        ),
    ],
    ids=[
        "content-length-and-transfer-encoding",
        "bad-content-length",
        "gzip-transfer-encoding",
        "headers-over-256k",
        "body-over-the-servers-cap",
    ],
)
def test_framing_errors_answer_in_the_json_error_shape_and_close(
    server: InProcess, raw: bytes, status: int, code: str
) -> None:
    got, headers, body, closed = exchange(server, raw)
    assert (got, headers["content-type"]) == (status, "application/json")
    assert error(body)["code"] == code
    assert closed, "the connection stays open after a framing error"


def test_bytes_that_are_no_utf_8_in_the_path_are_a_json_4xx(server: InProcess) -> None:
    got, headers, body, _ = exchange(server, b"GET /webhook/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n")
    assert 400 <= got < 500
    assert headers["content-type"] == "application/json"
    error(body)


def test_a_hundred_and_fifty_idle_and_slow_clients_do_not_starve_health(server: InProcess) -> None:
    idle = []
    try:
        for n in range(150):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            if n % 2:  # half send a partial request and stall (slowloris)
                sock.sendall(b"POST /webhook/a HTTP/1.1\r\nHost: x\r\nContent-Le")
            idle.append(sock)
        # answered while all 150 hold their connections: below waitress's 30 s idle timeout,
        # which would otherwise free them (no wall-clock bound of ours: it failed under load)
        assert httpx.get(f"{server.url}/health", timeout=15).status_code == 200
    finally:
        for sock in idle:
            sock.close()


def test_temporary_files_a_crash_left_are_swept_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "events").mkdir(parents=True)
    stale = data / "events" / ".tmp-deadbeef"
    stale.write_bytes(b"half an object")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    fresh = data / "events" / ".tmp-inflight"
    fresh.write_bytes(b"another process's write, now")
    proc = InProcess(tmp_path)  # its data under tmp_path/data
    try:
        assert not stale.exists()
        assert fresh.exists()
    finally:
        proc.stop()


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        # waitress refuses an unknown coding with 501; it is the client's error: 400
        (b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", b"400 Bad Request"),
        (OVERSIZE_HEADERS, b"431 Request Header Fields Too Large"),
    ],
)
def test_a_framing_errors_status_line_carries_its_reason(
    server: InProcess, raw: bytes, line: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(raw)
        first = sock.recv(65536).split(b"\r\n", 1)[0]
    # (waitress answers HTTP/1.0 when it gave up before reading the request line's version)
    assert first.split(b" ", 1)[1] == line


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /webhook/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /webhook/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n{}",
        b"POST /webhook/a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"POST /webhook/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"content-type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        OVERSIZE_HEADERS,
        b"POST /webhook/a HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
        b"POST /webhook/a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        b"Transfer-Encoding: chunked\r\ncontent-type: application/json\r\n\r\n0\r\n\r\n",
    ],
    ids=[
        "bad-uri-bytes",
        "bad-content-length",
        "duplicate-content-length",
        "bad-chunk-size",
        "headers-over-256k",
        "body-over-the-servers-cap",
        "content-length-and-transfer-encoding",
    ],
)
def test_a_framing_errors_body_names_the_request_id_of_its_header(
    server: InProcess, raw: bytes
) -> None:
    # One id per answer, so that a client's report (the body) finds the server's log line and
    # a proxy's (the header): before issue 26 waitress's own answers had no header at all.
    got, headers, body, _ = exchange(server, raw)
    assert 400 <= got < 500
    assert error(body)["request_id"] == headers.get("x-request-id")
