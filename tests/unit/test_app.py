"""The core app against an in-memory store and a fake clock: routes, errors, idempotency."""

from __future__ import annotations

import json

import pytest

from functions.core.errors import StorageError
from functions.core.http import Request
from functions.core.settings import Settings
from tests.conftest import Captured, CoreClient, MakeClient
from tests.support.fakes import MORNING, FailingOnceStore, FakeClock, MemoryBlobStore

HOUR_10 = "events/source=github/year=2026/month=11/day=23/hour=10/"


def error_of(body: dict) -> dict:
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "request_id"}, body
    return body["error"]


def test_health_reports_adapter_and_version_without_building_the_store(
    make_client: MakeClient,
) -> None:
    built: list[int] = []
    client = make_client(factory=lambda: built.append(1))
    status, body, headers = client.request("GET", "/health")
    assert status == 200
    assert body == {"status": "ok", "adapter": "local", "origin": "local", "version": "0.1.0"}
    assert headers["content-type"] == "application/json"
    assert built == []


def test_peers_lists_the_configured_urls_to_a_reader(make_client: MakeClient) -> None:
    settings = Settings(peer_urls=("https://a.example", "https://b.example"))
    status, body, _ = make_client(settings).request("GET", "/peers")
    assert (status, body) == (
        200,
        {
            "peer_count": 2,
            "peers": [
                {"url": "https://a.example", "pending": 0, "dead": 0},
                {"url": "https://b.example", "pending": 0, "dead": 0},
            ],
            "quarantined": 0,
            "reconcile": None,
        },
    )


def test_webhook_stores_an_envelope_under_the_hive_key(
    client: CoreClient, store: MemoryBlobStore, clock: FakeClock
) -> None:
    clock.now = MORNING  # the key and timestamp below are this instant's
    status, body, _ = client.webhook(
        "github", {"action": "opened"}, x_github_event="push", x_hub_signature_256="sha256=secret"
    )
    assert status == 201
    assert body["key"] == f"{HOUR_10}{body['id']}.json"
    assert body["duplicate"] is False
    stored = json.loads(store.objects[body["key"]])
    assert stored["id"] == body["id"]
    assert stored["source"] == "github"
    assert stored["received_at"] == "2026-11-23T10:59:59.500000Z"
    assert stored["origin"] == "local"
    assert stored["payload"] == {"action": "opened"}
    trace = stored["headers"].pop("traceparent")  # none was sent: a new trace (test_reconcile)
    assert trace.startswith("00-")
    assert stored["headers"] == {"content-type": "application/json", "x-github-event": "push"}


def test_webhook_ids_are_uuid7_in_time_order(client: CoreClient, clock: FakeClock) -> None:
    ids = []
    for _ in range(3):
        ids.append(client.webhook("s", {})[1]["id"])
        clock.advance(milliseconds=2)
    assert ids == sorted(ids)
    assert all(i[14] == "7" for i in ids)


@pytest.mark.parametrize(
    "path",
    [
        "/webhook/a/b",
        "/webhook/..",
        "/webhook/",
        "/webhook/" + "a" * 65,
        "/webhook/a b",
        "/webhook/caf\u00e9",
        "/webhook/a%2Fb",
        "/webhook/../../etc",
    ],
)
def test_webhook_rejects_a_bad_source_and_stores_nothing(
    client: CoreClient, store: MemoryBlobStore, path: str
) -> None:
    status, body, _ = client.request("POST", path, b"{}", {"content-type": "application/json"})
    assert status == 400
    assert error_of(body)["code"] == "bad_request"
    assert store.objects == {}


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("text/plain", b"{}", 415),
        (None, b"{}", 415),
        ("application/x-www-form-urlencoded", b"a=b", 415),
        ("application/json", b"{not json", 400),
        ("application/json", b"", 400),
        ("application/json", b'{"x": NaN}', 400),
        ("application/json", b'"\xff\xfe"', 400),
        ("application/json", b"x" * 101, 413),
    ],
)
def test_webhook_rejects_bad_bodies_and_stores_nothing(
    make_client: MakeClient,
    store: MemoryBlobStore,
    content_type: str | None,
    body: bytes,
    status: int,
) -> None:
    client = make_client(Settings(max_body_bytes=100))
    headers = {"content-type": content_type} if content_type else {}
    got, answer, _ = client.request("POST", "/webhook/s", body, headers)
    assert got == status
    error_of(answer)
    assert store.objects == {}


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "application/vnd.api+json", "APPLICATION/JSON"],
)
def test_webhook_accepts_json_media_types(client: CoreClient, content_type: str) -> None:
    status, _, _ = client.request("POST", "/webhook/s", b"[1, 2]", {"content-type": content_type})
    assert status == 201


def test_a_retried_delivery_is_stored_once_even_in_a_later_hour(
    client: CoreClient, store: MemoryBlobStore, clock: FakeClock
) -> None:
    # GIVEN a delivery at 10:59:59.5 and its retry one second later, in the next hour
    first = client.webhook("github", {"n": 1}, x_github_delivery="d-1")
    clock.advance(seconds=1)
    retry = client.webhook("github", {"n": 1}, x_github_delivery="d-1")
    # THEN the retry is told it is a duplicate and gets the first id and key back
    assert first[0] == 201
    assert retry[0] == 200
    assert retry[1]["duplicate"] is True
    assert (retry[1]["id"], retry[1]["key"]) == (first[1]["id"], first[1]["key"])
    assert [k for k in store.objects if k.startswith("events/")] == [first[1]["key"]]


