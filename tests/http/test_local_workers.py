"""`python -m functions.local` as `make serve` runs it: two waitress processes per CPU on one
listening socket, under a supervisor that stops them all together. Real processes, real
signals; each test ends only processes it started."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from functions.local.durable import syncfs_missing
from tools.processes import ROOT, free_port, http_ok


def children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return {int(p) for p in out.stdout.split()}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture
def serving(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATA_DIR": str(tmp_path / "data"),
        "LAMBDA_WORKERS": "2",
        "LAMBDA_LOG_LEVEL": "WARNING",
        "LAMBDA_SYNC": getattr(request, "param", "fsync"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "functions.local"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # started as `nohup` or `&` in a script starts it: with SIGINT ignored
        preexec_fn=ignore_sigint if "sigint-ignored" in request.node.name else None,
    )
    url = f"http://127.0.0.1:{port}"
    # ready when it answers and both workers exist (each sets up before it can be stopped)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (
        http_ok(f"{url}/health") and len(children(proc.pid)) == 2
    ):
        time.sleep(0.05)
    workers = children(proc.pid)
    yield proc, url
    for pid in [*workers, proc.pid]:
        # killing one worker makes the supervisor stop the rest: one may be gone by its turn
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.communicate(timeout=10)


@pytest.mark.parametrize(
    "serving",
    [
        "fsync",
        pytest.param(
            "syncfs",
            marks=pytest.mark.skipif(syncfs_missing() is not None, reason="needs Linux 5.8+"),
        ),
    ],
    indirect=True,
)
def test_two_workers_share_the_socket_and_store_every_webhook(
    serving: tuple[subprocess.Popen[str], str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    proc, url = serving
    assert len(children(proc.pid)) == 2
    assert proc.stdout is not None
    banner = proc.stdout.readline()  # printed before the workers start
    assert banner.rstrip().endswith(f"x 16 threads, {request.node.callspec.params['serving']})")

    def post(n: int) -> int:
        with httpx.Client(base_url=url, timeout=10) as client:  # a connection each
            return client.post("/webhook/w", json={"n": n}).status_code

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(post, range(64))) == {201}
    assert len(list((tmp_path / "data" / "events").rglob("*.json"))) == 64


@pytest.mark.parametrize(
    "sig",
    [
        pytest.param(signal.SIGTERM, id="sigterm"),
        pytest.param(signal.SIGINT, id="ctrl-c"),
        pytest.param(signal.SIGINT, id="ctrl-c-sigint-ignored"),
        pytest.param(None, id="sigterm-then-ctrl-c"),
    ],
)
def test_a_signal_stops_the_supervisor_and_every_worker(
    serving: tuple[subprocess.Popen[str], str], sig: signal.Signals | None
) -> None:
    proc, _ = serving
    workers = children(proc.pid)
    # Ctrl-C in a terminal reaches the whole process group; SIGTERM only the supervisor
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)
    elif sig == signal.SIGTERM:
        proc.send_signal(sig)
    else:  # a second signal while it stops (`timeout` sends one, an impatient user another)
        proc.send_signal(signal.SIGTERM)
        os.killpg(proc.pid, signal.SIGINT)
        # and a third as it ends (the workers gone, the supervisor exiting), when CPython has
        # put the default handlers back: it once killed the supervisor there (exit -2)
        deadline = time.monotonic() + 15
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.001)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=15) == 0
    assert not any(alive(pid) for pid in workers)
    assert proc.stderr is not None
    errors = proc.stderr.read()
    assert "Traceback" not in errors, errors


def test_a_worker_that_dies_stops_the_others_and_the_server_fails(
    serving: tuple[subprocess.Popen[str], str],
) -> None:
    proc, _ = serving
    first, second = sorted(children(proc.pid))
    os.kill(first, signal.SIGKILL)
    assert proc.wait(timeout=15) == 1
    assert not alive(second)
    assert f"worker {first} exited" in proc.stderr.read()  # type: ignore[union-attr]


def established(pid: int, port: int) -> int:
    """Connections to `port` that process `pid` holds open (from /proc, as ss would say)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01" and fields[9] in inodes:  # ESTABLISHED
                count += 1
    return count


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_keep_alive_clients_are_spread_evenly_over_the_workers(
    serving: tuple[subprocess.Popen[str], str],
) -> None:
    proc, url = serving
    port = int(url.rsplit(":", 1)[1])
    # 16 clients connecting at once, as a load generator does: all queued before any accept,
    # then each asks once and keeps its connection
    clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(16)]
    try:
        for client in clients:
            client.sendall(b"GET /health HTTP/1.1\r\nHost: lambda\r\n\r\n")
        for client in clients:
            assert client.recv(65536).startswith(b"HTTP/1.1 200 ")
        held = sorted(established(pid, port) for pid in children(proc.pid))
        assert sum(held) == 16
        assert held[-1] - held[0] <= 2, held
    finally:
        for client in clients:
            client.close()


def test_a_supervisor_killed_outright_leaves_no_worker_serving(
    serving: tuple[subprocess.Popen[str], str],
) -> None:
    # GIVEN two workers serving; WHEN their supervisor alone gets SIGKILL (it cannot catch it
    # to stop them)
    proc, url = serving
    workers = children(proc.pid)
    assert len(workers) == 2
    proc.kill()
    proc.wait(timeout=15)
    # THEN each worker sees it gone and stops by itself, within the server's own shutdown
    # time, and the port no longer answers
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers), "orphaned workers still run"
    assert not http_ok(f"{url}/health")
