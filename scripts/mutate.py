"""`make mutate`: mutation testing of functions/ and stacks/ with mutmut, within a time budget,
then a report kept in the repo (mutation/results.md, and mutation/results.json beside it).

    .venv/bin/python -m scripts.mutate [--budget SECONDS] [--report-only]

mutmut copies the project into mutants/, makes every mutant of every function there, learns
which tests reach which function, and runs each mutant against those tests only (pyproject's
[tool.mutmut]). Its verdicts stay in mutants/, so a run stopped by the budget (SIGINT, which
mutmut handles by saving what it has) goes on where it stopped the next time; a changed
function's mutants are made and checked again.

Score per area = killed / (killed + survived + untested), over the mutants checked so far;
mutants listed in mutation/equivalent.json (with the reason each cannot be told apart from the
original by any test) are left out of both.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "mutation"
AREAS = {"functions.core": "core", "stacks": "stacks"}
ADAPTERS = ("functions.aws", "functions.gcp", "functions.azure", "functions.local")
TARGET = {"core": 85.0, "adapters": 80.0, "stacks": 80.0}
# mutmut's exit codes (mutmut/stats.py): what each means for the score.
KILLED = {1, 3, 24, -24, 152, 255, 36, 37, -9, -11}  # failed, errored, timed out, type check
SURVIVED = {0}
UNTESTED = {5, 33}  # no test reaches the function
INTERRUPTED = {2}  # stopped by the budget: not checked


def area(mutant: str) -> str:
    if mutant.startswith(ADAPTERS):
        return "adapters"
    return next((name for prefix, name in AREAS.items() if mutant.startswith(prefix)), "other")


def run_mutmut(budget: float) -> tuple[float, bool]:
    """Check again the mutants that survived last time (tests may have been added since; mutmut
    keeps a verdict unless told to check that mutant), then every mutant without a verdict,
    until done or the budget is spent; (seconds, finished)."""
    started = time.monotonic()
    again = [m for m, code in verdicts().items() if code in SURVIVED | UNTESTED]
    finished = True
    for names in ([again] if again else []) + [[]]:
        left = budget - (time.monotonic() - started)
        if left <= 0 or not _mutmut(names, left):
            finished = False
            break
    return time.monotonic() - started, finished


def _mutmut(names: list[str], budget: float) -> bool:
    """One `mutmut run`; False when the budget ran out first."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mutmut", "run", "--max-children", str(os.cpu_count() or 2), *names],
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        proc.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)  # mutmut saves its verdicts and stops its workers
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return False
    if proc.returncode != 0:
        raise SystemExit(f"mutmut failed (exit {proc.returncode}): see its output above")
    return True


def verdicts() -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        found.update(json.loads(meta.read_text())["exit_code_by_key"])
    return found


def diff(mutant: str) -> str:
    """The changed lines of one mutant, as `mutmut show` prints them."""
    shown = subprocess.run(
        [sys.executable, "-m", "mutmut", "show", mutant],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    changed = [
        line
        for line in shown
        if line[:1] in "+-" and not line.startswith(("+++", "---")) and line[1:].strip()
    ]
    return " / ".join(line[:1] + " " + line[1:].strip() for line in changed)[:300]


def report(seconds: float | None, finished: bool) -> dict[str, Any]:
    equivalent: dict[str, str] = json.loads((OUT / "equivalent.json").read_text())
    codes = verdicts()
    counts: dict[str, Counter[str]] = {}
    survivors: list[dict[str, str]] = []
    for mutant, code in sorted(codes.items()):
        tally = counts.setdefault(area(mutant), Counter())
        tally["mutants"] += 1
        if mutant in equivalent:
            tally["equivalent"] += 1
        elif code is None or code in INTERRUPTED:
            tally["not checked"] += 1
        elif code in KILLED:
            tally["killed"] += 1
        elif code in SURVIVED or code in UNTESTED:
            tally["survived" if code in SURVIVED else "untested"] += 1
            survivors.append(
                {
                    "mutant": mutant,
                    "area": area(mutant),
                    "verdict": "survived" if code in SURVIVED else "no test reaches it",
                    "change": diff(mutant),
                }
            )
        else:
            tally["suspicious"] += 1
    areas: dict[str, Any] = {}
    for name, tally in sorted(counts.items()):
        checked = tally["killed"] + tally["survived"] + tally["untested"]
        score = round(100 * tally["killed"] / checked, 1) if checked else None
        areas[name] = {
            **{k: tally[k] for k in ("mutants", "killed", "survived", "untested", "equivalent")},
            "not_checked": tally["not checked"],
            "suspicious": tally["suspicious"],
            "score": score,
            "target": TARGET.get(name),
        }
    return {
        "tool": f"mutmut {_mutmut_version()}",
        "seconds": None if seconds is None else round(seconds),
        "finished": finished,
        "areas": areas,
        "equivalent": equivalent,
        "survivors": survivors,
    }


def _mutmut_version() -> str:
    from importlib.metadata import version

    return version("mutmut")


def markdown(data: dict[str, Any]) -> str:
    run = (
        f"{data['seconds']} s"
        + ("" if data["finished"] else ", stopped by the budget (the next run goes on)")
        if data["seconds"] is not None
        else "report only"
    )
    lines = [
        f"Made by `make mutate` ({data['tool']}, {run}). Score = killed / (killed + survived + "
        "no test reaches it), over the mutants checked; equivalent mutants are left out.",
        "",
        "| area | mutants | checked | killed | survived | no test | equivalent | score | target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, a in data["areas"].items():
        checked = a["killed"] + a["survived"] + a["untested"]
        score = "—" if a["score"] is None else f"{a['score']}%"
        target = "—" if a["target"] is None else f"{a['target']}%"
        lines.append(
            f"| {name} | {a['mutants']} | {checked} | {a['killed']} | {a['survived']} | "
            f"{a['untested']} | {a['equivalent']} | {score} | {target} |"
        )
    lines += ["", "**Equivalent mutants** (left out, with the reason)", ""]
    lines += [f"- `{m}`: {why}" for m, why in sorted(data["equivalent"].items())] or ["- none"]
    lines += ["", f"**Survivors** ({len(data['survivors'])})", ""]
    lines += [
        f"- `{s['mutant']}` ({s['verdict']}): `{s['change']}`"
        if s["change"]
        else f"- `{s['mutant']}` ({s['verdict']})"
        for s in data["survivors"]
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget", type=float, default=3600.0, help="seconds for mutmut")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    seconds, finished = (None, False) if args.report_only else run_mutmut(args.budget)
    data = report(seconds, finished)
    OUT.mkdir(exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    (OUT / "results.md").write_text(markdown(data))
    print(markdown(data).split("**Equivalent")[0])


if __name__ == "__main__":
    main()
