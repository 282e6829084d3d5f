"""Load on several servers in turns: every setup at every level, round after round (not one
setup's runs back to back), so that a disk, neighbour or host that slows down for a while slows
every setup of a round alike and the ratios between setups hold. The ingest bench and
`bench.compare` both measure this way."""

from __future__ import annotations

from typing import Any

from bench import cpu, fanout, wrk
from tools.processes import Server

Samples = dict[tuple[str, int], list[dict[str, Any]]]


def generate(url: str, concurrency: int, seconds: float) -> dict[str, Any]:
    """wrk (compiled, not the bottleneck) when installed; else the Python generator."""
    if wrk.available():
        return wrk.load(url, concurrency, seconds)
    return {**fanout.load(url, concurrency, seconds), "generator": "python (bench/load.py)"}


def interleaved(
    servers: dict[str, Server], levels: tuple[int, ...], seconds: float, runs: int
) -> Samples:
    """(setup, clients) -> one sample per round, in round order, each with the CPU the
    server's processes, the generator and the machine used meanwhile (`bench.cpu`)."""
    samples: Samples = {}
    for _ in range(runs):
        for name, server in servers.items():
            for level in levels:
                with cpu.measure(server.process.pid) as used:
                    sample = generate(server.url, level, seconds)
                samples.setdefault((name, level), []).append({**sample, **used})
    return samples
