"""SnapStart: the init phase does the expensive work so the snapshot holds it, and the
restore refreshes what must be unique or fresh per instance.

The hooks go through the runtime's own registry, the `snapshot_restore_py` module the Python
managed runtimes ship (AWS: "Lambda SnapStart runtime hooks for Python",
https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html). Why and what
it costs: docs/deploying.md (SnapStart).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from functions.core.app import App

# Lambda sets this to "snap-start" while it initializes a version to snapshot it (AWS:
# "Defined runtime environment variables"); "on-demand" or "provisioned-concurrency" otherwise.
INIT_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"
SNAP_START = "snap-start"


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


def snapshotting(environ: Mapping[str, str]) -> bool:
    return environ.get(INIT_TYPE) == SNAP_START


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


def prepare(app: App, registry: Registry) -> None:
    """At init, when Lambda is about to snapshot: do the work now, and register the hooks."""
    warm(app)
    registry.register_before_snapshot(drop_connections, app)
    registry.register_after_restore(refresh, app)
