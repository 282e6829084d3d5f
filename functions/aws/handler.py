"""AWS Lambda entry point: `functions.aws.handler.handler` for HTTP (Function URL and API
Gateway events), and one function per scheduled job (`retry_outbox`, `compact`), each invoked
by its EventBridge rule. The SDK is imported only when a route first needs storage, and the
secret read only when a route first needs it, so `/health` pays for neither; with SnapStart,
the snapshot holds all of it instead (functions/aws/snapstart.py). See docs/deploying.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from functions.aws.events import Event, translation_for
from functions.aws.secrets import with_secrets, without_secrets
from functions.core import gc_hold
from functions.core.app import App
from functions.core.http import Request
from functions.core.jobs import Jobs
from functions.core.ports import BlobStore
from functions.core.services import Services
from functions.core.settings import Settings

R = TypeVar("R")
# The routes that read no secret, answered before the secret is read (HEAD is GET's twin).
NO_SECRET = frozenset({("GET", "/health"), ("HEAD", "/health")})


def open_store(bucket: str) -> BlobStore:
    from functions.aws.store import S3BlobStore

    return S3BlobStore(bucket)


def make_handler(app: App) -> Callable[[Event, Any], Event]:
    def handle(event: Event, context: Any) -> Event:
        translation = translation_for(event)
        return translation.to_response(app.handle(translation.to_request(event)))

    return handle


def build_app(settings: Settings) -> App:
    return App(Services.for_bucket(settings, "aws", open_store))


@functools.cache
def default_app() -> App:
    return build_app(Settings.from_env(extend=with_secrets))


@functools.cache
def _public_app() -> App:
    """The app for NO_SECRET's routes until the full one is built: same code, no secret."""
    return build_app(Settings.from_env(extend=without_secrets))


def app_for(request: Request) -> App:
    if (request.method, request.path) in NO_SECRET and not default_app.cache_info().currsize:
        return _public_app()
    return default_app()


@functools.cache
def _default_handler() -> Callable[[Event, Any], Event]:
    def handle(event: Event, context: Any) -> Event:
        with gc_hold.request(default_app):
            translation = translation_for(event)
            request = translation.to_request(event)
            return translation.to_response(app_for(request).handle(request))

    return handle


def handler(event: Event, context: Any) -> Event:
    return _default_handler()(event, context)


def _run(job: Callable[[Jobs], R]) -> R:
    """A scheduled job on the full app; the instance has started once it has run."""
    with gc_hold.job():
        return job(default_app().jobs)


def retry_outbox(event: Event, context: Any) -> dict[str, int]:
    """The outbox retry schedule's entry point (functions/core/schedules.py)."""
    return _run(Jobs.retry)


def compact(event: Event, context: Any) -> dict[str, int]:
    """The hourly compaction schedule's entry point (functions/core/schedules.py)."""
    return _run(Jobs.compact)


def reconcile(event: Event, context: Any) -> dict[str, Any]:
    """The hourly anti-entropy schedule's entry point (functions/core/schedules.py)."""
    return _run(Jobs.reconcile)


def _register_snapstart_hooks() -> None:
    """Where the runtime has SnapStart's hook registry: the snapshot is built with the app,
    its secret and its S3 client, and each restore refreshed (functions/aws/snapstart.py)."""
    from functions.aws import snapstart

    registry = snapstart.runtime_registry()
    if registry is not None:
        snapstart.register(registry, default_app)


_register_snapstart_hooks()
