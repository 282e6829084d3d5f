"""SnapStart: init builds everything into the snapshot; the after-restore hook refreshes what
each resumed instance must not share. The runtime's registry (`snapshot_restore_py`, AWS:
https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html) is stood in
for by one that records, and runs, the hooks in the order AWS documents: before-snapshot
hooks in reverse order of registration, after-restore hooks in order."""

from __future__ import annotations

import gc
import importlib
import random
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from functions.aws import handler as module
from functions.aws import snapstart
from functions.core import gc_hold
from functions.core.app import App
from tools.processes import Server

Hook = tuple[Callable[..., Any], tuple[Any, ...]]


class StandInRegistry:
    def __init__(self) -> None:
        self.before: list[Hook] = []
        self.after: list[Hook] = []

    def register_before_snapshot(self, func: Callable[..., Any], *args: Any) -> None:
        self.before.append((func, args))

    def register_after_restore(self, func: Callable[..., Any], *args: Any) -> None:
        self.after.append((func, args))

    def snapshot(self) -> None:
        for func, args in reversed(self.before):
            func(*args)

    def restore(self) -> None:
        for func, args in self.after:
            func(*args)


@pytest.fixture
def snapshot_env(
    moto: Server, monkeypatch: pytest.MonkeyPatch, s3_bucket: str
) -> Iterator[StandInRegistry]:
    """The runtime with its registry importable under the runtime's module name."""
    registry = StandInRegistry()
    fake = types.ModuleType("snapshot_restore_py")
    fake.register_before_snapshot = registry.register_before_snapshot  # type: ignore[attr-defined]
    fake.register_after_restore = registry.register_after_restore  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", fake)
    monkeypatch.setenv("LAMBDA_BUCKET", s3_bucket)
    module.default_app.cache_clear()
    yield registry
    module.default_app.cache_clear()


class CountingStore:
    def __init__(self) -> None:
        self.closed = 0

    def close_connections(self) -> None:
        self.closed += 1


def test_the_snapshot_holds_the_app_and_its_store(snapshot_env: StandInRegistry) -> None:
    # GIVEN the handler imported by a runtime that has the registry (init builds nothing yet:
    # without SnapStart the runtime never calls the hooks, and /health stays cheap)
    importlib.reload(module)
    assert module.default_app.cache_info().currsize == 0
    assert (len(snapshot_env.before), len(snapshot_env.after)) == (1, 1)
    # WHEN Lambda takes the snapshot
    snapshot_env.snapshot()
    # THEN the app, its S3 client and the webhook's services exist before any request
    app = module.default_app()
    assert {"store", "hour_index", "outbox"} <= app.services._built.keys()
    # AND a restore refreshes that same app, the one that serves
    snapshot_env.restore()
    assert module.default_app() is app


def test_restored_instances_draw_different_random_numbers(
    snapshot_env: StandInRegistry,
) -> None:
    # GIVEN one snapshot: the `random` state every resumed instance starts from
    importlib.reload(module)
    snapshot_env.snapshot()
    state = random.getstate()
    draws = []
    for _ in range(2):  # two instances resumed from it
        random.setstate(state)
        snapshot_env.restore()
        draws.append([random.random() for _ in range(4)])
    # THEN their sequences differ (without the hook both would replay the same one)
    assert draws[0] != draws[1]


def test_the_hooks_drop_pooled_connections_before_the_snapshot_and_after_restore() -> None:
    store = CountingStore()
    app: Any = types.SimpleNamespace(services=types.SimpleNamespace(store=lambda: store))
    registry = StandInRegistry()
    registry.register_before_snapshot(snapstart.drop_connections, app)
    registry.register_after_restore(snapstart.refresh, app)
    registry.snapshot()
    registry.restore()
    assert store.closed == 2


def test_without_the_runtime_registry_nothing_is_registered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails, as off Lambda
    assert snapstart.runtime_registry() is None


def test_register_hands_the_runtime_both_hooks() -> None:
    registry = StandInRegistry()

    def factory() -> App:
        raise AssertionError("registering must build nothing")

    snapstart.register(registry, factory)
    assert [f for f, _ in registry.before] == [snapstart.before_snapshot]
    assert [f for f, _ in registry.after] == [snapstart.after_restore]


def test_the_snapshot_is_taken_with_the_collector_released(snapshot_env: StandInRegistry) -> None:
    importlib.reload(module)
    gc_hold.hold()  # as under the runtime (functions/aws/__init__.py)
    try:
        snapshot_env.snapshot()
        assert (gc_hold.held(), gc.isenabled()) == (False, True)
        assert gc.get_freeze_count() > 0  # the snapshot holds the started instance, frozen
    finally:
        gc_hold.release()
        gc.unfreeze()
        gc.enable()
