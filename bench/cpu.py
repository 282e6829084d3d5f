"""Where the CPU went during one load run, in cores (1.0: one CPU busy for the whole run).

- the server: every process of its process group (the bench starts each server as the leader
  of a group of its own, so workers it forks count too) and every thread of those, from
  `/proc/<pid>/stat`;
- the generator: wrk (or the Python generator), a child this process waits for, from
  `getrusage(RUSAGE_CHILDREN)`;
- the machine: the share of all CPUs not idle, from `/proc/stat` (kernel threads and interrupts
  included: on a small machine the disk's flushing and the loopback network are real costs).

Linux only (`/proc`); elsewhere `measure` reports nothing rather than a guess.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class Usage(NamedTuple):
    wall: float
    group: float  # CPU seconds of the server's process group
    children: float  # CPU seconds of waited-for children (the generator)
    busy: float  # machine: CPU seconds not idle, all CPUs
    total: float  # machine: CPU seconds in all, all CPUs


def group_seconds(pgid: int, proc: Path = PROC) -> float:
    """User + system CPU seconds of every live process in process group `pgid`."""
    ticks = 0
    for stat in proc.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # exited meanwhile
            continue
        # The command name, in parentheses, may hold spaces: fields start after its last ')'.
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:  # state, ppid, pgrp, ... utime (12th), stime (13th)
            ticks += int(fields[11]) + int(fields[12])
    return ticks / TICKS


def machine_seconds(proc: Path = PROC) -> tuple[float, float]:
    """(busy, total) CPU seconds since boot, over all CPUs; iowait counts as idle. Guest time
    is already inside user time, so it is left out of the sum."""
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(v) for v in (proc / "stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    busy = user + nice + system + irq + softirq + steal
    return busy / TICKS, (busy + idle + iowait) / TICKS


def children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def snapshot(pgid: int, proc: Path = PROC) -> Usage:
    busy, total = machine_seconds(proc)
    return Usage(time.monotonic(), group_seconds(pgid, proc), children_seconds(), busy, total)


def between(start: Usage, end: Usage) -> dict[str, float]:
    wall = end.wall - start.wall
    return {
        "server_cores": round((end.group - start.group) / wall, 2),
        "generator_cores": round((end.children - start.children) / wall, 2),
        "machine_busy": round((end.busy - start.busy) / (end.total - start.total), 3),
    }


@contextmanager
def measure(pgid: int, proc: Path = PROC) -> Iterator[dict[str, float]]:
    """`with measure(server_pid) as cpu: run()`: `cpu` is filled in when the block ends."""
    result: dict[str, float] = {}
    if not (proc / "stat").exists():
        yield result
        return
    start = snapshot(pgid, proc)
    yield result
    result.update(between(start, snapshot(pgid, proc)))
