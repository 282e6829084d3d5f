"""The bench's bound with nothing flushed (bench/noflush.py): the same app, server and store
as `make serve`, started the way the bench starts it, with only the flushes gone."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from bench.noflush import NoFlush
from functions.local.store import FileBlobStore
from tools.processes import Server, free_port


def test_the_store_still_writes_atomically_and_refuses_a_second_create(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path, NoFlush())
    assert store.put_if_absent("events/a.json", b"first")
    assert not store.put_if_absent("events/a.json", b"second")
    assert store.get("events/a.json") == b"first"
    assert store.durability.name.endswith("not durable)")


def test_it_serves_and_stores_webhooks_like_make_serve(tmp_path: Path) -> None:
    port = free_port()
    env = {"PORT": str(port), "DATA_DIR": str(tmp_path / "data"), "LAMBDA_WORKERS": "2"}
    server = Server("noflush", [sys.executable, "-m", "bench.noflush"], port, tmp_path, env)
    try:
        server.wait_for_http("/health")
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for n in range(5):
                answer = client.post("/webhook/bench", json={"n": n})
                assert answer.status_code == 201, answer.text
            bad = client.post(
                "/webhook/bench", content=b"{", headers={"Content-Type": "application/json"}
            )
            assert bad.status_code == 400
            assert bad.json()["error"]["code"] == "bad_request"
    finally:
        server.stop()
    stored = sorted((tmp_path / "data" / "events").rglob("*.json"))
    assert len(stored) == 5
    assert all("source=bench" in str(path) for path in stored)
