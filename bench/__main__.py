"""`make bench`: the benchmark suite. `--quick` (the default, a few minutes) or `--full`.

Writes bench/results/results.json, results.md and scaling.png, and puts the tables in
docs/benchmarks.md between the bench markers. Every figure is a median over repeated runs with
its min and max; comparisons are measured side by side in the same run and given as ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import (
    appcpu,
    artifacts,
    coldstart,
    contenders,
    deployed,
    fanout,
    ingest_cost,
    outbox_cost,
    query,
    reconcile_cost,
    report,
    rounds,
    servers,
)
from bench.neighbour import Neighbour
from functions.core.settings import Settings
from functions.local.durable import syncfs_missing
from functions.local.server import THREADS, default_workers, sync_mode
from tools.processes import ROOT, Server, free_port, interrupt_on_signals, stop_all

RESULTS = ROOT / "bench" / "results"
PAGE = ROOT / "docs" / "benchmarks.md"


def noop_server(work: Path) -> Server:
    import sys

    port = free_port()
    argv = [sys.executable, "-m", "bench.noop", str(port)]
    return Server("noop", argv, port, work).wait_for_port()


def ram_data_dir() -> Path | None:
    """A fresh folder in RAM for the row with nothing flushed, or None where there is none."""
    folder = appcpu.ram()
    if folder is None:
        return None
    return Path(tempfile.mkdtemp(prefix="lambda-bench-noflush-", dir=folder))


def noflush_server(work: Path, data: Path) -> Server:
    """`make serve` with its files in RAM and nothing flushed (bench/noflush.py): the disk
    taken out entirely, the bound for any way of flushing."""
    import sys

    port = free_port()
    env = {"PORT": str(port), **fanout.settings_env("noflush", work, []), "DATA_DIR": str(data)}
    argv = [sys.executable, "-m", "bench.noflush"]
    return Server("noflush", argv, port, work, env).wait_for_http("/health")


def summarize(concurrency: int, samples: list[dict[str, Any]]) -> dict[str, Any]:
    def spread(key: str) -> dict[str, float]:
        values = [s[key] for s in samples]
        return {
            "median": round(statistics.median(values), 2),
            "min": min(values),
            "max": max(values),
        }

    summary = {
        "concurrency": concurrency,
        "generator": samples[0].get("generator", "python (bench/load.py)"),
        "runs": len(samples),
        "errors": sum(s["errors"] for s in samples),
        "rps": spread("rps"),
        "p50_ms": spread("p50_ms"),
        "p99_ms": spread("p99_ms"),
    }
    for key in CPU_KEYS:  # where /proc told us
        if all(key in s for s in samples):
            summary[key] = spread(key)
    return summary


CPU_KEYS = ("server_cores", "generator_cores", "machine_busy")


def interleaved_load(
    servers: dict[str, Server], levels: tuple[int, ...], seconds: float, runs: int
) -> dict[str, list[dict[str, Any]]]:
    """Every setup at every level, in turns (`rounds.interleaved`), summarized."""
    samples = rounds.interleaved(servers, levels, seconds, runs)
    return {
        name: [summarize(level, samples[(name, level)]) for level in levels] for name in servers
    }


SYNCFS = "no peers, LAMBDA_SYNC=syncfs"


def beside_a_neighbour(
    work: Path, ways: dict[str, Server], seconds: float, runs: int
) -> dict[str, Any]:
    """Each way of flushing at 16 clients while another process keeps writing large files to
    the same disk; the quiet figures are the table's own 16-client rows of the same run."""
    busy = Neighbour(work / "neighbour")
    try:
        rows = interleaved_load(ways, (16,), seconds, runs)
    finally:
        busy.stop()
    return {way: rows[way][0] for way in ways}


