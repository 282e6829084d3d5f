"""Anti-entropy and replay: the mesh heals itself. A reconcile run compares this member's
digests (per source and hour) with each peer's over a window, and only for the hours that
differ exchanges id lists and queues, through the outbox, the events the peer lacks. Each
member pushes what it holds, so after one run on every member all hold the same events; the
receivers store idempotently, so a repair never makes a duplicate. See docs/peers.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from functions.core.errors import BadRequest
from functions.core.events import UUID_PATTERN, Envelope, format_time, partition_prefix
from functions.core.inventory import Inventory, cell, floor_hour, hour_text, hours, split_cell
from functions.core.peer_reads import canonical
from functions.core.services import Services
from functions.core.signing import PeerSigner
from functions.core.transport import DeliveryError

STATUS_KEY = "status/reconcile.json"
READ_TIMEOUT_S = 30.0
DIGEST_SPAN = 24  # hours per digest request: a day's index listings fit any function timeout
MAX_ID_PAGES = 100  # a million events of one source in one hour
PULL_BATCH = 50  # ids per GET: ~2 KB of query, well under every platform's URL limit


class Reconciler:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._restored: set[str] = set()  # events stored again from a dead letter, this run

    def _signer(self) -> PeerSigner:
        signer = self._services.signer()
        if signer is None or self._services.fanout() is None:
            raise BadRequest("no peers here to reconcile with (LAMBDA_PEER_URLS)")
        return signer

    def _get(self, peer: str, path: str, query: Mapping[str, str | list[str]]) -> Any:
        params = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in query.items()}
        headers = self._signer().headers(
            os.urandom(16).hex(), canonical(path, params), self._services.clock()
        )
        pairs = sorted((name, value) for name, values in params.items() for value in values)
        return self._services.reader().get(
            f"{peer}{path}?{urlencode(pairs)}", headers, READ_TIMEOUT_S
        )

    def run(self, days: int | None = None) -> dict[str, Any]:
        """One reconcile run over the last `days` (the setting unless given); without peers,
        an idle report (a lone stack's hourly schedule is not an error)."""
        services = self._services
        now = services.clock()
        window = hours(now - timedelta(days=days or services.settings.reconcile_days), now)
        report: dict[str, Any] = {
            "at": format_time(now),
            "from": hour_text(window[0]),
            "to": hour_text(window[-1]),
            "peers": {},
        }
        if not services.settings.peer_urls:
            return report
        self._signer()
        inventory = Inventory(services.store())
        mine = inventory.digests(window)
        report["cells"] = len(mine)  # (source, hour) pairs holding events here
        peers = {
            peer: self._with_peer(peer, window, mine, inventory, now)
            for peer in services.settings.peer_urls
        }
        report["peers"] = peers
        services.store().put(STATUS_KEY, json.dumps(report).encode())
        services.log.info("reconcile", extra={"fields": {"peers": peers}})
        return report

    def _with_peer(
        self,
        peer: str,
        window: list[datetime],
        mine: dict[str, Any],
        inventory: Inventory,
        now: datetime,
    ) -> dict[str, Any]:
        try:
            theirs: dict[str, Any] = {}
            for day in range(0, len(window), DIGEST_SPAN):  # a day per request: bounded work
                span = window[day : day + DIGEST_SPAN]
                asked = {"from": hour_text(span[0]), "to": hour_text(span[-1])}
                theirs.update(_digests(self._get(peer, "/internal/digest", asked), span))
        except (DeliveryError, BadRequest) as exc:
            return {"reachable": False, "error": str(exc)[:300]}
        different = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
        queued: set[str] = set()
        pulled, failed = 0, {}
        for key in different:  # one hour failing never stops the others
            try:
                sent, got = self._repair(peer, key, inventory, now, key in mine)
            except (DeliveryError, BadRequest) as exc:
                failed[key] = str(exc)[:200]
                continue
            queued, pulled = queued | sent, pulled + got
        agreed = {k for k in mine if k not in different}
        cleared, kept = self._settle_dead(peer, window, agreed, queued, inventory, now)
        return {
            "reachable": True,
            "different": len(different),
            "sample": different[:20],
            "queued": len(queued) + kept,
            "pulled": pulled,
            "dead_cleared": cleared,
            "still_different": len(failed),
            "failed": dict(list(failed.items())[:20]),
        }

    def _settle_dead(
        self,
        peer: str,
        window: list[datetime],
        agreed: set[str],
        queued: set[str],
        inventory: Inventory,
        now: datetime,
    ) -> tuple[int, int]:
        """A dead letter to `peer` whose event this run queued again is moot; so is one whose
        hour agrees while this member holds the event (the peer then holds it too). One whose
        hour agrees but whose event is gone here holds the last copy: it is stored here again
        and queued for the peer, never dropped first. Only letters of the window's hours are
        read (the hour is in the id), so an in-sync run reads none outside it. Returns how
        many letters went, and how many of their events were stored again and queued."""
        outbox, cleared, kept = self._services.outbox(), 0, 0
        first, last = window[0], window[-1]
        held: dict[str, set[str]] = {}
        for key, envelope in outbox.dead_letters(peer, lambda t: first <= floor_hour(t) <= last):
            hour = floor_hour(envelope.received_at)
            here = cell(envelope.source, hour)
            if envelope.id not in queued and here in agreed:
                if here not in held:
                    held[here] = inventory.ids(envelope.source, hour)
                # (restored by this run for another peer: the digests that agreed predate it)
                if envelope.id not in held[here] or envelope.id in self._restored:
                    self._services.events().receive(envelope)  # the last copy, kept
                    self._restored.add(envelope.id)
                    outbox.add((peer,), envelope, now, due=now)
                    kept += 1
            if envelope.id in queued or here in agreed:
                outbox.drop_dead(key)
                cleared += 1
        return cleared, kept

    def _repair(
        self, peer: str, key: str, inventory: Inventory, now: datetime, indexed: bool
    ) -> tuple[set[str], int]:
        """Queue for `peer` what it lacks of one (source, hour), and fetch and store here what
        it has and we lack (so a member that joins late gets the history on its own first
        run). Events found here for an hour our index left out get their marker back, so the
        next run's digests include them."""
        source, hour = split_cell(key)
        theirs, mine = self._their_ids(peer, source, hour), inventory.ids(source, hour)
        if mine and not indexed:
            inventory.mark(source, hour)
        outbox, queued = self._services.outbox(), set()
        for data in inventory.envelopes(source, hour, mine - theirs):
            envelope = Envelope.from_dict(data)
            outbox.add((peer,), envelope, now, due=now)
            queued.add(envelope.id)
        return queued, self._pull(peer, source, hour, sorted(theirs - mine))

    def _their_ids(self, peer: str, source: str, hour: datetime) -> set[str]:
        """The peer's ids of one hour, page by page (each page's ids after the last)."""
        query: dict[str, str | list[str]] = {"source": source, "hour": hour_text(hour)}
        found: set[str] = set()
        for _ in range(MAX_ID_PAGES):
            answer = self._get(peer, "/internal/ids", query)
            ids = answer.get("ids") if isinstance(answer, dict) else None
            if not isinstance(ids, list) or not all(
                isinstance(i, str) and UUID_PATTERN.fullmatch(i) for i in ids
            ):
                raise DeliveryError("peer answered an id list that is not one")
            found.update(ids)
            after = answer.get("next")
            if not isinstance(after, str) or not ids or after != max(ids):
                return found
            query["after"] = after
        raise DeliveryError(f"peer's id list of one hour runs past {MAX_ID_PAGES} pages")

    def _pull(self, peer: str, source: str, hour: datetime, ids: list[str]) -> int:
        """Fetch these events from `peer`, PULL_BATCH at a time, and store each (verified as a
        peer's envelope is) under its origin's key and id."""
        events, stored = self._services.events(), 0
        for start in range(0, len(ids), PULL_BATCH):
            wanted = ids[start : start + PULL_BATCH]
            query: dict[str, str | list[str]] = {
                "source": source, "hour": hour_text(hour), "id": wanted
            }  # fmt: skip
            answer = self._get(peer, "/internal/events", query)
            found = answer.get("envelopes") if isinstance(answer, dict) else None
            if not isinstance(found, list):
                raise DeliveryError("peer answered events that are not a list")
            for data in found:
                try:
                    envelope = Envelope.from_dict(data)
                except BadRequest:  # a damaged copy there: another peer, or a later run
                    continue
                if envelope.id in wanted and envelope.key.startswith(
                    partition_prefix(source, hour)
                ):
                    stored += events.receive(envelope).created
        return stored

    def replay(self, start: datetime, end: datetime, source: str | None, peer: str | None) -> int:
        """Queue the stored events received from `start` to `end` (of one source, or all) for
        every peer, or one; returns how many events were queued."""
        peers = self._services.settings.peer_urls
        if peer is not None and peer not in peers:
            raise BadRequest("peer must be one of this member's peers (GET /peers)")
        self._signer()
        services = self._services
        inventory, outbox, now = Inventory(services.store()), services.outbox(), services.clock()
        queued = 0
        for hour in hours(start, end):
            for name in [source] if source else inventory.sources(hour):
                for data in inventory.envelopes(name, hour, inventory.ids(name, hour)):
                    envelope = Envelope.from_dict(data)
                    if start <= envelope.received_at <= end:
                        outbox.add((peer,) if peer else peers, envelope, now, due=now)
                        queued += 1
        return queued


MAX_SOURCES_PER_HOUR = 1000  # a peer's digest naming more is refused whole


def _digests(answer: Any, window: list[datetime]) -> dict[str, Any]:
    """A peer's digests, checked: only (source, hour) cells of the window asked for, at most
    MAX_SOURCES_PER_HOUR per hour, each `{"count": int, "digest": 64 hex}`. A peer cannot
    steer this member's requests or writes outside the window."""
    cells = answer.get("hours") if isinstance(answer, dict) else None
    if not isinstance(cells, dict) or len(cells) > MAX_SOURCES_PER_HOUR * len(window):
        raise DeliveryError("peer answered a digest that is not one")
    first, last = window[0], window[-1]
    for key, value in cells.items():
        _, hour = split_cell(key)
        count = value.get("count") if isinstance(value, dict) else None
        digest = value.get("digest") if isinstance(value, dict) else None
        valid = isinstance(count, int) and isinstance(digest, str) and len(digest) == 64
        if not (first <= hour <= last and valid):
            raise DeliveryError(f"peer answered a digest cell out of the window: {key[:80]!r}")
    return cells
