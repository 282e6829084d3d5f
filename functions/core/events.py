"""The event model: sources, ids, trace context, the stored envelope and where it lives
(docs/architecture.md)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from typing import Any, NamedTuple

from functions.core.errors import BadRequest

SOURCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
ORIGIN_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EVENTS_PREFIX = "events/"
IDEMPOTENCY_PREFIX = "idempotency/"

# Delivery headers worth keeping with the event: what identifies and types a delivery. Signatures
# and auth headers are deliberately left out (they are secrets or useless once verified).
KEPT_HEADERS = (
    "content-type",
    "traceparent",  # W3C trace context: the event's, carried by every delivery and repair
    "user-agent",
    "idempotency-key",
    "webhook-id",
    "webhook-timestamp",
    "x-github-delivery",
    "x-github-event",
    "x-github-hook-id",
    "x-request-id",
)
IDEMPOTENCY_HEADERS = ("idempotency-key", "x-github-delivery", "webhook-id")
MAX_IDEMPOTENCY_KEY = 255


def validate_source(source: str) -> str:
    """A source is a short slug; anything else could escape the `events/source=` prefix."""
    if not SOURCE_PATTERN.fullmatch(source):
        raise BadRequest("source must be 1 to 64 characters of letters, digits, '-' or '_'")
    return source


def uuid7(now: datetime) -> str:
    """A UUIDv7 (RFC 9562) whose 48-bit millisecond timestamp is `now`.

    Written here rather than taken from a library because ids must follow the injected clock
    (tests pin time) and the stdlib gains uuid7 only in Python 3.14; formatted by hand to keep
    `uuid` and `secrets` (~10 ms of imports) out of the cold start.
    """
    millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10)) >> 6  # 74 random bits
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62)
    value |= rand & ((1 << 62) - 1)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def format_time(moment: datetime) -> str:
    # isoformat, not strftime: on the path of every webhook, and several times faster
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[: -len("+00:00")] + "Z"


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("timestamp has no time zone")
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:  # in range as written, out of range in UTC (year 1 at +01:00)
        raise ValueError("timestamp is out of range in UTC") from exc


def partition_prefix(source: str, moment: datetime, *, hour: bool = True) -> str:
    # The fields, not strftime (`{moment:%Y}`): this runs on every webhook and is ten times faster
    day = (
        f"{EVENTS_PREFIX}source={source}/"
        f"year={moment.year:04d}/month={moment.month:02d}/day={moment.day:02d}/"
    )
    return f"{day}hour={moment.hour:02d}/" if hour else day


class Envelope(NamedTuple):
    """What is stored for one event; its key follows from its source, time and id."""

    id: str
    source: str
    received_at: datetime
    origin: str
    payload: Any
    headers: dict[str, str] = {}  # noqa: RUF012 - never mutated
    idempotency_key: str | None = None

    @property
    def key(self) -> str:
        return f"{partition_prefix(self.source, self.received_at)}{self.id}.json"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "received_at": format_time(self.received_at),
            "origin": self.origin,
            "idempotency_key": self.idempotency_key,
            "headers": self.headers,
            "payload": self.payload,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Envelope:
        """Validate an envelope that came from elsewhere (a peer): every field that makes the
        key is checked, so a peer cannot write outside `events/`."""
        if not isinstance(data, dict):
            raise BadRequest("envelope must be a JSON object")
        try:
            event_id = data["id"]
            received_at = parse_time(str(data["received_at"]))
            source, origin, payload = data["source"], data["origin"], data["payload"]
        except KeyError as exc:
            raise BadRequest(f"envelope is missing {exc.args[0]!r}") from exc
        except ValueError as exc:
            raise BadRequest(f"envelope has an invalid received_at: {exc}") from exc
        if not isinstance(event_id, str) or not UUID_PATTERN.fullmatch(event_id):
            raise BadRequest("envelope id must be a lower-case canonical UUID")
        headers = data.get("headers") or {}
        idem = data.get("idempotency_key")
        _check_envelope_fields(source, origin, headers, idem)
        return cls(event_id, source, received_at, origin, payload, dict(headers), idem)


def _check_envelope_fields(source: Any, origin: Any, headers: Any, idem: Any) -> None:
    if not isinstance(source, str):
        raise BadRequest("envelope source must be a string")
    validate_source(source)
    if not isinstance(origin, str) or not ORIGIN_PATTERN.fullmatch(origin):
        raise BadRequest("envelope origin must be a short name")
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise BadRequest("envelope headers must map strings to strings")
    if idem is not None and not isinstance(idem, str):
        raise BadRequest("envelope idempotency_key must be a string or null")


def idempotency_key_of(headers: dict[str, str]) -> str | None:
    """The delivery's own idempotency key, from the first header that carries one."""
    for name in IDEMPOTENCY_HEADERS:
        value = headers.get(name, "").strip()
        if value:
            if len(value) > MAX_IDEMPOTENCY_KEY:
                raise BadRequest(f"{name} must be at most {MAX_IDEMPOTENCY_KEY} characters")
            return value
    return None


TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a valid W3C `traceparent` (version 00; all-zero ids are invalid)."""
    found = TRACEPARENT.fullmatch(traceparent or "")
    if found is None or found[1] == "0" * 32 or found[2] == "0" * 16:
        return None
    return found[1]


def traceparent(inbound: str | None) -> str:
    """The inbound trace context when valid, else a new one (W3C Trace Context, section 3.2)."""
    if inbound is not None and trace_id_of(inbound.strip().lower()):
        return inbound.strip().lower()
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


def child_of(parent: str) -> str:
    """The same trace, a new span: what a delivery or a repair sends on."""
    trace = trace_id_of(parent) or os.urandom(16).hex()
    return f"00-{trace}-{os.urandom(8).hex()}-01"


def kept_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: headers[name] for name in KEPT_HEADERS if name in headers}