def ingest_and_fanout(work: Path, seconds: float, runs: int) -> dict[str, Any]:
    hung = fanout.HungPeer()
    peers = [fanout.local(f"peer{i}", work, []) for i in range(2)]
    setups = {
        "no peers": fanout.local("alone", work, []),
        "two peers": fanout.local("two", work, [p.url for p in peers]),
        "one healthy, one hung peer": fanout.local("hung", work, [peers[0].url, hung.url]),
    }
    if syncfs_missing() is None:  # the other way to make a 201 durable, where Linux has it
        setups[SYNCFS] = fanout.local("syncfs", work, [], extra={"LAMBDA_SYNC": "syncfs"})
    # The same server with no disk at all: how much of a target the disk decides.
    ram = ram_data_dir()
    if ram is not None:
        setups[report.NOFLUSH] = noflush_server(work, ram)
    # The same app, no peers, under other servers: the choice of waitress, measured.
    for kind, label in servers.SERVERS.items():
        env = fanout.settings_env(kind, work, [])
        setups[f"no peers, {label}"] = servers.start(kind, kind, work, env)
    ceiling = noop_server(work)
    try:
        # The generator's own limit, against a no-op app on the same server, at each level.
        everything = {"generator ceiling (no-op app)": ceiling, **setups}
        results = interleaved_load(everything, (1, 16, 64), seconds, runs)
        for name, rows in results.items():
            print(
                f"  load {name}: "
                + ", ".join(f"c={r['concurrency']} {r['rps']['median']} rps" for r in rows),
                flush=True,
            )
        neighbour = None
        if SYNCFS in setups:
            neighbour = beside_a_neighbour(
                work, {"fsync": setups["no peers"], "syncfs": setups[SYNCFS]}, seconds, runs
            )
    finally:
        stop_all([*setups.values(), *peers, ceiling])
        hung.stop()
        if ram is not None:
            shutil.rmtree(ram, ignore_errors=True)
    return {"load": results, "neighbour": neighbour}


def stage(name: str, started: float) -> None:
    """Each part's start, with the time taken so far: where a slow run spends it."""
    print(f"{name} ... ({time.perf_counter() - started:.0f} s in)", flush=True)


def main() -> None:
    # Ctrl-C (or kill) stops the run at once: every phase's `finally` stops its servers and
    # its `with` removes its temporary files; nothing is written to bench/results or the docs.
    interrupt_on_signals(lambda line: print(f"bench: {line}", flush=True))
    try:
        run()
    except KeyboardInterrupt:
        print("bench: interrupted; its servers are stopped and its temporary files removed")
        raise SystemExit(130) from None


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="the default")
    mode.add_argument("--full", action="store_true", help="100k events on S3 too, longer runs")
    args = parser.parse_args()
    full = args.full
    runs, seconds = (5, 5.0) if full else (3, 2.0)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "mode": "full" if full else "quick",
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "cpus": os.cpu_count() or 1,
        "serve": f"{default_workers()} processes x {THREADS} threads",
        "sync": sync_mode(Settings()),
    }
    stage("cold start", started)
    results["cold_start"] = coldstart.run(runs=10 if full else 5)
    stage("artifacts", started)
    results["artifacts"] = artifacts.run()
    stage("cold start as deployed", started)
    results["deployed"] = deployed.run(runs=10 if full else 5)
    stage("beside the alternatives", started)
    # Nine runs even when quick: the ratios move by a few hundredths from run to run here.
    results["contenders"] = contenders.run(runs=10 if full else 9, warm=200 if full else 100)
    stage("app CPU per webhook", started)
    results["app_cpu"] = appcpu.run(20_000 if full else 5_000)
    with tempfile.TemporaryDirectory(prefix="lambda-bench-") as tmp:
        work = Path(tmp)
        stage("ingest and fan-out", started)
        results.update(ingest_and_fanout(work, seconds, runs))
        stage("outbox cost", started)
        results["outbox_cost"] = outbox_cost.run(10_000 if full else 2_000)
        stage("anti-entropy cost", started)
        results["reconcile_cost"] = reconcile_cost.run(24_000 if full else 2_400)
        stage("storage requests per webhook", started)
        results["ingest_cost"] = ingest_cost.run(50 if full else 20)
        stage("query scaling", started)
        moto = query.start_s3(work)
        try:
            results["query"] = query.run(
                work,
                [1_000, 10_000, 100_000],
                [1_000, 10_000, 100_000] if full else [1_000],
                runs,
                moto[1],
            )
        finally:
            moto[0].stop()
    results["duration_s"] = round(time.perf_counter() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report.markdown(results)
    (RESULTS / "results.md").write_text(table)
    report.plot(results["query"], RESULTS / "scaling.png")
    report.write_page(PAGE, table, "../bench/results/scaling.png")
    print(table)
    print(f"written to {RESULTS} in {results['duration_s']} s")


if __name__ == "__main__":
    main()
