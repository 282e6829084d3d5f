"""The anti-entropy routes (docs/peers.md): a reconcile or a replay run over HTTP with the jobs'
token, and the signed reads a peer's reconcile run makes (digests, one hour's ids, events by
id). Mixed into `Handlers`, whose route table names them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.core.errors import BadRequest, Unauthorized
from functions.core.events import UUID_PATTERN, parse_time, validate_source
from functions.core.guards import check_body, one, require_bearer
from functions.core.http import Request, Response, json_response
from functions.core.ingest import parse_json
from functions.core.jobs import Jobs
from functions.core.services import Services
from functions.core.settings import RETRY_TOKEN, Settings

IDS_PAGE = 10_000  # ids per answer: ~400 KB


class MeshRoutes:
    services: Services
    settings: Settings
    jobs: Jobs

    def reconcile(self, request: Request, params: dict[str, str]) -> Response:
        """The anti-entropy job over HTTP: `?days=N` widens the window (a backfill)."""
        require_bearer(request, self.settings.retry_token, RETRY_TOKEN)
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
        require_bearer(request, self.settings.retry_token, RETRY_TOKEN)
        check_body(request, self.settings.max_body_bytes)
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
        start, end = (parse_hour(one(request, name)) for name in ("from", "to"))
        window = hours(start, end)
        summary = Inventory(self.services.store()).digests(window)
        span = {"from": hour_text(window[0]), "to": hour_text(window[-1])}
        return json_response(200, {**span, "hours": summary})

    def ids(self, request: Request, params: dict[str, str]) -> Response:
        """For a peer's reconcile run: the ids stored for one source and hour, a page of
        IDS_PAGE at a time (`after` the last id of the previous page; `next` names it), so an
        answer stays far below the platforms' response limits (6 MB on Lambda)."""
        from functions.core.inventory import Inventory, parse_hour

        self._verify_signed_get(request)
        source = validate_source(one(request, "source"))
        hour = parse_hour(one(request, "hour"))
        after = request.query.get("after", ("",))[0]
        ids = sorted(i for i in Inventory(self.services.store()).ids(source, hour) if i > after)
        page = ids[:IDS_PAGE]
        more = page[-1] if len(ids) > IDS_PAGE else None
        return json_response(200, {"source": source, "ids": page, "next": more})

    def events(self, request: Request, params: dict[str, str]) -> Response:
        """For a peer's reconcile run: the stored envelopes of up to 50 ids of one hour."""
        from functions.core.inventory import Inventory, parse_hour

        self._verify_signed_get(request)
        source = validate_source(one(request, "source"))
        hour = parse_hour(one(request, "hour"))
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


def _time(value: Any, name: str) -> datetime:
    try:
        if not isinstance(value, str):
            raise ValueError("not a string")
        return parse_time(value)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an ISO 8601 time with a zone: {exc}") from exc
