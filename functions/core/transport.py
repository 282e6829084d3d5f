"""Posting to a peer: the transport port, and its HTTP implementation that counts a delivery
only when the answer is the receiver's own acknowledgement, reads a few KiB of any answer at
most and ends each attempt at its deadline. See docs/peers.md (delivery)."""

from __future__ import annotations

import json
import time
from typing import Any, Protocol


class DeliveryError(Exception):
    pass


class Busy(DeliveryError):
    """Not sent: the peer's share of the sending threads is in flight (fanout.Bulkhead)."""


class Unreachable(DeliveryError):
    """The peer gave no answer (refused, reset, no whole answer by the deadline) or said it
    takes nothing now (429, 5xx): a verdict on the peer, not on the event, so a retry run
    leaves the peer's other records for a later run (docs/peers.md, retries)."""


class Late(Unreachable):
    """No whole answer by the deadline: against a deadline shorter than the retry job's own
    (the HTTP route's nudge), that says nothing about the peer (docs/peers.md, retries)."""


class Transport(Protocol):
    """Posts a signed body to a peer; raises `DeliveryError` unless the peer acknowledged."""

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> None: ...


ANSWER_LIMIT = 4096  # bytes of a peer's answer read at most: our acknowledgement is ~250


class HttpxTransport:
    """One pooled HTTP client per warm instance. A delivery counts only when the answer is
    the receiver's own acknowledgement: 200 or 201, JSON, naming the event id that was sent
    (the signed `webhook-id`), as `POST /internal/event` answers. A proxy's or parked
    domain's `200 text/html` is a failure, retried and in time dead-lettered. At most
    ANSWER_LIMIT bytes of any answer are read, and the whole attempt, answer included, ends
    by its deadline even when a peer drips its answer a byte at a time."""

    def __init__(self) -> None:
        import httpx  # imported when the first event fans out, not at cold start

        self._httpx = httpx
        self._client = httpx.Client(limits=httpx.Limits(max_connections=64))

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        try:
            with self._client.stream(
                "POST",
                url,
                content=body,
                headers={**headers, "accept-encoding": "identity"},
                timeout=timeout,
            ) as response:
                answer = read_answer(response, deadline, timeout)
                status, media_type = response.status_code, response.headers.get("content-type")
        except self._httpx.TimeoutException as exc:  # connect, read, write or pool timeout
            raise Late(f"{type(exc).__name__}: {exc}") from exc
        except self._httpx.TransportError as exc:  # refused, reset, protocol
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
        except self._httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        acknowledged(status, media_type, answer, headers.get("webhook-id"))


def read_answer(response: Any, deadline: float, timeout: float, limit: int = ANSWER_LIMIT) -> bytes:
    """Up to `limit` + 1 bytes (one more shows the answer is too long), by the deadline."""
    answer = bytearray()
    # Raw, as each piece arrives: iter_bytes(n) would wait for n bytes of a dripping answer,
    # and would inflate a compressed one whole (the request asks for none: identity).
    for chunk in response.iter_raw():
        answer += chunk
        if len(answer) > limit:
            break
        if time.monotonic() > deadline:
            raise Late(f"no whole answer within {timeout} s")
    return bytes(answer)


def acknowledged(status: int, media_type: str | None, answer: bytes, event_id: str | None) -> None:
    """Raises `DeliveryError` unless the answer is the receiver's acknowledgement of the event."""
    text = answer[:200].decode("utf-8", "replace")
    if status == 429 or status >= 500:  # busy or failing: says nothing about this event
        raise Unreachable(f"peer answered {status}: {text}")
    if status not in (200, 201):  # "stored" and "already stored"
        raise DeliveryError(f"peer answered {status}: {text}")
    kind = (media_type or "").split(";")[0].strip().lower()
    try:
        ack = json.loads(answer) if kind == "application/json" else None
    except ValueError:
        ack = None
    if not isinstance(ack, dict) or not isinstance(ack.get("key"), str):
        raise DeliveryError(
            f"peer answered {status} {kind or 'without a content type'}, not an acknowledgement"
            f" ({len(answer)} bytes read): {text[:80]!r}"
        )
    if event_id is not None and ack.get("id") != event_id:
        raise DeliveryError(f"peer acknowledged another event ({str(ack.get('id'))[:40]!r})")
