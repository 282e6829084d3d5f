"""AWS Lambda entry point: `functions.aws.handler.handler` for HTTP (Function URL and API
Gateway events), and one function per scheduled job (`retry_outbox`, `compact`), each invoked
by its EventBridge rule. boto3 is imported only when a route first needs storage, so `/health`
pays for none of it. See docs/deploying.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from functions.aws.events import Event, translation_for
from functions.core.app import App
from functions.core.jobs import Jobs
from functions.core.ports import BlobStore
from functions.core.services import Services
from functions.core.settings import Settings


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
    from functions.aws.secrets import with_secrets

    return build_app(Settings.from_env(extend=with_secrets))


@functools.cache
def _default_handler() -> Callable[[Event, Any], Event]:
    return make_handler(default_app())


def handler(event: Event, context: Any) -> Event:
    return _default_handler()(event, context)


def _jobs() -> Jobs:
    return default_app().jobs


def retry_outbox(event: Event, context: Any) -> dict[str, int]:
    """The outbox retry schedule's entry point (functions/core/schedules.py)."""
    return _jobs().retry()


def compact(event: Event, context: Any) -> dict[str, int]:
    """The hourly compaction schedule's entry point (functions/core/schedules.py)."""
    return _jobs().compact()


def reconcile(event: Event, context: Any) -> dict[str, Any]:
    """The hourly anti-entropy schedule's entry point (functions/core/schedules.py)."""
    return _jobs().reconcile()
