"""The collector held off while an instance starts (functions/core/gc_hold.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from functions.core import gc_hold


@pytest.fixture(autouse=True)
def collector() -> Iterator[None]:
    """Each test starts with the collector on and nothing frozen, and leaves it so."""
    gc_hold.release()
    gc.unfreeze()
    gc.enable()
    yield
    gc_hold.release()
    gc.unfreeze()
    gc.enable()


def test_holding_turns_automatic_collection_off_until_released() -> None:
    gc_hold.hold()
    assert (gc_hold.held(), gc.isenabled()) == (True, False)
    gc_hold.release()
    assert (gc_hold.held(), gc.isenabled()) == (False, True)
    assert gc.get_freeze_count() > 0  # what the start built: skipped by later collections


def test_a_collector_someone_else_turned_off_is_left_off() -> None:
    gc.disable()
    gc_hold.hold()
    assert not gc_hold.held()
    gc_hold.release()
    assert not gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_the_first_request_of_the_started_app_releases_it() -> None:
    gc_hold.hold()
    gc_hold.after_request(lambda: False)  # /health, say: the app is not built whole yet
    assert not gc.isenabled()
    gc_hold.after_request(lambda: True)
    assert gc.isenabled()
    gc_hold.after_request(lambda: True)  # once released, requests change nothing
    assert gc.isenabled()


def test_an_instance_that_never_starts_whole_releases_it_after_a_bounded_count() -> None:
    gc_hold.hold()
    for _ in range(gc_hold.MAX_HELD_REQUESTS - 1):
        gc_hold.after_request(lambda: False)
    assert gc_hold.held()
    gc_hold.after_request(lambda: False)
    assert not gc_hold.held()
    assert gc.isenabled()


def test_cycles_made_while_held_are_frozen_with_the_start() -> None:
    """Not collected: one full collection at the release would cost a third of what holding
    saves (callgrind). What the start leaves in cycles is bounded by the start itself."""

    class Node:
        other: object

    gc_hold.hold()
    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b  # a cycle: its reference counts never reach zero
    gc_hold.after_request(lambda: True)
    assert gc.collect() == 0  # frozen with the rest of the start, never walked again
    gc.unfreeze()
    assert gc.collect() >= 2  # the two nodes (and their dicts)


def test_a_request_whose_app_cannot_be_built_still_counts() -> None:
    def broken() -> bool:
        raise RuntimeError("the secret could not be read")

    gc_hold.hold()
    for _ in range(gc_hold.MAX_HELD_REQUESTS - 1):
        gc_hold.after_request(broken)
    assert gc_hold.held()
    gc_hold.after_request(broken)
    assert gc.isenabled()
