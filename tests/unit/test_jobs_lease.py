"""Jobs overlap-safe without reserved concurrency: each run takes its job's lease in the bucket
(functions/core/lease.py); a second run while one is going exits at once (issue 25, item 1)."""

from __future__ import annotations

from datetime import timedelta

from functions.core.app import App
from functions.core.lease import Lease
from functions.core.services import Services
from functions.core.settings import Settings
from tests.support.fakes import FakeClock, MemoryBlobStore

SETTINGS = Settings(
    read_token="r", peer_urls=("https://peer.example",), peer_secret="s", job_timeout_s=300
)


def app_over(store: MemoryBlobStore, clock: FakeClock) -> App:
    return App(Services(SETTINGS, "local", lambda: store, clock))


def test_a_compaction_run_while_another_holds_the_lease_exits_busy() -> None:
    store, clock = MemoryBlobStore(), FakeClock()
    assert Lease(store, clock, "compact", timedelta(seconds=330)).acquire() is not None
    assert app_over(store, clock).jobs.compact() == {
        "partitions": 0,
        "compacted": 0,
        "events": 0,
        "busy": 1,
    }


def test_a_retry_run_while_another_holds_the_lease_exits_busy() -> None:
    store, clock = MemoryBlobStore(), FakeClock()
    assert Lease(store, clock, "retry", timedelta(seconds=330)).acquire() is not None
    assert app_over(store, clock).jobs.retry()["busy"] == 1


def test_the_lease_of_a_crashed_run_lapses_after_the_job_timeout() -> None:
    # GIVEN a run that took the lease and was killed at LAMBDA_JOB_TIMEOUT (300 s here)
    store, clock = MemoryBlobStore(), FakeClock()
    app = app_over(store, clock)
    held = Lease(store, clock, "compact", timedelta(seconds=330)).acquire()
    assert held is not None
    clock.advance(seconds=301)
    assert app.jobs.compact().get("busy") == 1  # still within the clock-skew margin
    clock.advance(seconds=30)
    assert "busy" not in app.jobs.compact()


def test_runs_one_after_another_are_never_busy() -> None:
    store, clock = MemoryBlobStore(), FakeClock()
    app = app_over(store, clock)
    for _ in range(3):
        assert "busy" not in app.jobs.compact()
        assert "busy" not in app.jobs.retry()
