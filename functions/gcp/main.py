"""Google Cloud Functions (2nd gen) entry point: the HTTP function `handle`; Cloud Scheduler
calls the jobs' routes over HTTP. In the deployed zip this file is the root `main.py`, as
Cloud Functions requires. google-cloud-storage is imported only when a route first needs
storage. See docs/deploying.md.
"""

from __future__ import annotations

import functools
from typing import Any

import functions_framework

from functions.core.app import App
from functions.core.http import Response
from functions.core.ports import BlobStore
from functions.core.services import Services
from functions.core.settings import Settings
from functions.wsgi import to_request


def store_opener(settings: Settings) -> Any:
    def open_store(bucket: str) -> BlobStore:
        from functions.gcp.store import GCSBlobStore

        return GCSBlobStore(bucket, emulator_host=settings.storage_emulator_host)

    return open_store


def build_app(settings: Settings) -> App:
    return App(Services.for_bucket(settings, "gcp", store_opener(settings)))


@functools.cache
def default_app() -> App:
    return build_app(Settings.from_env())


def serve(app: App, request: Any) -> tuple[bytes, int, dict[str, str]]:
    """Translate a Flask request (WSGI underneath) into the core's and back."""
    limit = app.settings.max_body_bytes
    body = request.stream.read(limit + 1)  # enough to see an oversized body, no more
    response: Response = app.handle(to_request(request.environ, body))
    return response.body, response.status, dict(response.headers)


@functions_framework.http
def handle(request: Any) -> tuple[bytes, int, dict[str, str]]:
    return serve(default_app(), request)
