"""The five routes' handlers. They speak only the core's types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions import __version__
from functions.core.errors import PayloadTooLarge, UnsupportedMediaType
from functions.core.events import (
    Envelope,
    idempotency_key_of,
    kept_headers,
    uuid7,
    validate_source,
)
from functions.core.http import Request, Response, json_response
from functions.core.ingest import EventStore, Stored, parse_json
from functions.core.ports import BlobStore, Clock
from functions.core.query import EventQuery, parse_query
from functions.core.settings import Settings


class Handlers:
    """Holds the services the routes use. The store is built on first use, so `/health` never
    imports a storage SDK, and then kept for the life of the (warm) instance."""

    def __init__(
        self,
        settings: Settings,
        adapter: str,
        store: Callable[[], BlobStore],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.adapter = adapter
        self.origin = settings.origin or adapter
        self._store = store
        self._clock = clock

    def health(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(
            200,
            {
                "status": "ok",
                "adapter": self.adapter,
                "origin": self.origin,
                "version": __version__,
            },
        )

    def peers(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, {"peers": [{"url": url} for url in self.settings.peer_urls]})

    def webhook(self, request: Request, params: dict[str, str]) -> Response:
        source = validate_source(params["source"])
        payload = self._json_body(request)
        now = self._clock()
        envelope = Envelope(
            id=uuid7(now),
            source=source,
            received_at=now,
            origin=self.origin,
            payload=payload,
            headers=kept_headers(dict(request.headers)),
            idempotency_key=idempotency_key_of(dict(request.headers)),
        )
        return _stored_response(EventStore(self._store()).ingest(envelope))

    def internal_event(self, request: Request, params: dict[str, str]) -> Response:
        envelope = Envelope.from_dict(self._json_body(request))
        return _stored_response(EventStore(self._store()).receive(envelope))

    def query(self, request: Request, params: dict[str, str]) -> Response:
        query = parse_query(request.query)
        rows = EventQuery(self._store()).run(query)
        return json_response(
            200,
            {
                "source": query.source,
                "date": query.day.isoformat(),
                "hour": query.hour,
                "count": len(rows),
                "rows": rows,
            },
        )

    def _json_body(self, request: Request) -> Any:
        limit = self.settings.max_body_bytes
        if len(request.body) > limit:
            raise PayloadTooLarge(f"body is larger than {limit} bytes")
        media_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise UnsupportedMediaType("content-type must be application/json")
        return parse_json(request.body)


def _stored_response(stored: Stored) -> Response:
    envelope = stored.envelope
    return json_response(
        200 if stored.duplicate else 201,
        {
            "id": envelope.id,
            "key": envelope.key,
            "source": envelope.source,
            "received_at": envelope.to_dict()["received_at"],
            "duplicate": stored.duplicate,
        },
    )