@pytest.mark.parametrize("header", ["idempotency_key", "x_github_delivery", "webhook_id"])
def test_each_idempotency_header_deduplicates(client: CoreClient, header: str) -> None:
    a = client.webhook("s", {}, **{header: "k-1"})
    b = client.webhook("s", {}, **{header: "k-1"})
    assert (a[0], b[0]) == (201, 200)
    assert a[1]["id"] == b[1]["id"]


def test_the_same_idempotency_key_in_two_sources_is_two_events(client: CoreClient) -> None:
    a = client.webhook("one", {}, idempotency_key="k")
    b = client.webhook("two", {}, idempotency_key="k")
    assert (a[0], b[0]) == (201, 201)


def test_an_overlong_idempotency_key_is_rejected(
    client: CoreClient, store: MemoryBlobStore
) -> None:
    status, _body, _ = client.webhook("s", {}, idempotency_key="k" * 256)
    assert status == 400
    assert store.objects == {}


def test_a_delivery_that_failed_after_its_marker_is_stored_by_the_retry(
    make_client: MakeClient, logs: Captured
) -> None:
    # GIVEN a store that fails the first event write, after the idempotency marker was written
    store = FailingOnceStore("events/", StorageError("s3://bucket-x is gone"))
    client = make_client(factory=lambda: store)
    first = client.webhook("s", {"n": 1}, idempotency_key="k")
    # THEN the client is told to retry, with no storage detail in the body
    assert first[0] == 503
    assert "bucket-x" not in json.dumps(first[1])
    assert any("bucket-x" in line["message"] for line in logs.lines())
    # WHEN it retries, the event is stored, once, with the first attempt's id
    retry = client.webhook("s", {"n": 1}, idempotency_key="k")
    assert retry[0] == 200
    events = [k for k in store.objects if k.startswith("events/")]
    assert events == [retry[1]["key"]]
    assert json.loads(store.objects[events[0]])["payload"] == {"n": 1}


def envelope(**changes: object) -> dict:
    base = {
        "id": "01a205e8-45ee-710d-8d6d-e5388c610601",
        "source": "github",
        "received_at": "2026-11-23T09:15:00.000001Z",
        "origin": "aws",
        "idempotency_key": None,
        "headers": {"x-github-event": "push"},
        "payload": {"a": 1},
    }
    return {**base, **changes}


PEER_SECRET = "peer-secret-for-tests"


def post_envelope(client: CoreClient, data: object) -> tuple[int, dict, dict]:
    from datetime import UTC, datetime

    from functions.core.signing import PeerSigner

    body = json.dumps(data).encode()
    headers = PeerSigner(PEER_SECRET).headers("msg-1", body, datetime.now(UTC))
    return client.request("POST", "/internal/event", body, headers)


@pytest.fixture
def peer_client(make_client: MakeClient) -> CoreClient:
    return make_client(Settings(peer_secret=PEER_SECRET))


def test_internal_event_keeps_the_origin_key_and_id_once(
    peer_client: CoreClient, store: MemoryBlobStore
) -> None:
    first = post_envelope(peer_client, envelope())
    again = post_envelope(peer_client, envelope())
    key = (
        "events/source=github/year=2026/month=11/day=23/hour=09/"
        "01a205e8-45ee-710d-8d6d-e5388c610601.json"
    )
    assert (first[0], first[1]["key"], first[1]["duplicate"]) == (201, key, False)
    assert (again[0], again[1]["duplicate"]) == (200, True)
    assert json.loads(store.objects[key]) == envelope()


@pytest.mark.parametrize(
    "bad",
    [
        envelope(source="../x"),
        envelope(id="../../x"),
        envelope(id="01A205E8-45EE-710D-8D6D-E5388C610601"),
        envelope(received_at="2026-11-23T09:15:00"),
        envelope(received_at="yesterday"),
        envelope(origin="a/b"),
        envelope(headers={"a": 1}),
        {k: v for k, v in envelope().items() if k != "payload"},
        [envelope()],
    ],
)
def test_internal_event_rejects_a_malformed_envelope(
    peer_client: CoreClient, store: MemoryBlobStore, bad: object
) -> None:
    status, body, _ = post_envelope(peer_client, bad)
    assert status == 400, body
    assert store.objects == {}


def test_unknown_route_is_404_and_wrong_method_is_405_with_allow(client: CoreClient) -> None:
    status, body, _ = client.request("GET", "/nope")
    assert (status, error_of(body)["code"]) == (404, "not_found")
    status, body, headers = client.request("GET", "/webhook/github")
    assert (status, error_of(body)["code"], headers["allow"]) == (405, "method_not_allowed", "POST")


