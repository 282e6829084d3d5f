"""The app: one `handle(request) -> Response` that every adapter calls."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from functions.core.errors import AppError, ConfigError, MethodNotAllowed, StorageError
from functions.core.handlers import Handlers
from functions.core.http import Request, Response, json_response
from functions.core.logs import get_logger
from functions.core.ports import BlobStore, Clock
from functions.core.routes import Router
from functions.core.settings import PEER_SECRET, Settings

if TYPE_CHECKING:  # imported for real on first fan-out: keeps /health's cold start small
    from functions.core.fanout import FanOut, Transport


def utc_now() -> datetime:
    return datetime.now(UTC)


def error_response(error: AppError, request_id: str) -> Response:
    """The one JSON error shape, for every error the client may see."""
    message = "storage is unavailable" if isinstance(error, StorageError) else error.message
    if type(error) is AppError:
        message = "internal error"
    headers = {"allow": ", ".join(error.allow)} if isinstance(error, MethodNotAllowed) else {}
    body = {"error": {"code": error.code, "message": message, "request_id": request_id}}
    return json_response(error.status, body, headers)


class LazyStore:
    """Builds the store once, on first use, safely across threads."""

    def __init__(self, factory: Callable[[], BlobStore]) -> None:
        self._factory = factory
        self._store: BlobStore | None = None
        self._lock = threading.Lock()

    def __call__(self) -> BlobStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = self._factory()
        return self._store


class App:
    def __init__(
        self,
        settings: Settings,
        adapter: str,
        store_factory: Callable[[], BlobStore],
        clock: Clock = utc_now,
        logger: logging.Logger | None = None,
        transport: Callable[[], Transport] | None = None,
    ) -> None:
        self.settings = settings
        self.store = LazyStore(store_factory)
        self._clock = clock
        self._fanout: FanOut | None = None
        self._fanout_lock = threading.Lock()
        self._transport = transport
        self.handlers = Handlers(settings, adapter, self.store, clock, self.fanout)
        self.router = Router()
        self.log = logger or get_logger(settings.log_level)

    def fanout(self) -> FanOut | None:
        """The peer fan-out, built on first use (None without peers); shared by all threads."""
        settings = self.settings
        if not settings.peer_urls:
            return None
        if settings.peer_secret is None:
            raise ConfigError(f"Config '{PEER_SECRET}' is missing: peers need a signing secret.")
        with self._fanout_lock:
            if self._fanout is None:
                from functions.core.fanout import FanOut, HttpxTransport
                from functions.core.outbox import Outbox
                from functions.core.signing import PeerSigner

                outbox = Outbox(
                    self.store(), settings.outbox_max_attempts, settings.outbox_backoff_s
                )
                transport = self._transport() if self._transport else HttpxTransport()
                self._fanout = FanOut(
                    settings.peer_urls,
                    outbox,
                    PeerSigner(settings.peer_secret, settings.peer_keys),
                    transport,
                    self._clock,
                    settings.fanout_timeout_s,
                    self.log,
                    store_event=self.handlers.store_if_missing,
                )
            return self._fanout

    def retry_outbox(self) -> dict[str, int]:
        """Entry for the schedules (EventBridge, Azure timer, the local loop)."""
        result = self.handlers.run_retry()
        # An idle run (nothing due) is the common case every interval: not worth an INFO line.
        level = logging.INFO if result["attempted"] else logging.DEBUG
        self.log.log(level, "outbox retry", extra={"fields": result})
        return result

    def compact(self) -> dict[str, int]:
        """Entry for the hourly compaction schedules and the local command."""
        result = self.handlers.run_compact()
        self.log.info("compaction", extra={"fields": result})
        return result

    def handle(self, request: Request) -> Response:
        request_id = os.urandom(16).hex()
        started = time.perf_counter()
        route_name = "-"
        # HEAD is GET without the body (RFC 9110 9.3.2): uptime checkers use it.
        head = request.method == "HEAD"
        try:
            route, params = self.router.match("GET" if head else request.method, request.path)
            route_name = route.template
            response = route.endpoint(self.handlers, request, params)
        except AppError as error:
            if error.status >= 500:
                self.log.error(error.message, extra={"fields": {"request_id": request_id}})
            response = error_response(error, request_id)
        except Exception:
            self.log.exception("unhandled error", extra={"fields": {"request_id": request_id}})
            response = error_response(AppError("internal error"), request_id)
        self._log_request(request, route_name, response, request_id, started)
        headers = {**response.headers, "x-request-id": request_id}
        return Response(response.status, b"" if head else response.body, headers)

    def _log_request(
        self, request: Request, route: str, response: Response, request_id: str, started: float
    ) -> None:
        fields = {
            "request_id": request_id,
            "method": request.method,
            "route": route,
            "path": request.path,
            "status": response.status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        self.log.info("request", extra={"fields": fields})
