"""Crash windows between paired writes (issue 26, item 17): wherever the outbox writes one object
and deletes another (requeue, settle, keep_for_retry, the webhook's own writes), a store that
fails once at any one step must never lose a delivery. Each test fails the operation at its
first write, then its second, and so on until it runs clean; after each failure the peers come
back and the ordinary jobs (requeue, retry, the sender's own retry) must deliver every event
the origin holds to every peer."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator

import pytest

from functions.core.app import App
from functions.core.errors import StorageError
from functions.core.services import Services
from functions.core.settings import Settings
from tests.conftest import CoreClient
from tests.support.fakes import FakeClock, FakePeers, MemoryBlobStore

PEERS = ("https://a.example", "https://b.example")
TOKEN = {"authorization": "Bearer tok"}


class StepFailingStore(MemoryBlobStore):
    """Once armed, fails its `fail_at`-th write or delete (counted from 1), once, as a crash or
    an outage there would; every other call goes through."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_at: int | None = None
        self.steps = 0
        self.failed: str | None = None

    def arm(self, fail_at: int) -> None:
        self.fail_at, self.steps, self.failed = fail_at, 0, None

    def _step(self, what: str) -> None:
        if self.fail_at is None:
            return
        self.steps += 1
        if self.steps == self.fail_at:
            self.fail_at, self.failed = None, what
            raise StorageError(f"failed at step {self.steps}: {what}")

    def put(self, key: str, data: bytes) -> None:
        self._step(f"put {key}")
        super().put(key, data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        self._step(f"put_if_absent {key}")
        return super().put_if_absent(key, data)

    def delete(self, key: str) -> None:
        self._step(f"delete {key}")
        super().delete(key)


class Mesh:
    """An origin on a StepFailingStore with two fake peers, and the jobs that recover."""

    def __init__(self) -> None:
        self.store = StepFailingStore()
        self.clock = FakeClock()
        self.peers = FakePeers()  # no secret: the fake clock may run ahead of real time
        settings = Settings(
            peer_urls=PEERS,
            peer_secret="s",
            retry_token="tok",
            read_token="r",
            outbox_max_attempts=2,
            outbox_backoff_s=(10.0, 60.0),
            fanout_timeout_s=1.0,
        )
        services = Services(settings, "local", lambda: self.store, self.clock, None, self._peers)
        self.client = CoreClient(App(services))

    def _peers(self) -> FakePeers:
        return self.peers

    def webhook(self, n: int) -> int:
        status, _, _ = self.client.webhook("orders", {"n": n}, idempotency_key=f"delivery-{n}")
        return status

    def run(self, path: str) -> int:
        self.clock.advance(hours=1)  # past any backoff
        status, _, _ = self.client.request("POST", path, headers=TOKEN)
        return status

    def stored(self) -> set[str]:
        return {
            json.loads(data)["id"]
            for key, data in self.store.objects.items()
            if key.startswith("events/")
        }

    def owed(self) -> set[tuple[str, str]]:
        """(peer, event id) still owed: in an outbox record or a dead letter."""
        owed = set()
        for key, data in self.store.objects.items():
            if key.startswith("outbox/"):
                record = json.loads(data)
                owed |= {(peer, record["envelope"]["id"]) for peer in record["peers"]}
            elif key.startswith("outbox-dead/"):
                letter = json.loads(data)
                owed.add((letter["peer"], letter["envelope"]["id"]))
        return owed

    def recover(self, resend: Callable[[], object] = lambda: None) -> None:
        """Peers back; the sender retries; requeue and retry until nothing is owed."""
        self.peers.down.clear()
        self.store.fail_at = None
        resend()
        for _ in range(4):
            assert self.run("/internal/outbox/requeue") == 200
            assert self.run("/internal/outbox/retry") == 200

    def assert_nothing_lost(self, context: str) -> None:
        delivered = set(self.peers.delivered)
        missing = {(p, e) for p in PEERS for e in self.stored()} - delivered
        assert not missing, f"{context}: never delivered {sorted(missing)}"
        assert self.owed() == set(), context


def steps_until_clean(
    operation: Callable[[Mesh], None], setup: Callable[[Mesh], None]
) -> Iterator[tuple[Mesh, str]]:
    """A fresh mesh per step: `setup`, then `operation` failed at step 1, 2, ... until it runs
    with no failure. Yields each mesh after the failed operation, with what failed."""
    for step in range(1, 50):
        mesh = Mesh()
        setup(mesh)
        mesh.store.arm(step)
        with contextlib.suppress(StorageError):
            operation(mesh)
        if mesh.store.failed is None:  # fewer steps than `step`: every window was tried
            assert step > 1, "the operation wrote nothing"
            return
        yield mesh, f"failed at step {step} ({mesh.store.failed})"
    pytest.fail("the operation never ran clean")


def dead_letters(mesh: Mesh) -> None:
    mesh.peers.down.update(PEERS)
    for n in range(2):
        assert mesh.webhook(n) == 201
    # The scheduled retries' attempts (the HTTP route's nudge judges no peer): both events
    # dead-lettered at both peers, the probed record charged sent, the other unsent.
    for _ in range(4):
        mesh.clock.advance(hours=1)  # past any backoff
        mesh.client.app.jobs.retry()
    assert len([k for k in mesh.store.objects if k.startswith("outbox-dead/")]) == 4


def test_requeue_failing_at_any_step_never_loses_a_dead_letters_delivery() -> None:
    def requeue(mesh: Mesh) -> None:
        assert mesh.client.app.jobs.requeue() == 4

    for mesh, context in steps_until_clean(requeue, dead_letters):
        # each (peer, event) is still owed: as its dead letter, its new record, or both
        assert mesh.owed() == {(p, e) for p in PEERS for e in mesh.stored()}, context
        mesh.recover()
        mesh.assert_nothing_lost(context)


def one_peer_down(mesh: Mesh) -> None:
    mesh.peers.down.add(PEERS[1])
    assert mesh.webhook(0) == 201


@pytest.mark.parametrize("peer_b", ["back", "still-down"], ids=["rescheduled", "dead-lettered"])
def test_a_retry_run_failing_at_any_step_of_settle_never_loses_a_delivery(peer_b: str) -> None:
    # Settle writes the dead letter or the rescheduled record before it deletes the old one
    def retry(mesh: Mesh) -> None:
        if peer_b == "back":
            mesh.peers.down.clear()
        mesh.clock.advance(hours=1)  # due
        mesh.client.app.jobs.retry()

    for mesh, context in steps_until_clean(retry, one_peer_down):
        mesh.recover()
        mesh.assert_nothing_lost(context)


def both_missed_then_one_back(mesh: Mesh) -> None:
    mesh.peers.down.update(PEERS)
    for n in range(3):
        assert mesh.webhook(n) == 201
    mesh.peers.down.discard(PEERS[0])


def test_a_retry_run_failing_while_it_defers_a_down_peer_never_loses_a_delivery() -> None:
    # Three records owed to both peers, the second down: the run probes it with the first
    # record, delivers all three to the first peer and rewrites the other two for the down
    # peer alone, uncharged (the new key written before the old one goes)
    def retry(mesh: Mesh) -> None:
        mesh.clock.advance(hours=1)  # due
        mesh.client.app.jobs.retry()

    for mesh, context in steps_until_clean(retry, both_missed_then_one_back):
        mesh.recover()
        mesh.assert_nothing_lost(context)


def test_a_webhook_failing_at_any_step_is_delivered_once_its_sender_retries() -> None:
    # The webhook writes its marker, the outbox record, the event, then (one peer having got
    # it) the record of the other alone before deleting the first: keep_for_retry
    def webhook(mesh: Mesh) -> None:
        mesh.peers.down.add(PEERS[1])
        if mesh.webhook(0) != 201:
            raise StorageError("answered with an error: the sender will retry")

    for mesh, context in steps_until_clean(webhook, lambda mesh: None):
        mesh.recover(resend=lambda mesh=mesh: mesh.webhook(0))  # type: ignore[misc]
        assert len(mesh.stored()) == 1, context  # one event, however often it was sent
        mesh.assert_nothing_lost(context)


def test_the_store_that_fails_at_a_step_fails_there_and_only_once() -> None:
    store = StepFailingStore()
    store.arm(2)
    store.put("a", b"1")
    with pytest.raises(StorageError, match="step 2: delete a"):
        store.delete("a")
    store.delete("a")
    assert store.objects == {}
