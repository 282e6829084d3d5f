"""The routes' handlers (the five public routes and the two the schedules call). They
speak only the core's types."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from functions import __version__
from functions.core.errors import PayloadTooLarge, Unauthorized, UnsupportedMediaType
from functions.core.events import (
    MAX_IDEMPOTENCY_KEY,
    Envelope,
    idempotency_key_of,
    kept_headers,
    uuid7,
    validate_source,
)
from functions.core.http import Request, Response, json_response
from functions.core.ingest import EventStore, Stored, parse_json
from functions.core.partitions import HourIndex
from functions.core.ports import BlobStore, Clock
from functions.core.settings import READ_TOKEN, RETRY_TOKEN, Settings

if TYPE_CHECKING:  # these pull in threads, crypto and DuckDB: imported on first use instead
    from functions.core.fanout import FanOut
    from functions.core.outbox import Outbox
    from functions.core.signing import PeerSigner


class Handlers:
    """Holds the services the routes use. The store is built on first use, so `/health` never
    imports a storage SDK, and then kept for the life of the (warm) instance."""

    def __init__(
        self,
        settings: Settings,
        adapter: str,
        store: Callable[[], BlobStore],
        clock: Clock,
        fanout: Callable[[], FanOut | None],
    ) -> None:
        self.settings = settings
        self.adapter = adapter
        self.origin = settings.origin or adapter
        self._store = store
        self._clock = clock
        self._fanout = fanout

    def _events(self) -> EventStore:
        return EventStore(self._store(), self._hour_index, self._clock)

    @cached_property
    def _hour_index(self) -> HourIndex:
        return HourIndex(self._store())

    @cached_property
    def _signer(self) -> PeerSigner | None:
        from functions.core.signing import PeerSigner

        secret = self.settings.peer_secret
        return PeerSigner(secret, self.settings.peer_keys) if secret else None

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
        """Anonymously, how many peers there are (liveness); with the read token, their URLs
        and outbox backlog too (who talks to whom, and what is stuck, are not public)."""
        count = len(self.settings.peer_urls)
        if not self._bearer_matches(request, self.settings.read_token):
            return json_response(200, {"peer_count": count})
        backlog = self.outbox().backlog(self.settings.peer_urls)
        peers = [{"url": url, **backlog[url]} for url in self.settings.peer_urls]
        return json_response(200, {"peer_count": count, "peers": peers})

    def outbox(self) -> Outbox:
        from functions.core.outbox import Outbox

        return Outbox(
            self._store(), self.settings.outbox_max_attempts, self.settings.outbox_backoff_s
        )

    def webhook(self, request: Request, params: dict[str, str]) -> Response:
        source = validate_source(params["source"])
        self._check_body(request)
        if source in self.settings.webhooks:
            from functions.core.verifiers import verify_webhook

            verify_webhook(self.settings.webhooks, source, request)
        payload = parse_json(request.body)
        idempotency_key = self._idempotency_key(source, request, payload)
        now = self._clock()
        envelope = Envelope(
            id=uuid7(now),
            source=source,
            received_at=now,
            origin=self.origin,
            payload=payload,
            headers=kept_headers(dict(request.headers)),
            idempotency_key=idempotency_key,
        )
        fanout = self._fanout()
        stored, record = self._events().ingest(envelope, fanout.ahead if fanout else None)
        delivered: dict[str, bool] = {}
        if fanout is not None and record is not None:
            if stored.created:
                delivered = fanout.attempt(record)
            else:  # a concurrent attempt of this delivery stored it, and recorded it ahead too
                fanout.outbox.done(record)
        return _stored_response(stored, delivered)

    def store_if_missing(self, envelope: Envelope) -> None:
        """For the outbox's first retry of a delivery: the origin's own copy, if the webhook
        that recorded the delivery died before storing it."""
        events = self._events()
        if not events.has(envelope):
            events.write(envelope)

    def _idempotency_key(self, source: str, request: Request, payload: Any) -> str | None:
        """Where the source's signature covers a delivery id, that id alone decides: an
        unsigned Idempotency-Key or X-GitHub-Delivery added to a captured, validly signed
        delivery must not make it a new event. Standard Webhooks signs `webhook-id`; Stripe
        signs the body, whose `id` is the event's. GitHub signs only the body and no id, so its
        X-GitHub-Delivery header is taken as sent."""
        rule = self.settings.webhooks.get(source)
        scheme = rule.scheme if rule else None
        if scheme == "standard":
            return request.header("webhook-id")  # verified present and signed
        if scheme == "stripe" and isinstance(payload, dict) and isinstance(payload.get("id"), str):
            signed: str = payload["id"]
            if 0 < len(signed) <= MAX_IDEMPOTENCY_KEY:
                return signed
        return idempotency_key_of(dict(request.headers))

    def internal_event(self, request: Request, params: dict[str, str]) -> Response:
        """A peer's envelope: signed, stored under its origin key and id, never fanned out
        again (so a full mesh has no loops)."""
        self._check_body(request)
        if self._signer is None:
            raise Unauthorized("peer signing is not configured here (LAMBDA_PEER_SECRET)")
        self._signer.verify(request.body, request.headers)
        envelope = Envelope.from_dict(parse_json(request.body))
        return _stored_response(self._events().receive(envelope), {})

    def retry_outbox(self, request: Request, params: dict[str, str]) -> Response:
        """Called by Cloud Scheduler on GCP (elsewhere the schedules call `run_retry`)."""
        self._check_schedule_token(request)
        return json_response(200, self.run_retry())

    def requeue_dead(self, request: Request, params: dict[str, str]) -> Response:
        """Dead letters back into the outbox, for the next retry run (an operator's call, with
        the schedules' bearer token)."""
        self._check_schedule_token(request)
        return json_response(200, {"requeued": self.run_requeue()})

    def run_requeue(self) -> int:
        fanout = self._fanout()
        return fanout.outbox.requeue(self._clock()) if fanout else 0

    def compact(self, request: Request, params: dict[str, str]) -> Response:
        """Called hourly by Cloud Scheduler on GCP (elsewhere the schedules call
        `run_compact`)."""
        self._check_schedule_token(request)
        return json_response(200, self.run_compact())

    def run_compact(self) -> dict[str, int]:
        from functions.core.compaction import Compactor

        compactor = Compactor(self._store(), self._clock, self.settings.memory_mb)
        result: dict[str, int] = compactor.run()
        return result

    def _check_schedule_token(self, request: Request) -> None:
        self._require_bearer(request, self.settings.retry_token, RETRY_TOKEN)

    @staticmethod
    def _bearer_matches(request: Request, token: str | None) -> bool:
        """`Authorization: Bearer <token>`, compared in constant time; never with no token."""
        import hmac

        scheme, _, given = (request.header("authorization") or "").partition(" ")
        return (
            bool(token)
            and scheme.lower() == "bearer"  # auth schemes are case-insensitive (RFC 9110 11.1)
            and hmac.compare_digest(given.strip().encode(), (token or "").encode())
        )

    def _require_bearer(self, request: Request, token: str | None, key: str) -> None:
        if not token:
            raise Unauthorized(f"this route is disabled here: {key} is not set")
        if not self._bearer_matches(request, token):
            raise Unauthorized("a valid bearer token is required")

    def run_retry(self) -> dict[str, int]:
        fanout = self._fanout()
        return (
            fanout.retry() if fanout else {"attempted": 0, "delivered": 0, "failed": 0, "dead": 0}
        )

    def query(self, request: Request, params: dict[str, str]) -> Response:
        from functions.core.query import EventQuery, parse_query

        self._require_bearer(request, self.settings.read_token, READ_TOKEN)
        query = parse_query(request.query)
        rows = EventQuery(self._store(), memory_mb=self.settings.memory_mb).run(query)
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

    def _check_body(self, request: Request) -> None:
        limit = self.settings.max_body_bytes
        if len(request.body) > limit:
            raise PayloadTooLarge(f"body is larger than {limit} bytes")
        media_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise UnsupportedMediaType("content-type must be application/json")


def _stored_response(stored: Stored, delivered: dict[str, bool]) -> Response:
    envelope = stored.envelope
    ok = sum(delivered.values())
    return json_response(
        200 if stored.duplicate else 201,
        {
            "id": envelope.id,
            "key": envelope.key,
            "source": envelope.source,
            "received_at": envelope.to_dict()["received_at"],
            "duplicate": stored.duplicate,
            "fanout": {"delivered": ok, "queued": len(delivered) - ok},
        },
    )
