"""The routes' handlers: the public routes, the peers' route and the jobs' HTTP routes. They
speak only the core's types; the services they use come from `Services` (the composition
root) and the jobs from `Jobs`. See docs/architecture.md."""

from __future__ import annotations

from typing import Any

from functions import __version__
from functions.core.errors import (
    BadRequest,
    BlobNotFound,
    Unauthorized,
)
from functions.core.events import (
    MAX_IDEMPOTENCY_KEY,
    Envelope,
    idempotency_key_of,
    kept_headers,
    traceparent,
    uuid7,
    validate_source,
)
from functions.core.guards import bearer_matches, check_body, one, require_bearer
from functions.core.http import Request, Response, json_response
from functions.core.ingest import Stored, parse_json
from functions.core.jobs import Jobs
from functions.core.mesh_routes import MeshRoutes
from functions.core.services import Services
from functions.core.settings import READ_TOKEN, RETRY_TOKEN

# POST /internal/outbox/retry runs on the HTTP function, stopped at its own timeout (30 s by
# default, lambda:timeoutSeconds; API Gateway's is 29 s), not the jobs' 540 s: its run ends by
# then, so it never dies mid-run holding the retry lease (which would lapse only ~570 s later).
ROUTE_RETRY_BUDGET_S = 20.0


class Handlers(MeshRoutes):
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
        if not bearer_matches(request, self.settings.read_token):
            return json_response(200, {"peer_count": count})
        from functions.core import quarantine

        backlog = self.services.outbox().backlog(self.settings.peer_urls)
        peers = [{"url": url, **backlog[url]} for url in self.settings.peer_urls]
        # Damaged objects set aside (docs/architecture.md, "Damaged objects"): 0 when all is well
        quarantined = quarantine.count(self.services.store())
        answer = {"peer_count": count, "peers": peers, "quarantined": quarantined}
        return json_response(200, {**answer, "reconcile": self._last_reconcile()})

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
        check_body(request, self.settings.max_body_bytes)
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
        check_body(request, self.settings.max_body_bytes)
        signer = self.services.signer()
        if signer is None:
            raise Unauthorized("peer signing is not configured here (LAMBDA_PEER_SECRET)")
        signer.verify(request.body, request.headers)
        envelope = Envelope.from_dict(parse_json(request.body))
        return _stored_response(self.services.events().receive(envelope), {})

    def retry_outbox(self, request: Request, params: dict[str, str]) -> Response:
        """The outbox retry job over HTTP, on the HTTP function (an operator's nudge; the
        schedules call the jobs' own entry points): bounded as a request is, within
        ROUTE_RETRY_BUDGET_S and each attempt within the webhook's deadline, so the platform
        never stops it mid-run with the job's lease held (docs/peers.md, retries)."""
        self._check_schedule_token(request)
        timeout = self.settings.fanout_timeout_s
        return json_response(200, self.jobs.retry(ROUTE_RETRY_BUDGET_S, timeout))

    def requeue_dead(self, request: Request, params: dict[str, str]) -> Response:
        """Dead letters back into the outbox, for the next retry run (an operator's call, with
        the schedules' bearer token)."""
        self._check_schedule_token(request)
        return json_response(200, {"requeued": self.jobs.requeue()})

    def compact(self, request: Request, params: dict[str, str]) -> Response:
        """The compaction job over HTTP (Cloud Scheduler calls it hourly on GCP)."""
        self._check_schedule_token(request)
        return json_response(200, self.jobs.compact())

    def _check_schedule_token(self, request: Request) -> None:
        require_bearer(request, self.settings.retry_token, RETRY_TOKEN)

    def query(self, request: Request, params: dict[str, str]) -> Response:
        from functions.core.query import EventQuery, parse_query

        require_bearer(request, self.settings.read_token, READ_TOKEN)
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
        event_id = one(request, "id")
        found = Inventory(self.services.store()).find(event_id)
        rows = [] if found is None else [found]
        answer: dict[str, Any] = {"id": event_id, "count": len(rows), "rows": rows}
        if found is not None and found.get("origin") == self.services.origin:
            answer["delivery"] = self.services.outbox().delivery_state(
                event_id, self.settings.peer_urls
            )
        return json_response(200, answer)


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
