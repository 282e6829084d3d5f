"""The convergence loop of scripts/converge.py, with a fake in place of `pulumi up`."""

from __future__ import annotations

import pytest

from scripts.converge import converge

URLS = {"aws": "https://aws.example", "gcp": "https://gcp.example", "azure": "https://az.example"}


class FakeDeployments:
    """Each `up` deploys a stack, injecting the peers deployed so far (as StackReference does)."""

    def __init__(self) -> None:
        self.deployed: dict[str, str] = {}
        self.calls: list[str] = []

    def up(self, stack: str) -> dict[str, str]:
        self.calls.append(stack)
        peers = ",".join(url for s, url in self.deployed.items() if s != stack)
        self.deployed[stack] = URLS[stack]
        return {"base_url": URLS[stack], "peer_urls": peers}


def test_a_fresh_mesh_converges_on_the_second_pass() -> None:
    fake = FakeDeployments()
    assert converge(["aws", "gcp", "azure"], fake.up, log=lambda _: None) == 2
    assert fake.calls == ["aws", "gcp", "azure"] * 2


def test_an_already_converged_mesh_takes_one_pass() -> None:
    fake = FakeDeployments()
    fake.deployed = dict(URLS)
    assert converge(["aws", "gcp", "azure"], fake.up, log=lambda _: None) == 1


def test_a_mesh_that_never_converges_is_an_error() -> None:
    def stuck(stack: str) -> dict[str, str]:
        return {"base_url": URLS[stack], "peer_urls": ""}

    with pytest.raises(RuntimeError, match="did not converge"):
        converge(["aws", "gcp"], stuck, log=lambda _: None)
