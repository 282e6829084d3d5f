"""The mesh heals itself, on the local three-cloud mesh (the real entry points on moto,
fake-gcs-server and Azurite): events deleted behind one member's back, a delivery
dead-lettered at another and a third member restarted on an empty store are all repaired by
one reconcile run on each member; a second run repairs nothing; replay and the status view
work on the same mesh. See docs/peers.md (anti-entropy)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from scripts.members import Member
from scripts.mesh import CLOUDS, Mesh
from scripts.status import event_status, member_status
from tests.support.waiting import wait_for

SENT_PER_MEMBER = 8


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    mesh = Mesh(
        tmp_path_factory.mktemp("reconcile"),
        backoff="0.2,1",
        schedule=0.3,
        # Few attempts: a refused delivery is dead-lettered within seconds; a slow one on a
        # busy machine is still retried until it lands.
        extra_env={"LAMBDA_OUTBOX_MAX_ATTEMPTS": "8"},
    )
    try:
        yield mesh.start()
    finally:
        mesh.stop()


def ids(mesh: Mesh, cloud: str) -> Counter[str]:
    """Each stored event id, with how many keys hold it (a duplicate would count twice)."""
    keys = mesh.store(cloud).list("events/")
    return Counter(key.rsplit("/", 1)[-1].removesuffix(".json") for key in keys)


def send(mesh: Mesh, cloud: str, n: int) -> list[str]:
    sent = []
    for i in range(n):
        response = httpx.post(
            f"{mesh.members[cloud].url}/webhook/orders", json={"n": i, "at": cloud}, timeout=30
        )
        assert response.status_code == 201, response.text
        sent.append(response.json()["id"])
    return sent


def reconcile(mesh: Mesh, cloud: str) -> dict[str, Any]:
    response = httpx.post(
        f"{mesh.members[cloud].url}/internal/reconcile",
        headers={"authorization": f"Bearer {mesh.token}"},
        timeout=300,
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def members(mesh: Mesh) -> list[Member]:
    return [Member(n, m.url, mesh.read_token, mesh.token) for n, m in mesh.members.items()]


def test_one_reconcile_run_per_member_makes_every_member_hold_every_event_once(
    mesh: Mesh,
) -> None:
    # GIVEN events sent to every member and delivered everywhere (beside whatever the module's
    # other test stored first: tests run in any order)
    earlier = set(ids(mesh, "aws"))
    sent = [event for cloud in CLOUDS for event in send(mesh, cloud, SENT_PER_MEMBER)]
    everywhere = lambda: all(set(ids(mesh, c)) == earlier | set(sent) for c in CLOUDS)  # noqa: E731
    assert wait_for(everywhere, 120), "the deliveries did not settle"
    # ... then at aws three events deleted behind the service's back,
    aws = mesh.store("aws")
    removed = [k for k in aws.list("events/") if k.rsplit("/", 1)[-1][:-5] in sent[-3:]]
    for key in removed:
        aws.delete(key)
    # ... at gcp a delivery to azure dead-lettered (azure down, one attempt allowed),
    mesh.stop_member("azure")
    sent += send(mesh, "gcp", 1)
    assert wait_for(lambda: any(True for _ in mesh.store("gcp").list("outbox-dead/")), 120)
    # ... and azure restarted on an empty store, as a member that joins late
    azure = mesh.store("azure")
    for key in list(azure.list("")):
        azure.delete(key)
    mesh.start_member("azure")
    assert ids(mesh, "azure") == Counter()
    # WHEN each member runs one reconcile
    reports = {cloud: reconcile(mesh, cloud) for cloud in CLOUDS}
    # THEN all three hold exactly the same ids, each once
    for cloud in CLOUDS:
        assert ids(mesh, cloud) == Counter(dict.fromkeys(earlier | set(sent), 1)), cloud
    repaired = sum(p["queued"] + p["pulled"] for r in reports.values() for p in r["peers"].values())
    # aws's three and all of azure's, sent or fetched
    assert repaired >= len(removed) + len(sent) + len(earlier)
    # AND a second run on each repairs nothing
    for cloud in CLOUDS:
        for peer in reconcile(mesh, cloud)["peers"].values():
            assert (peer["reachable"], peer["different"], peer["queued"]) == (True, 0, 0)
    # AND the status view shows every member reachable, in agreement
    rows = [member_status(httpx.Client(timeout=30), m) for m in members(mesh)]
    assert [row["reachable"] for row in rows] == [True] * 3
    assert all(set(row["hours_different"].values()) == {0} for row in rows)
    assert all(row["last_reconcile"] for row in rows)
    # AND one event is found at every member, delivered from its origin
    found = event_status(httpx.Client(timeout=30), members(mesh), sent[0])
    assert {name: entry["stored"] for name, entry in found["members"].items()} == {
        "aws": True, "gcp": True, "azure": True
    }  # fmt: skip
    assert set(found["members"]["aws"]["delivery"].values()) == {"delivered"}


def test_replay_restores_what_a_receiver_lost_and_twice_stores_nothing_twice(mesh: Mesh) -> None:
    # GIVEN three events delivered everywhere, one of which gcp then lost
    start = datetime.now(UTC) - timedelta(seconds=1)
    sent = send(mesh, "aws", 3)
    assert wait_for(lambda: all(set(sent) <= set(ids(mesh, c)) for c in CLOUDS))
    before = {cloud: ids(mesh, cloud) for cloud in CLOUDS}
    gcp = mesh.store("gcp")
    (lost,) = [k for k in gcp.list("events/") if k.endswith(f"/{sent[1]}.json")]
    gcp.delete(lost)
    body = {"from": start.isoformat(), "to": datetime.now(UTC).isoformat(), "source": "orders"}
    for _ in range(2):
        # WHEN aws replays the range (twice)
        response = httpx.post(
            f"{mesh.members['aws'].url}/internal/replay",
            json=body,
            headers={"authorization": f"Bearer {mesh.token}"},
            timeout=60,
        )
        assert (response.status_code, response.json()) == (200, {"queued": 3})
        # THEN the retry schedule (every 0.3 s here) delivers them: gcp has its event back
        assert wait_for(lambda: ids(mesh, "gcp") == before["gcp"])
        assert wait_for(lambda: not any(True for _ in mesh.store("aws").list("outbox/")))
    # AND no receiver holds anything twice, and no delivery was dead-lettered
    assert {cloud: ids(mesh, cloud) for cloud in CLOUDS} == before
    assert not any(True for _ in mesh.store("aws").list("outbox-dead/"))
