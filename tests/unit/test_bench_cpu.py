"""The bench's CPU meter: what it reads from /proc, and a real process group it measures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench import cpu

pytestmark = pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads Linux's /proc")

BURN = "import time\nend = time.process_time() + {s}\nwhile time.process_time() < end: pass\n"


def fake_proc(tmp_path: Path, processes: dict[int, str], stat: str) -> Path:
    for pid, line in processes.items():
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(line)
    (tmp_path / "stat").write_text(stat)
    return tmp_path


def stat_line(pid: int, name: str, pgrp: int, utime: int, stime: int) -> str:
    # proc(5): pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    # utime stime ...
    return f"{pid} ({name}) S 1 {pgrp} {pgrp} 0 -1 4194560 10 0 0 0 {utime} {stime} 0 0 20 0\n"


def test_group_seconds_sums_the_groups_processes_even_when_a_name_holds_parentheses(
    tmp_path: Path,
) -> None:
    proc = fake_proc(
        tmp_path,
        {
            500: stat_line(500, "python", 500, 100, 50),
            501: stat_line(501, "odd) S 1 999 (name", 500, 30, 20),
            502: stat_line(502, "wrk", 777, 1000, 1000),
        },
        "cpu 1 2 3 4 5 6 7 8 0 0\n",
    )
    assert cpu.group_seconds(500, proc) == pytest.approx(200 / cpu.TICKS)


def test_machine_seconds_counts_iowait_as_idle_and_leaves_guest_time_inside_user(
    tmp_path: Path,
) -> None:
    # user nice system idle iowait irq softirq steal guest guest_nice
    proc = fake_proc(tmp_path, {}, "cpu  100 10 50 800 40 5 15 0 30 0\ncpu0 1 2 3\n")
    busy, total = cpu.machine_seconds(proc)
    assert (busy * cpu.TICKS, total * cpu.TICKS) == pytest.approx((180, 1020))


def test_a_process_group_is_measured_with_every_process_it_forked() -> None:
    # GIVEN a server stand-in leading its own group whose forked worker burns CPU too: each
    # burns 0.6 s of its own CPU time, says so, then idles until told to stop (alive, so counted)
    # They start burning only when told: on a busy machine, burning from the start had done
    # part of the work before the first snapshot, and the sum came out short.
    script = "import os, sys\nsys.stdin.readline()\nos.fork()\n" + BURN.format(s=0.6)
    script += "print(flush=True)\n"
    script += "sys.stdin.read()\n"
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        # WHEN the meter spans their work
        with cpu.measure(child.pid) as used:
            start = cpu.snapshot(child.pid)
            child.stdin.write(b"go\n")
            child.stdin.flush()
            assert child.stdout.readline() == b"\n"
            assert child.stdout.readline() == b"\n"
            end = cpu.snapshot(child.pid)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    # THEN both processes' CPU is there (1.2 s at least; a little start-up on top), and the
    # cores figure is that CPU over the wall time
    assert 1.18 <= end.group - start.group <= 1.7
    assert used["server_cores"] == pytest.approx(
        (end.group - start.group) / (end.wall - start.wall), rel=0.25
    )
    assert 0 < used["machine_busy"] <= 1
    assert used["generator_cores"] >= 0
