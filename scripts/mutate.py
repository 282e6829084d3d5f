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
import random
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
# ~7,800 mutants in all, ~1 a second on two cores: a fixed sample per area gives a score whose
# sampling error is a few points in minutes; --sample 0 checks every mutant.
SAMPLE = 200
SEED = 20261124
# mutmut's exit codes (mutmut/stats.py): what each means for the score.
KILLED = {1, 3, 37, -9, -11}  # a test failed or errored (a hang too: pytest-timeout fails it)
# mutmut's own time limit, set from the tests' measured durations, also ends runs that are only
# slow (an archive built on first use, emulators started): inconclusive, checked again next run.
TIMED_OUT = {24, -24, 152, 255, 36}
SURVIVED = {0}
UNTESTED = {5, 33}  # no test reaches the function
INTERRUPTED = {2}  # stopped by the budget: not checked


def area(mutant: str) -> str:
    if mutant.startswith(ADAPTERS):
        return "adapters"
    return next((name for prefix, name in AREAS.items() if mutant.startswith(prefix)), "other")


def generate() -> None:
    """Make every mutant (mutmut's own first step, without running anything), so that the
    sample can be drawn from all of them."""
    code = (
        "import os\n"
        "from mutmut import __main__ as m\n"
        "m.set_mutant_under_test('mutant_generation')\n"
        "os.makedirs('mutants', exist_ok=True)\n"
        "m.copy_src_dir(); m.copy_also_copy_files(); m.setup_source_paths()\n"
        "m.store_lines_covered_by_tests(); m.create_mutants(os.cpu_count() or 2)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def sample(names: list[str], per_area: int) -> list[str]:
    """The same mutants every time for the same code: per area, `per_area` drawn with a fixed
    seed from the sorted names (0: all of them)."""
    chosen: list[str] = []
    for name in sorted({area(n) for n in names}):
        members = sorted(n for n in names if area(n) == name)
        if per_area and len(members) > per_area:
            members = sorted(random.Random(SEED).sample(members, per_area))
        chosen += members
    return chosen


def run_mutmut(budget: float, per_area: int) -> tuple[float, bool, list[str]]:
    """Check the sample within the budget: first what has no verdict yet, then again what
    survived last time (tests may have been added since; mutmut keeps a verdict unless asked
    to check that mutant again). Returns (seconds, finished, the sample)."""
    started = time.monotonic()
    generate()
    codes = verdicts()
    chosen = sample(list(codes), per_area)
    fresh = [m for m in chosen if codes[m] is None or codes[m] in INTERRUPTED]
    again = [m for m in chosen if codes[m] in SURVIVED | UNTESTED | TIMED_OUT]
    finished = True
    for names in (fresh, again):
        left = budget - (time.monotonic() - started)
        if not names:
            continue
        if left <= 0 or not _mutmut(names, left):
            finished = False
            break
    return time.monotonic() - started, finished, chosen


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


def report(seconds: float | None, finished: bool, chosen: list[str] | None) -> dict[str, Any]:
    equivalent: dict[str, str] = json.loads((OUT / "equivalent.json").read_text())
    codes = verdicts()
    population = Counter(area(m) for m in codes)
    if chosen is not None:
        codes = {m: codes[m] for m in chosen}
    counts: dict[str, Counter[str]] = {}
    survivors: list[dict[str, str]] = []
    for mutant, code in sorted(codes.items()):
        tally = counts.setdefault(area(mutant), Counter())
        tally["mutants"] += 1
        if mutant in equivalent:
            tally["equivalent"] += 1
        elif code is None or code in INTERRUPTED:
            tally["not checked"] += 1
        elif code in TIMED_OUT:
            tally["timed out"] += 1
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
            "population": population[name],
            **{k: tally[k] for k in ("mutants", "killed", "survived", "untested", "equivalent")},
            "not_checked": tally["not checked"],
            "timed_out": tally["timed out"],
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
    per_area = data.get("sample_per_area") or 0
    drawn = f"{per_area} mutants per area drawn with a fixed seed" if per_area else "every mutant"
    lines = [
        f"Made by `make mutate` ({data['tool']}, {run}; {drawn}). Score = killed / (killed + "
        "survived + no test reaches it), over the mutants checked; equivalent mutants are "
        "left out.",
        "",
        "| area | mutants in all | sampled | checked | killed | survived | no test | "
        "equivalent | timed out (not counted) | score | target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, a in data["areas"].items():
        checked = a["killed"] + a["survived"] + a["untested"]
        score = "—" if a["score"] is None else f"{a['score']}%"
        target = "—" if a["target"] is None else f"{a['target']}%"
        lines.append(
            f"| {name} | {a['population']} | {a['mutants']} | {checked} | {a['killed']} | "
            f"{a['survived']} | {a['untested']} | {a['equivalent']} | {a['timed_out']} | "
            f"{score} | {target} |"
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
    parser.add_argument(
        "--sample",
        type=int,
        default=SAMPLE,
        help="mutants per area, drawn with a fixed seed (0: all)",
    )
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if args.report_only:
        if not verdicts():
            raise SystemExit("no mutants/ here yet: `make mutate` makes and checks them first")
        seconds, finished = None, False
        chosen = sample(list(verdicts()), args.sample)
    else:
        seconds, finished, chosen = run_mutmut(args.budget, args.sample)
    data = report(seconds, finished, chosen)
    data["sample_per_area"] = args.sample
    OUT.mkdir(exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    (OUT / "results.md").write_text(markdown(data))
    print(markdown(data).split("**Equivalent")[0])


if __name__ == "__main__":
    main()
