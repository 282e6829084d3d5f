"""AWS Lambda entry point: `functions.aws.handler.handler`.

Serves Function URL and API Gateway events and stores events in S3. boto3 is imported only when
a route first needs storage, so `/health` pays for none of it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from functions.aws.events import Event, translation_for
from functions.core.app import App
from functions.core.ports import BlobStore
from functions.core.settings import BUCKET, Settings, require


def build_app(settings: Settings) -> App:
    bucket = require(settings.bucket, BUCKET)

    def store() -> BlobStore:
        from functions.aws.store import S3BlobStore

        return S3BlobStore(bucket)

    return App(settings, "aws", store)


def make_handler(app: App) -> Callable[[Event, Any], Event]:
    def handle(event: Event, context: Any) -> Event:
        translation = translation_for(event)
        return translation.to_response(app.handle(translation.to_request(event)))

    return handle


@functools.cache
def default_app() -> App:
    import os

    from functions.aws.secrets import with_secrets

    return build_app(Settings.from_env(with_secrets(os.environ)))


@functools.cache
def _default_handler() -> Callable[[Event, Any], Event]:
    return make_handler(default_app())


def handler(event: Event, context: Any) -> Event:
    return _default_handler()(event, context)


def retry_outbox(event: Event, context: Any) -> dict[str, int]:
    """`functions.aws.handler.retry_outbox`: invoked by the EventBridge schedule that the Pulumi
    program provisions (a second function on the same code), never by HTTP."""
    return default_app().retry_outbox()


def compact(event: Event, context: Any) -> dict[str, int]:
    """`functions.aws.handler.compact`: the hourly EventBridge schedule's entry point."""
    return default_app().compact()
