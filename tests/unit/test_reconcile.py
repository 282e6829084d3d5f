"""Anti-entropy and replay between three members in one process: their routes called through a
loopback transport (the real signing, verification and acknowledgement check, no sockets),
each on its own store. The end-to-end version on the emulators is tests/e2e/test_reconcile.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.core.app import App
from functions.core.services import Services
from functions.core.settings import Settings
from tests.support.client import Captured, CoreClient
from tests.support.fakes import CountingStore, Elapsed, FakeClock
from tools.loopback import Loopback

SECRET = "whsec_" + "c2VjcmV0LWZvci1yZWNvbmNpbGU="
TOKEN = "jobs-token"
MEMBERS = {"a": "https://a.example", "b": "https://b.example", "c": "https://c.example"}
JOBS = {"authorization": f"Bearer {TOKEN}"}


class Mesh:
    def __init__(self) -> None:
        # Signatures carry the clock's time and receivers check it against the real time (5
        # minutes' tolerance, the Standard Webhooks library's): it stays near now.
        self.clock = FakeClock(datetime.now(UTC))
        self.net = Loopback()
        self.stores = {name: CountingStore() for name in MEMBERS}
        self.logs = Captured()
        self.clients: dict[str, CoreClient] = {}
        for name, url in MEMBERS.items():
            settings = Settings(
                origin=name,
                peer_urls=tuple(u for n, u in MEMBERS.items() if n != name),
                peer_secret=SECRET,
                retry_token=TOKEN,
                read_token="r",
                outbox_max_attempts=1,
                outbox_backoff_s=(1.0, 1.0),
            )
            services = Services(
                settings,
                "local",
                lambda name=name: self.stores[name],  # type: ignore[misc]
                self.clock,
                self.logs.logger,
                transport=lambda: self.net,
                reader=lambda: self.net,
            )
            app = App(services)
            self.net.apps[url] = app
            self.clients[name] = CoreClient(app)

    def ids_keys(self, name: str) -> list[str]:
        return [k for k in self.stores[name].objects if k.startswith("events/")]

    def ids(self, name: str) -> list[str]:
        keys = [k for k in self.stores[name].objects if k.startswith("events/")]
        return sorted(k.rsplit("/", 1)[-1].removesuffix(".json") for k in keys)

    def reconcile(self, name: str, days: int | None = None) -> dict[str, Any]:
        path = "/internal/reconcile" + (f"?days={days}" if days else "")
        query = {"days": [str(days)]} if days else None
        status, body, _ = self.clients[name].request(
            "POST", path.split("?")[0], headers=JOBS, query=query
        )
        assert status == 200, body
        return body  # type: ignore[no-any-return]


@pytest.fixture
def mesh() -> Mesh:
    return Mesh()


def send(mesh: Mesh, name: str, count: int, source: str = "github") -> list[str]:
    ids = []
    for n in range(count):
        status, body, _ = mesh.clients[name].webhook(source, {"n": n, "at": name})
        assert status == 201, body
        ids.append(body["id"])
    return ids


def test_one_run_on_each_member_heals_deleted_dead_lettered_and_missing_events(mesh: Mesh) -> None:
    # GIVEN events sent to every member, of two sources
    sent = send(mesh, "a", 12) + send(mesh, "b", 6, "stripe") + send(mesh, "c", 5)
    assert mesh.ids("a") == mesh.ids("b") == mesh.ids("c") == sorted(sent)
    # ... then at b three events deleted behind the service's back,
    gone = mesh.ids("b")[:3]
    for key in [k for k in mesh.stores["b"].objects if k.rsplit("/", 1)[-1][:-5] in gone]:
        del mesh.stores["b"].objects[key]
    # ... at a one delivery to c dead-lettered (c refused it and its one attempt is used up),
    mesh.net.down.add(MEMBERS["c"])
    late = send(mesh, "a", 1)
    mesh.clock.advance(seconds=2)
    mesh.clients["a"].app.jobs.retry()
    mesh.net.down.clear()
    assert any(k.startswith("outbox-dead/") for k in mesh.stores["a"].objects)
    # ... and c's store emptied, as a member that joins the mesh late starts
    mesh.stores["c"].objects.clear()
    # WHEN each member runs one reconcile
    reports = {name: mesh.reconcile(name) for name in MEMBERS}
    # THEN all three hold exactly the same ids, once each
    expected = sorted(sent + late)
    for name in MEMBERS:
        assert mesh.ids(name) == expected, name
    assert reports["a"]["peers"][MEMBERS["c"]]["queued"] == len(expected)  # c had none
    assert reports["b"]["peers"][MEMBERS["c"]]["queued"] == 0  # a refilled c first
    assert reports["c"]["peers"][MEMBERS["a"]]["pulled"] == 0  # a's run had refilled it
    # ... and the dead letter, now moot, is gone: `dead` counts only what is still owed
    assert not any(k.startswith("outbox-dead/") for k in mesh.stores["a"].objects)
    assert reports["a"]["peers"][MEMBERS["c"]]["dead_cleared"] == 1
    # AND a second run on each repairs nothing and says the mesh agrees
    for name in MEMBERS:
        report = mesh.reconcile(name)
        for peer in report["peers"].values():
            assert (peer["reachable"], peer["different"], peer["queued"]) == (True, 0, 0), name


def test_an_in_sync_run_costs_a_request_per_peer_and_day_and_no_event_reads(mesh: Mesh) -> None:
    send(mesh, "a", 40)
    mesh.reconcile("a")
    mesh.net.requests.clear()
    store = mesh.stores["a"]
    store.reset()
    report = mesh.reconcile("a", days=7)
    # A signed GET per peer and day of the 169 hours (8), none for any event or hour
    assert sorted(mesh.net.requests.items()) == sorted(
        ((url, "GET", "/internal/digest"), 8) for n, url in MEMBERS.items() if n != "a"
    )
    # The store: listings (the hour index, each hour's events), no event read, and besides
    # the job's lease (functions/core/lease.py) one write: the run's report
    calls = [(call, key) for call, key in store.calls if not key.startswith("leases/")]
    assert calls == [("put", "status/reconcile.json")]
    assert report["cells"] == 1


def test_a_peer_that_is_down_is_reported_and_the_others_still_reconciled(mesh: Mesh) -> None:
    send(mesh, "a", 3)
    mesh.stores["b"].objects.clear()
    mesh.net.down.add(MEMBERS["c"])
    report = mesh.reconcile("a")
    assert report["peers"][MEMBERS["c"]]["reachable"] is False
    assert "refused" in report["peers"][MEMBERS["c"]]["error"]
    assert report["peers"][MEMBERS["b"]]["queued"] == 3
    assert mesh.ids("b") == mesh.ids("a")


def test_a_backfill_reaches_events_older_than_the_default_window(mesh: Mesh) -> None:
    # GIVEN two events a received 30 days ago and 40 hours ago that b never got (it was not a
    # peer yet: its deliveries failed and their records are gone)
    now = mesh.clock.now
    mesh.net.down.add(MEMBERS["b"])
    mesh.clock.now = now - timedelta(days=30)
    old = send(mesh, "a", 1)
    mesh.clock.now = now - timedelta(hours=40)
    old += send(mesh, "a", 1)
    mesh.clock.now = now
    for key in [k for k in mesh.stores["a"].objects if k.startswith("outbox/")]:
        del mesh.stores["a"].objects[key]
    mesh.net.down.clear()
    mesh.stores["b"].objects.clear()
    # WHEN a reconciles over the default 7 days, then over 31
    first = mesh.reconcile("a")["peers"][MEMBERS["b"]]
    second = mesh.reconcile("a", days=31)["peers"][MEMBERS["b"]]
    # THEN only the backfill reaches the older event, across the two hours that differ
    assert (first["queued"], second["queued"]) == (1, 1)
    assert second["different"] == 1
    assert mesh.ids("b") == sorted(old)


def test_replay_requeues_a_range_and_replaying_twice_changes_nothing(mesh: Mesh) -> None:
    start = mesh.clock()
    sent = send(mesh, "a", 4) + send(mesh, "a", 2, "stripe")
    end = mesh.clock() + timedelta(seconds=1)
    mesh.stores["b"].objects.clear()
    body = json.dumps({"from": start.isoformat(), "to": end.isoformat(), "source": "github"})
    for _ in range(2):
        status, answer, _ = mesh.clients["a"].request(
            "POST", "/internal/replay", body.encode(), {**JOBS, "content-type": "application/json"}
        )
        assert (status, answer) == (200, {"queued": 4})
        mesh.clock.advance(seconds=1)
        mesh.clients["a"].app.jobs.retry()
        assert mesh.ids("b") == sorted(sent[:4])
    assert mesh.ids("c") == sorted(sent)  # had them all: the replay stored nothing twice


def test_replay_to_one_peer_only(mesh: Mesh) -> None:
    start = mesh.clock()
    send(mesh, "a", 3)
    mesh.stores["b"].objects.clear()
    mesh.stores["c"].objects.clear()
    body = {"from": start.isoformat(), "to": (mesh.clock() + timedelta(seconds=1)).isoformat()}
    body["peer"] = MEMBERS["c"]
    status, answer, _ = mesh.clients["a"].request(
        "POST",
        "/internal/replay",
        json.dumps(body).encode(),
        {**JOBS, "content-type": "application/json"},
    )
    assert (status, answer) == (200, {"queued": 3})
    mesh.clients["a"].app.jobs.retry()
    assert (len(mesh.ids("b")), len(mesh.ids("c"))) == (0, 3)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"to": "2026-12-03T00:00:00Z"}, "from"),
        ({"from": "yesterday", "to": "2026-12-03T00:00:00Z"}, "from must be"),
        ({"from": "2026-12-03T00:00:00", "to": "2026-12-03T01:00:00Z"}, "zone"),
        ({"from": "2026-12-03T02:00:00Z", "to": "2026-12-03T01:00:00Z"}, "forwards"),
        (
            {"from": "2026-12-03T00:00:00Z", "to": "2026-12-03T01:00:00Z", "peer": "https://x"},
            "peer",
        ),
        (
            {"from": "2026-12-03T00:00:00Z", "to": "2026-12-03T01:00:00Z", "source": "../x"},
            "source",
        ),
    ],
)
def test_a_bad_replay_is_a_400_naming_what_is_wrong(mesh: Mesh, body: Any, why: str) -> None:
    status, answer, _ = mesh.clients["a"].request(
        "POST",
        "/internal/replay",
        json.dumps(body).encode(),
        {**JOBS, "content-type": "application/json"},
    )
    assert status == 400, answer
    assert why in answer["error"]["message"]


def test_the_anti_entropy_routes_refuse_unsigned_and_unauthorised_callers(mesh: Mesh) -> None:
    client = mesh.clients["a"]
    query = {"from": "2026-12-03T00", "to": "2026-12-03T01"}
    assert client.request("GET", "/internal/digest", query=query)[0] == 401
    assert (
        client.request("GET", "/internal/ids", query={"source": "s", "hour": "2026-12-03T00"})[0]
        == 401
    )
    assert client.request("POST", "/internal/reconcile")[0] == 401
    assert (
        client.request("POST", "/internal/replay", b"{}", {"content-type": "application/json"})[0]
        == 401
    )


def test_a_signed_get_cannot_be_replayed_for_another_window(mesh: Mesh) -> None:
    from functions.core.peer_reads import canonical
    from functions.core.signing import PeerSigner

    signed = {"from": ("2026-12-03T00",), "to": ("2026-12-03T01",)}
    headers = PeerSigner(SECRET).headers("m1", canonical("/internal/digest", signed), mesh.clock())
    wider = {"from": "2020-01-01T00", "to": "2026-12-03T01"}
    status, _, _ = mesh.clients["a"].request(
        "GET", "/internal/digest", headers=headers, query=wider
    )
    assert status == 401


def test_one_event_is_found_by_its_id_with_its_delivery_state_at_the_origin(mesh: Mesh) -> None:
    mesh.net.down.add(MEMBERS["c"])
    (event_id,) = send(mesh, "a", 1)
    status, answer, _ = mesh.clients["a"].request("GET", "/query", query={"id": event_id})
    assert (status, answer["count"], answer["rows"][0]["id"]) == (200, 1, event_id)
    assert answer["delivery"] == {MEMBERS["b"]: "delivered", MEMBERS["c"]: "pending"}
    status, answer, _ = mesh.clients["b"].request("GET", "/query", query={"id": event_id})
    assert (answer["count"], "delivery" in answer) == (1, False)  # b is not its origin
    status, answer, _ = mesh.clients["c"].request("GET", "/query", query={"id": event_id})
    assert answer["count"] == 0
    status, answer, _ = mesh.clients["a"].request("GET", "/query", query={"id": "not-a-uuid"})
    assert status == 400


def test_the_readers_peers_answer_shows_the_last_reconcile(mesh: Mesh) -> None:
    send(mesh, "a", 1)
    assert mesh.clients["a"].request("GET", "/peers")[1]["reconcile"] is None
    mesh.reconcile("a")
    last = mesh.clients["a"].request("GET", "/peers")[1]["reconcile"]
    assert set(last["peers"]) == {MEMBERS["b"], MEMBERS["c"]}
    assert last["cells"] == 1


TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"  # W3C Trace Context's example


def test_one_event_is_followed_through_every_members_logs_by_its_trace_id(mesh: Mesh) -> None:
    # GIVEN a webhook sent with a W3C traceparent, and one peer that refuses deliveries
    mesh.net.down.add(MEMBERS["c"])
    status, body, headers = mesh.clients["a"].webhook("s", {"n": 1}, traceparent=TRACE)
    assert status == 201
    trace_id = TRACE.split("-")[1]
    # THEN the event keeps its trace context, and the answer names it
    stored = json.loads(mesh.stores["b"].objects[body["key"]])
    assert stored["headers"]["traceparent"] == TRACE
    assert headers["traceresponse"] == TRACE
    # AND the origin's request line, the peer's /internal/event line and the failed delivery's
    # warning all carry its trace id
    lines = [line for line in mesh.logs.lines() if line.get("trace_id") == trace_id]
    routes = {(line["message"], line.get("route")) for line in lines}
    assert ("request", "/webhook/{source}") in routes
    assert ("request", "/internal/event") in routes
    assert ("peer delivery failed", None) in routes
    # AND a repair carries it on too
    mesh.net.down.clear()
    mesh.reconcile("a")
    events = [line for line in lines if line.get("route") == "/internal/event"]
    later = [
        line
        for line in mesh.logs.lines()
        if line.get("route") == "/internal/event" and line.get("trace_id") == trace_id
    ]
    assert len(later) == len(events) + 1


@pytest.mark.parametrize(
    "inbound",
    [None, "", "garbage", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", TRACE.replace("-01", "")],
)
def test_a_missing_or_invalid_traceparent_gets_a_new_trace(mesh: Mesh, inbound: str | None) -> None:
    from functions.core.events import trace_id_of

    headers = {} if inbound is None else {"traceparent": inbound}
    status, body, answer = mesh.clients["a"].webhook("s", {"n": 1}, **headers)
    assert status == 201
    stored = json.loads(mesh.stores["a"].objects[body["key"]])["headers"]["traceparent"]
    assert trace_id_of(stored) is not None
    assert stored != inbound
    assert answer["traceresponse"] == stored


def test_a_member_that_joins_late_gets_the_history_on_its_own_first_run(mesh: Mesh) -> None:
    # GIVEN a mesh whose third member starts with an empty store
    sent = send(mesh, "a", 60) + send(mesh, "b", 7, "stripe")
    mesh.stores["c"].objects.clear()
    # WHEN only that member runs a reconcile
    report = mesh.reconcile("c")
    # THEN it fetched every event from its peers (in batches of 50 ids), each once
    assert mesh.ids("c") == sorted(sent)
    assert sum(peer["pulled"] for peer in report["peers"].values()) == len(sent)
    batches = mesh.net.requests[(MEMBERS["a"], "GET", "/internal/events")]
    assert batches == 3  # 60 github ids in two batches, 7 stripe ids in one
    # AND the next run of every member finds the mesh in agreement
    for name in MEMBERS:
        for peer in mesh.reconcile(name)["peers"].values():
            assert (peer["different"], peer["queued"], peer["pulled"]) == (0, 0, 0)


def test_a_peer_cannot_slip_other_events_into_a_pull(mesh: Mesh) -> None:
    # GIVEN a peer that answers a pull with an event of another hour besides the one asked for
    (wanted,) = send(mesh, "a", 1)
    mesh.stores["c"].objects.clear()
    stranger = envelope_of(mesh, "a", wanted)
    stranger.update(id="01a0aaaa-0000-7000-8000-000000000000", received_at="2026-01-01T00:00:00Z")
    honest = mesh.net.get

    def lying(url: str, headers: dict[str, str], timeout: float) -> Any:
        answer = honest(url, headers, timeout)
        if "/internal/events" in url:
            answer["envelopes"].append(stranger)
        return answer

    mesh.net.get = lying  # type: ignore[method-assign]
    mesh.reconcile("c")
    # THEN c stored what it asked for, and nothing else
    assert mesh.ids("c") == [wanted]


def envelope_of(mesh: Mesh, name: str, event_id: str) -> dict[str, Any]:
    (key,) = [k for k in mesh.stores[name].objects if k.endswith(f"/{event_id}.json")]
    return json.loads(mesh.stores[name].objects[key])  # type: ignore[no-any-return]


def test_an_event_set_aside_as_damaged_is_fetched_again_from_a_peer(mesh: Mesh) -> None:
    # GIVEN an event whose stored copy at a is damaged (truncated), found by a query
    (event_id,) = send(mesh, "a", 1)
    (key,) = [k for k in mesh.stores["a"].objects if k.endswith(f"/{event_id}.json")]
    good = mesh.stores["a"].objects[key]
    mesh.stores["a"].objects[key] = good[: len(good) // 2]
    day = mesh.clock().date().isoformat()
    status, _, _ = mesh.clients["a"].request(
        "GET", "/query", query={"source": "github", "date": day}
    )
    assert status == 200
    assert key not in mesh.stores["a"].objects  # set aside
    # WHEN a reconciles
    report = mesh.reconcile("a")
    # THEN it holds a good copy again, fetched from a peer, and the damage stays set aside
    assert mesh.stores["a"].objects[key] == good
    assert sum(peer["pulled"] for peer in report["peers"].values()) == 1
    assert mesh.clients["a"].request("GET", "/peers")[1]["quarantined"] == 1


def test_a_dead_letter_holding_the_last_copy_of_an_event_is_never_dropped(mesh: Mesh) -> None:
    # GIVEN an event whose deliveries to b and c were both dead-lettered, and whose copy at its
    # origin a was then lost (a bucket restored from an older backup), in an hour where the
    # members otherwise agree
    send(mesh, "a", 3)
    mesh.net.down.update({MEMBERS["b"], MEMBERS["c"]})
    (lost,) = send(mesh, "a", 1)
    mesh.clock.advance(seconds=2)
    mesh.clients["a"].app.jobs.retry()
    mesh.net.down.clear()
    (key,) = [k for k in mesh.ids_keys("a") if k.endswith(f"/{lost}.json")]
    del mesh.stores["a"].objects[key]
    assert sum(k.startswith("outbox-dead/") for k in mesh.stores["a"].objects) == 2
    # WHEN a reconciles (the hour agrees everywhere: the event is nowhere but in the letters)
    mesh.reconcile("a")
    # THEN the event is back at a and delivered to b and c, and no letter was dropped unread
    for name in MEMBERS:
        assert lost in mesh.ids(name), name


def test_one_hour_that_fails_does_not_stop_the_others(mesh: Mesh) -> None:
    # GIVEN b lacking events of two sources, and an id list for one of them that is garbage
    send(mesh, "a", 2)
    send(mesh, "a", 2, "stripe")
    mesh.stores["b"].objects.clear()
    honest = mesh.net.get

    def broken(url: str, headers: dict[str, str], timeout: float) -> Any:
        answer = honest(url, headers, timeout)
        if "/internal/ids" in url and "source=stripe" in url:
            return {"ids": ["not-an-id"]}
        return answer

    mesh.net.get = broken  # type: ignore[method-assign]
    report = mesh.reconcile("a")["peers"][MEMBERS["b"]]
    # THEN the github hour was repaired and the stripe hour is reported, not the whole peer
    assert (report["reachable"], report["queued"], report["still_different"]) == (True, 2, 1)
    assert list(report["failed"]) == [k for k in report["sample"] if k.startswith("stripe/")]


def test_a_digest_naming_hours_outside_the_window_is_refused(mesh: Mesh) -> None:
    send(mesh, "a", 1)
    honest = mesh.net.get

    def crafted(url: str, headers: dict[str, str], timeout: float) -> Any:
        answer = honest(url, headers, timeout)
        if "/internal/digest" in url:
            answer["hours"].update(
                {f"s/2001-01-01T{h:02d}": {"count": 1, "digest": "0" * 64} for h in range(24)}
            )
        return answer

    mesh.net.get = crafted  # type: ignore[method-assign]
    mesh.net.requests.clear()
    report = mesh.reconcile("a")["peers"][MEMBERS["b"]]
    assert report["reachable"] is False
    assert "out of the window" in report["error"]
    assert mesh.net.requests[(MEMBERS["b"], "GET", "/internal/ids")] == 0


def test_a_member_without_peers_has_an_idle_run_not_an_error() -> None:
    from tests.support.fakes import MemoryBlobStore

    app = App(Services(Settings(retry_token=TOKEN), "local", MemoryBlobStore))
    status, body, _ = CoreClient(app).request("POST", "/internal/reconcile", headers=JOBS)
    assert (status, body["peers"]) == (200, {})


def test_an_in_sync_run_reads_no_dead_letter_outside_its_window(mesh: Mesh) -> None:
    # GIVEN 20 old dead letters (a month ago: out of the 7-day window) and a mesh in sync
    from functions.core.events import Envelope, uuid7
    from functions.core.outbox import Attempts

    outbox = mesh.clients["a"].app.services.outbox()
    old = mesh.clock() - timedelta(days=30)
    for n in range(20):
        envelope = Envelope(uuid7(old), "s", old, "a", {"n": n})
        outbox._dead_letter(MEMBERS["b"], envelope, Attempts(12, "refused"))
    send(mesh, "a", 2)
    mesh.reconcile("a")
    mesh.stores["a"].reset()
    mesh.reconcile("a")
    assert not [k for c, k in mesh.stores["a"].calls if c == "get" and k.startswith("outbox-dead/")]


def test_a_busy_hours_ids_come_a_page_at_a_time(
    mesh: Mesh, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.core import mesh_routes

    monkeypatch.setattr(mesh_routes, "IDS_PAGE", 3)  # 10 ids: pages of 3, 3, 3, 1
    sent = send(mesh, "a", 10)
    mesh.stores["b"].objects.clear()
    report = mesh.reconcile("b")
    assert mesh.ids("b") == sorted(sent)
    assert mesh.net.requests[(MEMBERS["a"], "GET", "/internal/ids")] == 4
    assert report["peers"][MEMBERS["a"]]["pulled"] == 10


@pytest.mark.parametrize(("elapsed", "delivered"), [(500.0, 3), (890.0, 0)])
def test_the_repairs_go_out_in_what_is_left_of_the_reconcile_jobs_time(
    mesh: Mesh, elapsed: float, delivered: int
) -> None:
    # GIVEN member a, whose reconcile comparisons take `elapsed` of its 900 s job time
    settings = mesh.clients["a"].app.services.settings
    services = Services(
        settings,
        "local",
        lambda: mesh.stores["a"],
        mesh.clock,
        mesh.logs.logger,
        transport=lambda: mesh.net,
        reader=lambda: mesh.net,
        monotonic=Elapsed(elapsed),
    )
    mesh.net.apps[MEMBERS["a"]] = App(services)
    mesh.clients["a"] = CoreClient(mesh.net.apps[MEMBERS["a"]])
    # AND three events c lacks
    send(mesh, "a", 3)
    mesh.stores["c"].objects.clear()
    # WHEN a reconciles, THEN its repairs go out in the same run while there is time left for
    # them (400 s), and none starts when what is left (10 s) is less than one retry deadline
    report = mesh.reconcile("a")
    assert report["peers"][MEMBERS["c"]]["queued"] == 3
    assert report["delivery"]["delivered"] == delivered
    assert report["delivery"].get("deferred", 0) == 3 - delivered
