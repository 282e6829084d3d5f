"""Fan-out costs: webhook latency on the local server alone, with two local peers, and with one
peer that answers slowly; and the time for a stopped mesh member to catch up on missed events.

    .venv/bin/python -m bench.fanout [--seconds 5] [--missed 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from scripts.mesh import Mesh
from tools.processes import ROOT, Server, free_port

SECRET = "bench-fanout-secret"


class HungPeer:
    """Accepts connections on 127.0.0.1 and never answers: the peer a breaker is for."""

    def __init__(self) -> None:
        import socket
        import threading

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(512)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._held: list[Any] = []
        self._open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self._open:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._held.append(conn)

    def stop(self) -> None:
        self._open = False
        self._sock.close()
        for conn in self._held:
            conn.close()


def settings_env(name: str, workdir: Path, peers: list[str]) -> dict[str, str]:
    """As `make serve` runs it: INFO logging (a line per request), each event durable before
    its 201 (LAMBDA_SYNC left unset, fsync, as `make serve` leaves it)."""
    return {
        "DATA_DIR": str(workdir / name),
        "LAMBDA_PEER_SECRET": SECRET,
        "LAMBDA_PEER_URLS": ",".join(peers),
        "LAMBDA_LOG_LEVEL": "INFO",
        "LAMBDA_FANOUT_TIMEOUT": "0.5",
    }


def local(
    name: str,
    workdir: Path,
    peers: list[str],
    port: int | None = None,
    extra: dict[str, str] | None = None,
) -> Server:
    port = port or free_port()
    env = {"PORT": str(port), **settings_env(name, workdir, peers), **(extra or {})}
    return Server(
        name, [sys.executable, "-m", "functions.local"], port, workdir, env
    ).wait_for_http("/health")


def load(url: str, concurrency: int, seconds: float) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.load",
            url,
            "--concurrency",
            str(concurrency),
            "--seconds",
            str(seconds),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def latency(seconds: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        hung = HungPeer()
        peer_ports = [free_port(), free_port()]
        peers = [local(f"peer{i}", work, [], port) for i, port in enumerate(peer_ports)]
        setups = {
            "no peers": local("alone", work, []),
            "two peers": local("two", work, [p.url for p in peers]),
            "one healthy, one hung peer (0.5 s bound)": local(
                "hung", work, [peers[0].url, hung.url]
            ),
        }
        try:
            for name, server in setups.items():
                results[name] = {str(c): load(server.url, c, seconds) for c in (1, 16)}
        finally:
            for server in [*setups.values(), *peers]:
                server.stop()
            hung.stop()
    return results


def catch_up(missed: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        mesh = Mesh(Path(tmp), fanout_timeout=1.0, backoff="0.2,1", schedule=0.5).start()
        try:
            mesh.stop_member("azure")
            with httpx.Client(base_url=mesh.members["aws"].url, timeout=30) as http:
                for n in range(missed):
                    assert http.post("/webhook/missed", json={"n": n}).status_code == 201
            restarted = time.perf_counter()
            mesh.start_member("azure")
            up = time.perf_counter() - restarted
            store = mesh.store("azure")
            while sum(1 for _ in store.list("events/source=missed/")) < missed:
                time.sleep(0.1)
            return {
                "missed": missed,
                "restart_s": round(up, 2),
                "caught_up_s": round(time.perf_counter() - restarted, 2),
            }
        finally:
            mesh.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--missed", type=int, default=1000)
    args = parser.parse_args()
    print(
        json.dumps({"latency": latency(args.seconds), "catch_up": catch_up(args.missed)}, indent=2)
    )


if __name__ == "__main__":
    main()
