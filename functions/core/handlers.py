"""The routes' handlers: the public routes, the peers' route and the jobs' HTTP routes. They
speak only the core's types; the services they use come from `Services` (the composition
root) and the jobs from `Jobs`. See docs/architecture.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions import __version__
from functions.core.errors import (
    BadRequest,
    BlobNotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from functions.core.events import (
    MAX_IDEMPOTENCY_KEY,
    UUID_PATTERN,
    Envelope,
    idempotency_key_of,
    kept_headers,
    parse_time,
    traceparent,
    uuid7,
    validate_source,
)
from functions.core.http import Request, Response, json_response
from functions.core.ingest import Stored, parse_json
from functions.core.jobs import Jobs
from functions.core.services import Services
from functions.core.settings import READ_TOKEN, RETRY_TOKEN


class Handlers:
    """One method per route; each takes the request and the route's path parameters."""

    def __init__(self, services: Services, jobs: Jobs) -> None:
        self.services = services
        self.settings = services.settings
        self.jobs = jobs

    def health(self, request: Request, params: dict[str, str]) -> Response:
        services = self.services
        return json_response(
            200,
            {
                "status": "ok",
                "adapter": services.adapter,
                "origin": services.origin,
                "version": __version__,
            },
        )

    def peers(self, request: Request, params: dict[str, str]) -> Response:
        """Anonymously, how many peers there are (liveness); with the read token, their URLs
        and outbox backlog too (who talks to whom, and what is stuck, are not public)."""
        count = len(self.settings.peer_urls)
        if not self._bearer_matches(request, self.settings.read_token):
            return json_response(200, {"peer_count": count})
        backlog = self.services.outbox().backlog(self.settings.peer_urls)
        peers = [{"url": url, **backlog[url]} for url in self.settings.peer_urls]
        return json_response(
            200, {"peer_count": count, "peers": peers, "reconcile": self._last_reconcile()}
        )

    def _last_reconcile(self) -> Any:
        """The last reconcile run's report (functions/core/reconcile.py), or None."""
        import json

        from functions.core.reconcile import STATUS_KEY

        try:
            return json.loads(self.services.store().get(STATUS_KEY))
        except (BlobNotFound, ValueError):
            return None

    def webhook(self, request: Request, params: dict[str, str]) -> Response:
        source = validate_source(params["source"])
        self._check_body(request)
        if source in self.settings.webhooks:
            from functions.core.verifiers import verify_webhook

            verify_webhook(self.settings.webhooks, source, request)
        payload = parse_json(request.body)
        idempotency_key = self._idempotency_key(source, request, payload)
        now = self.services.clock()
        envelope = Envelope(
            id=uuid7(now),
            source=source,
            received_at=now,
            origin=self.services.origin,
            payload=payload,
            headers={
                **kept_headers(dict(request.headers)),
                "traceparent": traceparent(request.header("traceparent")),
            },
            idempotency_key=idempotency_key,
        )
        fanout = self.services.fanout()
        stored, record = self.services.events().ingest(envelope, fanout.ahead if fanout else None)
        delivered: dict[str, bool] = {}
        if fanout is not None and record is not None:
            if stored.created:
                delivered = fanout.attempt(record)
            else:  # a concurrent attempt of this delivery stored it, and recorded it ahead too
                fanout.outbox.done(record)
        response = _stored_response(stored, delivered)
        trace = stored.envelope.headers.get("traceparent", "")
        # W3C Trace Context Level 2's response header: the caller learns the event's trace id.
        return Response(
            response.status, response.body, {**response.headers, "traceresponse": trace}
        )

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
        signer = self.services.signer()
        if signer is None:
            raise Unauthorized("peer signing is not configured here (LAMBDA_PEER_SECRET)")
        signer.verify(request.body, request.headers)
        envelope = Envelope.from_dict(parse_json(request.body))
        return _stored_response(self.services.events().receive(envelope), {})

    def retry_outbox(self, request: Request, params: dict[str, str]) -> Response:
        """The outbox retry job over HTTP (Cloud Scheduler calls it on GCP)."""
        self._check_schedule_token(request)
        return json_response(200, self.jobs.retry())

    def requeue_dead(self, request: Request, params: dict[str, str]) -> Response:
        """Dead letters back into the outbox, for the next retry run (an operator's call, with
        the schedules' bearer token)."""
        self._check_schedule_token(request)
        return json_response(200, {"requeued": self.jobs.requeue()})

    def reconcile(self, request: Request, params: dict[str, str]) -> Response:
        """The anti-entropy job over HTTP: `?days=N` widens the window (a backfill)."""
        self._check_schedule_token(request)
        days = request.query.get("days", ())
        if len(days) > 1 or (days and not (days[0].isascii() and days[0].isdigit())):
            raise BadRequest("days must be one whole number")
        window = int(days[0]) if days else None
        if window is not None and not 1 <= window <= 3660:
            raise BadRequest("days must be from 1 to 3660")
        return json_response(200, self.jobs.reconcile(window))

    def replay(self, request: Request, params: dict[str, str]) -> Response:
        """`{"from": ..., "to": ..., "source"?: ..., "peer"?: ...}`: the stored events of that
        range queued for the peers again (receivers store once: replaying twice is harmless)."""
        self._check_schedule_token(request)
        self._check_body(request)
        ask = parse_json(request.body)
        if not isinstance(ask, dict) or not {"from", "to"} <= set(ask):
            raise BadRequest('a replay needs "from" and "to" (ISO 8601 times with a zone)')
        start, end = (_time(ask[name], name) for name in ("from", "to"))
        source = validate_source(ask["source"]) if ask.get("source") is not None else None
        peer = ask.get("peer")
        if peer is not None and not isinstance(peer, str):
            raise BadRequest("peer must be a URL string")
        return json_response(200, {"queued": self.jobs.replay(start, end, source, peer)})

    def digest(self, request: Request, params: dict[str, str]) -> Response:
        """For a peer's reconcile run: per source and hour of `from`..`to`, count and digest."""
        from functions.core.inventory import Inventory, hour_text, hours, parse_hour

        self._verify_signed_get(request)
        start, end = (parse_hour(self._one(request, name)) for name in ("from", "to"))
        window = hours(start, end)
        summary = Inventory(self.services.store()).digests(window)
        span = {"from": hour_text(window[0]), "to": hour_text(window[-1])}
        return json_response(200, {**span, "hours": summary})

    def ids(self, request: Request, params: dict[str, str]) -> Response:
        """For a peer's reconcile run: the ids stored for one source and hour."""
        from functions.core.inventory import Inventory, parse_hour

        self._verify_signed_get(request)
        source = validate_source(self._one(request, "source"))
        hour = parse_hour(self._one(request, "hour"))
        ids = sorted(Inventory(self.services.store()).ids(source, hour))
        return json_response(200, {"source": source, "count": len(ids), "ids": ids})

    def events(self, request: Request, params: dict[str, str]) -> Response:
        """For a peer's reconcile run: the stored envelopes of up to 50 ids of one hour."""
        from functions.core.inventory import Inventory, parse_hour

        self._verify_signed_get(request)
        source = validate_source(self._one(request, "source"))
        hour = parse_hour(self._one(request, "hour"))
        ids = request.query.get("id", ())
        if not 1 <= len(ids) <= 50 or not all(UUID_PATTERN.fullmatch(i) for i in ids):
            raise BadRequest("id must be given 1 to 50 times, each a lower-case UUID")
        found = list(Inventory(self.services.store()).envelopes(source, hour, ids))
        return json_response(200, {"envelopes": found})

    def _verify_signed_get(self, request: Request) -> None:
        from functions.core.peer_reads import canonical

        signer = self.services.signer()
        if signer is None:
            raise Unauthorized("peer signing is not configured here (LAMBDA_PEER_SECRET)")
        signer.verify(canonical(request.path, request.query), request.headers)

    @staticmethod
    def _one(request: Request, name: str) -> str:
        values = request.query.get(name, ())
        if len(values) != 1:
            raise BadRequest(f"query parameter {name!r} is required, once")
        return values[0]

    def compact(self, request: Request, params: dict[str, str]) -> Response:
        """The compaction job over HTTP (Cloud Scheduler calls it hourly on GCP)."""
        self._check_schedule_token(request)
        return json_response(200, self.jobs.compact())

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

    def query(self, request: Request, params: dict[str, str]) -> Response:
        from functions.core.query import EventQuery, parse_query

        self._require_bearer(request, self.settings.read_token, READ_TOKEN)
        if "id" in request.query:
            return self._find(request)
        query = parse_query(request.query)
        rows = EventQuery(self.services.store(), memory_mb=self.settings.memory_mb).run(query)
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

    def _find(self, request: Request) -> Response:
        """`/query?id=<uuid7>`: one event wherever its source, with its delivery state at its
        origin (pending or dead-lettered per peer; delivered when neither)."""
        from functions.core.inventory import Inventory

        if set(request.query) != {"id"}:
            raise BadRequest("id is queried alone")
        event_id = self._one(request, "id")
        found = Inventory(self.services.store()).find(event_id)
        rows = [] if found is None else [found]
        answer: dict[str, Any] = {"id": event_id, "count": len(rows), "rows": rows}
        if found is not None and found.get("origin") == self.services.origin:
            answer["delivery"] = self.services.outbox().delivery_state(
                event_id, self.settings.peer_urls
            )
        return json_response(200, answer)

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


def _time(value: Any, name: str) -> datetime:
    try:
        if not isinstance(value, str):
            raise ValueError("not a string")
        return parse_time(value)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an ISO 8601 time with a zone: {exc}") from exc