def test_an_unexpected_failure_is_a_generic_500_with_the_traceback_only_in_the_log(
    make_client: MakeClient, logs: Captured
) -> None:
    def broken() -> None:
        raise RuntimeError("secret detail")

    status, body, headers = make_client(factory=broken).webhook("s", {})
    error = error_of(body)
    assert (status, error["code"], error["message"]) == (500, "internal_error", "internal error")
    assert error["request_id"] == headers["x-request-id"]
    logged = [line for line in logs.lines() if line["message"] == "unhandled error"]
    assert "secret detail" in logged[0]["traceback"]
    assert logged[0]["request_id"] == error["request_id"]


def test_every_request_logs_one_json_line(client: CoreClient, logs: Captured) -> None:
    client.request("GET", "/health")
    client.webhook("s", {})
    lines = [line for line in logs.lines() if line["message"] == "request"]
    assert [(x["route"], x["status"]) for x in lines] == [
        ("/health", 200),
        ("/webhook/{source}", 201),
    ]
    assert all(x["duration_ms"] >= 0 and len(x["request_id"]) == 32 for x in lines)


def test_anyone_may_see_how_many_peers_there_are_but_not_which_or_their_backlog(
    make_client: MakeClient,
) -> None:
    client = make_client(Settings(peer_urls=("https://a.example",)))
    for auth in ("", "Bearer wrong", "Basic test-read-token"):
        status, body, _ = client.request("GET", "/peers", headers={"authorization": auth})
        assert (status, body) == (200, {"peer_count": 1}), auth


@pytest.mark.parametrize(
    "auth",
    ["", "Bearer", "Bearer wrong", "Basic test-read-token", "Bearer test-read-token-and-more"],
)
def test_reading_stored_events_needs_the_read_token(make_client: MakeClient, auth: str) -> None:
    client = make_client()
    client.webhook("github", {"secret": "customer data"})
    status, body, _ = client.request(
        "GET",
        "/query",
        headers={"authorization": auth},
        query={"source": "github", "date": "2026-11-23"},
    )
    assert (status, error_of(body)["code"]) == (401, "unauthorized")
    assert "customer data" not in json.dumps(body)


def test_a_deployment_without_a_read_token_serves_no_reads(make_client: MakeClient) -> None:
    from functions.core.app import App
    from functions.core.services import Services

    app = App(Services(Settings(), "local", lambda: MemoryBlobStore()))
    status, body, _ = CoreClient(app).request(
        "GET",
        "/query",
        query={"source": "github", "date": "2026-11-23"},
        headers={"authorization": "Bearer "},
    )
    assert status == 401
    assert "LAMBDA_READ_TOKEN is not set" in error_of(body)["message"]


def test_a_storage_failure_is_a_503_that_says_storage_is_unavailable_and_nothing_more(
    make_client: MakeClient,
) -> None:
    def unreachable() -> MemoryBlobStore:
        raise StorageError("put x in s3://secret-bucket-name failed: access denied")

    status, body, _ = make_client(factory=unreachable).webhook("s", {})
    error = error_of(body)
    assert (status, error["code"], error["message"]) == (
        503,
        "storage_unavailable",
        "storage is unavailable",
    )


def test_a_peer_event_where_no_peer_secret_is_configured_is_a_401_saying_so(
    client: CoreClient, store: MemoryBlobStore
) -> None:
    json_type = {"content-type": "application/json"}
    status, body, _ = client.request("POST", "/internal/event", b"{}", json_type)
    assert (status, error_of(body)["message"]) == (
        401,
        "peer signing is not configured here (LAMBDA_PEER_SECRET)",
    )
    assert store.objects == {}


def test_a_retry_run_without_peers_attempts_nothing(make_client: MakeClient) -> None:
    client = make_client(Settings(retry_token="tok"))
    status, body, _ = client.request(
        "POST", "/internal/outbox/retry", b"", {"authorization": "Bearer tok"}
    )
    assert (status, body) == (200, {"attempted": 0, "delivered": 0, "failed": 0, "dead": 0})


def test_a_compaction_run_logs_one_line_with_what_it_did(
    store: MemoryBlobStore, clock: FakeClock, logs: Captured
) -> None:
    from functions.core.app import App
    from functions.core.services import Services

    app = App(Services(Settings(read_token="r"), "local", lambda: store, clock, logs.logger))
    assert app.jobs.compact() == {"partitions": 0, "compacted": 0, "events": 0, "failed": 0}
    (line,) = [entry for entry in logs.lines() if entry["message"] == "compaction"]
    assert (line["level"], line["partitions"], line["compacted"]) == ("INFO", 0, 0)


@pytest.mark.parametrize("path", ["/health", "/peers", "/webhook/github"])
def test_head_carries_the_length_get_would_send_and_no_body(client: CoreClient, path: str) -> None:
    # RFC 9110 9.3.2 and 8.6: a HEAD response's Content-Length is the one GET would send.
    got = client.app.handle(Request("GET", path, headers={"authorization": "Bearer x"}))
    head = client.app.handle(Request("HEAD", path, headers={"authorization": "Bearer x"}))
    assert (head.status, head.body) == (got.status, b"")
    assert head.headers["content-length"] == str(len(got.body)) != "0"
