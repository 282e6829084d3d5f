"""SnapStart: before the snapshot, the expensive work is done so the snapshot holds it; after
each restore, what must be unique or fresh per instance is refreshed.

The hooks go through the runtime's own registry, the `snapshot_restore_py` module the Python
managed runtimes ship (AWS: "Lambda SnapStart runtime hooks for Python",
https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html). Why and what
it costs: docs/deploying.md (SnapStart).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from functions.core import gc_hold
from functions.core.app import App


class Registry(Protocol):
    """The runtime's hook registry (`snapshot_restore_py`), or a stand-in in tests."""

    def register_before_snapshot(self, func: Callable[..., Any], *args: Any) -> Any: ...

    def register_after_restore(self, func: Callable[..., Any], *args: Any) -> Any: ...


def runtime_registry() -> Registry | None:
    """The runtime's registry, where the runtime provides one (every Python managed runtime
    with SnapStart does; a plain interpreter does not)."""
    try:
        import snapshot_restore_py  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    registry: Registry = snapshot_restore_py
    return registry


def warm(app: App) -> None:
    """What the first webhook would otherwise pay for: the secret (already read to build the
    app's settings), the S3 client and the webhook path's modules. No request is sent."""
    services = app.services
    services.events()
    services.outbox()
    services.signer()
    services.fanout()


def drop_connections(app: App) -> None:
    """Pooled connections are one instance's sockets: none may be shared by the instances one
    snapshot resumes. The next request opens its own."""
    close = getattr(app.services.store(), "close_connections", None)
    if close is not None:
        close()


def refresh(app: App) -> None:
    """After a restore: every resumed instance would otherwise replay the same `random`
    sequence (botocore's retry jitter draws from it), so it is reseeded from the OS, and no
    connection from before the snapshot is reused. Ids (UUIDv7, request ids) need nothing:
    they read os.urandom on every call, never a state the snapshot holds."""
    import random  # not at import: ~5 ms of every cold start, for a restore only

    random.seed()
    drop_connections(app)


def before_snapshot(app_factory: Callable[[], App]) -> None:
    """Only when Lambda is about to snapshot (so on-demand starts never pay for it): the work
    of the first webhook done now, held by the snapshot, with no connection in it."""
    app = app_factory()
    warm(app)
    drop_connections(app)
    gc_hold.release()  # the snapshot holds the started instance, frozen


def after_restore(app_factory: Callable[[], App]) -> None:
    refresh(app_factory())


def register(registry: Registry, app_factory: Callable[[], App]) -> None:
    """At import: the runtime calls the hooks if, and only if, SnapStart is on."""
    registry.register_before_snapshot(before_snapshot, app_factory)
    registry.register_after_restore(after_restore, app_factory)
