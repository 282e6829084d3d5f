"""The cyclic garbage collector held off while an instance starts (docs/deploying.md, cold
starts).

Starting imports a few hundred modules (ours, then the storage SDK's at the first route that
needs storage) and builds the app: objects that live as long as the instance. With the
collector's default thresholds, a collection runs every 700 new objects and a full one, over
everything alive, every few dozen of those: a tenth of the CPU of an AWS instance's first
webhook goes to walking objects that are never garbage (`perf` over the bench's runs). Each
adapter `hold()`s the collector when its platform starts it, and releases it once the app has
served a request with its store open (the storage SDK loaded) or has run a job: what the start
built moves to the permanent generation (`gc.freeze()`: later collections skip it, the warm
path's included) and automatic collection resumes. Objects are still freed by their reference
counts while it is held; the few cycles a start leaves are frozen with it (a full collection
before freezing would cost a third of what holding saves), and an instance that never opens
its store releases it after `MAX_HELD_REQUESTS` requests.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

MAX_HELD_REQUESTS = 16  # an instance that only answers /health releases it after these


class _State:
    held = False
    requests = 0


_lock = threading.Lock()
_state = _State()


def hold() -> None:
    """Turn automatic collection off until `release()`; nothing if it is off already (the
    host or a test manages it then, and `release()` leaves it as it found it)."""
    with _lock:
        if _state.held or not gc.isenabled():
            return
        gc.disable()
        _state.held, _state.requests = True, 0


def held() -> bool:
    return _state.held


def release() -> None:
    """Freeze what the start built and turn automatic collection back on (once)."""
    with _lock:
        if not _state.held:
            return
        _state.held = False
        gc.freeze()
        gc.enable()


def after_request(started: Callable[[], bool]) -> None:
    """After each request while held, whatever it did or raised: release once `started()`
    says the app's store is open, or after MAX_HELD_REQUESTS requests whatever they were (a
    request whose app cannot even be built still counts)."""
    if not _state.held:
        return
    with _lock:
        _state.requests += 1
        due = _state.requests >= MAX_HELD_REQUESTS
    with contextlib.suppress(Exception):  # an app that cannot be built: the count decides
        due = due or started()
    if due:
        release()


@contextlib.contextmanager
def request(app_factory: Any) -> Iterator[None]:
    """One request, counted toward the release however it ends. `app_factory` is the entry
    point's cached (functools.cache) app: the start has ended once that app has opened its
    store. It is never built here (AWS answers /health with an app that reads no secret)."""
    try:
        yield
    finally:
        after_request(
            lambda: (
                bool(app_factory.cache_info().currsize) and app_factory().services.store_opened()
            )
        )


@contextlib.contextmanager
def job() -> Iterator[None]:
    """A scheduled job: the instance has started once it has run, however it ended."""
    try:
        yield
    finally:
        release()
