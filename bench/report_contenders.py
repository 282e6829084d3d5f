"""The side-by-side table of bench/contenders.py, and its targets, for docs/benchmarks.md."""

from __future__ import annotations

from typing import Any

STEPS = (
    ("import", "import"),
    ("health", "first /health"),
    ("webhook", "first webhook (client + put)"),
    ("warm_ms_per_webhook", "warm CPU per webhook"),
)


def table(data: dict[str, Any] | None) -> list[str]:
    if not data or "skipped" in data:
        reason = (data or {}).get("skipped", "not measured")
        return ["", f"**Beside the alternatives**: {reason}"]
    lines = [
        "",
        f"**Beside the alternatives** (the same two routes, bench/alternatives/, each packaged "
        f"as normally deployed at the same pins and with bytecode; CPU ms over a bare "
        f"interpreter, cumulative, and in brackets the ratio to its cloud's bare app within each "
        f"run; median of {data['runs']} interleaved runs; warm: the mean of "
        f"{data['warm_webhooks']} further webhooks in the same process)",
        "",
        "| setup | " + " | ".join(title for _, title in STEPS) + " |",
        "| --- |" + " --- |" * len(STEPS),
    ]
    for name, row in data["setups"].items():
        cells = [f"{row[s]['median_ms']} (x{row[s]['ratio_to_bare']})" for s, _ in STEPS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def targets(data: dict[str, Any] | None) -> list[str]:
    if not data or "skipped" in data:
        return []
    setups = data["setups"]
    if not {"aws: ours", "aws: ours, secret ARN set"} <= setups.keys():
        return []  # a run without AWS (`--cloud gcp`): the targets are AWS's
    deployed, plain = setups["aws: ours, secret ARN set"], setups["aws: ours"]
    first = deployed["webhook"]["ratio_to_bare"]
    health = round(deployed["health"]["median_ms"] / plain["health"]["median_ms"], 2)
    warm = deployed["warm_ms_per_webhook"]["ratio_to_bare"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "not met"

    return [
        f"- AWS first webhook as deployed (import, /health, S3 client, put): x{first} the bare "
        f"handler's (target x0.7: {verdict(first <= 0.7)}).",
        f"- AWS first /health with the secret's ARN set: x{health} the same archive without "
        f"it (target x1.2: {verdict(health <= 1.2)}).",
        f"- AWS warm CPU per webhook, request log on: x{warm} the bare handler's (target x1.1: "
        f"{verdict(warm <= 1.1)}).",
    ]
