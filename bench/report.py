"""The benchmark's Markdown tables, its scaling plot, and the generated part of
docs/benchmarks.md they refresh (the page's hand-written head says how to read them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import report_contenders

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _cold(results: dict[str, Any]) -> list[str]:
    cold = results["cold_start"]
    bare = cold["bare_interpreter_ms"]
    lines = [
        f"**Cold start in the development venv** (wall time, median of "
        f"{10 if results['mode'] == 'full' else 5} fresh interpreters; every dependency has its "
        f"bytecode here, unlike a fresh package; bare interpreter {bare['median']} ms, "
        f"{bare['min']}-{bare['max']})",
        "",
        "| entry point | module import | first /health | first /webhook | /health over bare "
        "| /health over the platform's framework | top imports |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in cold["entry_points"].items():
        top = ", ".join(f"{t['module']} {t['ms']}" for t in r["importtime_top"][1:4])
        framework = (
            f"{r['health_over_framework_ms']} ms (over `{r['framework']}`)"
            if r.get("framework")
            else "—"
        )
        lines.append(
            f"| {name} | {r['import_ms']} ms | {r['first_health_ms']['median']} ms "
            f"({r['first_health_ms']['min']}-{r['first_health_ms']['max']}) "
            f"| {r['first_webhook_ms']['median']} ms | {r['health_over_bare_ms']} ms "
            f"| {framework} | {top} |"
        )
    return lines


def _deployed(results: dict[str, Any]) -> list[str]:
    data = results.get("deployed") or {}
    if "skipped" in data or not data:
        return ["", f"**Cold start as deployed**: {data.get('skipped', 'not measured')}"]
    bare = data["bare_cpu_ms"]
    lines = [
        "",
        f"**Cold start as deployed** (each archive unpacked, a fresh Python 3.12 with `-I -S` "
        f"seeing only it, storage on the emulators; CPU ms over a bare interpreter "
        f"({bare['median']} ms), cumulative, median of {data['runs']} interleaved runs, min-max; "
        "`no bytecode`: the same files without `__pycache__` on a read-only package, as they "
        "shipped before)",
        "",
        "| archive | framework import | import | first /health | first /webhook (client + put) "
        "| first /query |",
        "| --- | --- | --- | --- | --- | --- |",
    ]

    def cell(row: dict[str, Any], step: str) -> str:
        if step not in row:
            return "—"
        s = row[step]
        return f"{s['median']} ({s['min']}-{s['max']})"

    for name, row in data.items():
        if isinstance(row, dict) and "health" in row:
            steps = ("framework", "import", "health", "webhook", "query")
            lines.append(f"| {name} | " + " | ".join(cell(row, s) for s in steps) + " |")
    return lines


def _artifacts(results: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "**Artifacts** (default targets)",
        "",
        "| cloud | target | zipped | unzipped | files | bytecode | largest |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for cloud, r in results["artifacts"].items():
        largest = ", ".join(f"{x['name']} {x['mib']}" for x in r["largest"][:3])
        lines.append(
            f"| {cloud} | {r['target']} | {r['zipped_mib']} MiB | "
            f"{r['unzipped_mib']} MiB | {r['files']} | {r.get('bytecode') or 'none'} "
            f"| {largest} (MiB) |"
        )
    return lines


def _generator(results: dict[str, Any]) -> str:
    rows = next(iter(results["load"].values()))
    return str(rows[0].get("generator", "python (bench/load.py)"))


NOFLUSH = "no peers, files in RAM, nothing flushed (bench only, not durable)"  # bench/noflush
SYNC_WORDS = {
    "syncfs": "LAMBDA_SYNC=syncfs: one syncfs of the filesystem per batch of writers",
    "fsync": "each file fsynced, then its folder, one folder fsync per batch of writers",
}


def _cpu(row: dict[str, Any]) -> str:
    """Server cores | generator cores | machine busy, or dashes where /proc was not read."""
    if "server_cores" not in row:
        return "— | — | —"
    return (
        f"{row['server_cores']['median']} | {row['generator_cores']['median']} "
        f"| {row['machine_busy']['median']:.0%}"
    )


def _load(results: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "**Ingest** (`POST /webhook` on the local server, waitress as `make serve` runs it "
        f"({results.get('serve', '1 process')}) unless the setup names another server; each "
        f"event durable before its 201 ({SYNC_WORDS[results.get('sync', 'fsync')]}), but in "
        "the row marked not durable (files in RAM, nothing flushed: the bound for any way of "
        "flushing); INFO "
        "logging; load "
        f"from {_generator(results)} in a separate process; median of runs, min-max; the first "
        "rows are the generator's ceiling against a no-op app on the same server; CPU in cores "
        f"of the machine's {results['cpus']}, over the run: the server's processes, the "
        "generator's, and the whole machine busy, kernel included)",
        "",
        "| setup | clients | req/s | p50 | p99 | p50 vs no peers | generator ceiling (req/s) "
        "| server CPU | generator CPU | machine busy |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    base = {r["concurrency"]: r for r in results["load"]["no peers"]}
    ceiling = {
        r["concurrency"]: r["rps"]["median"]
        for r in results["load"].get("generator ceiling (no-op app)", [])
    }
    for setup, rows in results["load"].items():
        for r in rows:
            ratio = r["p50_ms"]["median"] / base[r["concurrency"]]["p50_ms"]["median"]
            lines.append(
                f"| {setup} | {r['concurrency']} | {r['rps']['median']} "
                f"({r['rps']['min']}-{r['rps']['max']}) | {r['p50_ms']['median']} ms "
                f"| {r['p99_ms']['median']} ms | x{ratio:.1f} "
                f"| {ceiling.get(r['concurrency'], '—')} | {_cpu(r)} |"
            )
    return lines + _app_cpu(results) + _neighbour(results)


def _per_webhook(row: dict[str, Any] | None) -> float | None:
    """A load row's server CPU per request, in µs: its cores over its requests per second."""
    if not row or "server_cores" not in row:
        return None
    return float(row["server_cores"]["median"] * 1e6 / row["rps"]["median"])


def _app_cpu(results: dict[str, Any]) -> list[str]:
    """Where the default server's CPU per webhook at 16 clients goes: the app alone, waitress
    alone (its no-op row), and the rest: the flushes to disk and the hand-offs between threads."""
    load = results["load"]
    app = results.get("app_cpu")

    def at16(setup: str) -> dict[str, Any] | None:
        return next((r for r in load.get(setup, []) if r["concurrency"] == 16), None)

    served = _per_webhook(at16("no peers"))
    if not app or served is None:
        return []
    alone = app["us_per_webhook"]
    noop = _per_webhook(at16("generator ceiling (no-op app)"))
    server = (
        f"waitress and the network on their own (the no-op rows) {noop:,.0f} µs, so the "
        f"flushes to disk and the hand-offs between threads take the other "
        f"{served - alone - noop:,.0f} µs"
        if noop is not None
        else f"so waitress, the network, the flushes to disk and the hand-offs between threads "
        f"take the other {served - alone:,.0f} µs"
    )
    return [
        "",
        f"**CPU per webhook** at 16 clients: the default server {served:,.0f} µs (its cores "
        f"over its webhooks per second, kernel included); of that, the app alone "
        f"{alone} µs (`App.handle` in one thread, the store in {app['store']}, no HTTP "
        f"server; best of {app['rounds']} rounds of {app['events']:,}, worst {app['max_us']}); "
        f"{server}.",
    ]


def _neighbour(results: dict[str, Any]) -> list[str]:
    """Each way of flushing, quiet (the table above) and beside a process writing large files
    to the same disk, at 16 clients."""
    busy = results.get("neighbour")
    if not busy:
        return []
    quiet = {
        "fsync": results["load"]["no peers"],
        "syncfs": results["load"]["no peers, LAMBDA_SYNC=syncfs"],
    }
    lines = [
        "",
        "**Beside a busy neighbour** (16 clients, no peers; another process keeps writing "
        "256 MiB files to the same disk, `bench/neighbour.py`; quiet is the table above)",
        "",
        "| LAMBDA_SYNC | quiet req/s | quiet p99 | busy req/s | busy p99 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for way, row in busy.items():
        still = next(r for r in quiet[way] if r["concurrency"] == 16)
        lines.append(
            f"| {way}{' (default)' if way == 'fsync' else ''} | {still['rps']['median']} "
            f"| {still['p99_ms']['median']} ms | {row['rps']['median']} "
            f"({row['rps']['min']}-{row['rps']['max']}) | {row['p99_ms']['median']} ms |"
        )
    return lines


def _outbox(results: dict[str, Any]) -> list[str]:
    rows = results.get("outbox_cost") or []
    if not rows:
        return []
    lines = [
        "",
        f"**Outbox cost** (a backlog of {rows[0]['backlog']:,} records, 10 due, two peers; "
        "a retry run as the schedules run it: the due records listed and read, each one's "
        "event looked up at the origin on its first retry, delivered, deleted; HTTP requests "
        "counted by a proxy in front of each emulator)",
        "",
        "| store | retry run: requests | of which listing pages | `GET /peers` backlog |",
        "| --- | --- | --- | --- |",
    ]
    for r in rows:
        run = r["retry_run"]
        total = sum(run.values())
        lines.append(
            f"| {r['store']} | {total} ({', '.join(f'{k} {v}' for k, v in sorted(run.items()))})"
            f" | {r.get('listing_pages', run.get('GET', 0) - r['due'])} "
            f"| {sum(r['peers_backlog'].values())} |"
        )
    return lines


def _reconcile(results: dict[str, Any]) -> list[str]:
    rows = results.get("reconcile_cost") or []
    if not rows:
        return []
    lines = [
        "",
        f"**Anti-entropy cost** (a day of {rows[0]['events']:,} events at the origin, a peer "
        "in process, the default 7-day window of 169 hours: a run in sync, then one after the "
        "peer lost 1% of the day; storage requests counted by a proxy in front of each "
        "emulator, HTTP requests to the peer by route)",
        "",
        "| store | run | storage requests | HTTP requests | hours different | events sent |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        for label in ("in_sync", "repair_1pct"):
            run = r[label]
            storage = ", ".join(f"{k} {v}" for k, v in sorted(run["storage"].items()))
            http = ", ".join(f"{k} {v}" for k, v in sorted(run["http"].items()))
            lines.append(
                f"| {r['store']} | {label.replace('_', ' ')} | {sum(run['storage'].values())} "
                f"({storage}) | {sum(run['http'].values())} ({http}) "
                f"| {run['hours_different']} | {run['queued']} |"
            )
    return lines


def _requests(row: dict[str, Any]) -> str:
    return " + ".join(f"{n:g} {method}" for method, n in row["requests"].items()) or "none"


def _ingest_cost(results: dict[str, Any]) -> list[str]:
    rows = results.get("ingest_cost") or []
    if not rows:
        return []
    lines = [
        "",
        "**Storage requests per webhook at the origin** (counted by a proxy in front of each "
        "emulator; peers acknowledge; the hour's index marker (once per hour and instance) and "
        "the GCS SDK's bucket metadata read (once per client) left out; USD per million webhooks "
        "at list prices, bench/ingest_cost.py names them)",
        "",
        "| cloud | peers | idempotency key | requests | billable writes | USD / million |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['cloud']} | {r['peers']} | {'yes' if r['idempotency_key'] else 'no'} | "
            f"{_requests(r)} | {r['classes']['write']:g} | {r['usd_per_million']:.2f} |"
        )
    return lines


def _cost_targets(results: dict[str, Any]) -> list[str]:
    lines = []
    for r in results.get("ingest_cost") or []:
        if r["peers"] == 2:
            writes = r["classes"]["write"]
            key = "with" if r["idempotency_key"] else "without"
            verdict = "met" if writes <= 2 else "not met"
            lines.append(
                f"- {r['cloud']}, two peers, {key} an idempotency key: {writes:g} billable "
                f"writes per webhook at the origin (target 2: {verdict})."
            )
    return lines


def _query(results: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "**Query** (`GET /query`, limit 100; median of runs, min-max)",
        "",
        "| store | scope | events | raw JSON | compacted Parquet | speed-up |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results["query"]:
        raw, comp = r["raw"], r["compacted"]
        lines.append(
            f"| {r['store']} | {r['scope']} | {r['events']:,} | {raw['median_ms']} ms "
            f"({raw['min_ms']}-{raw['max_ms']}) | {comp['median_ms']} ms "
            f"({comp['min_ms']}-{comp['max_ms']}) | x{r['speedup']} |"
        )
    return lines


def _why(
    row: dict[str, Any], noop_p99: float | None = None, noflush: dict[str, Any] | None = None
) -> str:
    """Little's law for closed-loop clients: each waits clients / throughput on average, so a
    p99 under 25 ms takes well over clients / 25 ms per second; how busy the machine was; and,
    on waitress, the same level's row of the same server with nothing flushed (the bound for
    any way of flushing) and its p99 with a no-op app (the floor any app starts from)."""
    clients, rps = row["concurrency"], row["rps"]["median"]
    mean = 1000 * clients / rps
    busy = (
        f"; the machine {row['machine_busy']['median']:.0%} busy, the server on "
        f"{row['server_cores']['median']} cores, the generator on "
        f"{row['generator_cores']['median']}"
        if "machine_busy" in row
        else ""
    )
    p99 = row["p99_ms"]["median"]
    if p99 <= 25:
        return busy
    floor = (
        f"; with its files in RAM and nothing flushed (not durable) the same server does "
        f"{noflush['rps']['median']:,.0f}/s with p99 {noflush['p99_ms']['median']} ms"
        if noflush is not None
        else ""
    )
    floor += (
        f"; waitress with a no-op app has p99 {noop_p99} ms at this level"
        if noop_p99 is not None
        else ""
    )
    return (
        f"; {clients} closed-loop clients at this rate wait {mean:.1f} ms on average "
        f"({clients} / {rps:,.0f} per s), so p99 25 ms needs over {clients * 40:,}/s, about "
        f"{clients * 40 * p99 / mean:,.0f}/s if p99 stays x{p99 / mean:.1f} the mean as here"
        f"{floor}{busy}"
    )


def _ingest_targets(load: dict[str, Any], serve: str = "") -> list[str]:
    """Local ingest at 16 and 64 clients (2,500/s, p99 25 ms) for each server measured, and a
    hung peer's p50 against two healthy ones' (at most x1.2)."""
    lines: list[str] = []
    noop = {
        r["concurrency"]: r["p99_ms"]["median"]
        for r in load.get("generator ceiling (no-op app)", [])
    }
    noflush = {r["concurrency"]: r for r in load.get(NOFLUSH, [])}
    for setup, rows in load.items():
        if not setup.startswith("no peers") or setup == NOFLUSH:  # that one is no setting
            continue
        rest = setup.removeprefix("no peers").lstrip(", ")
        server = f"waitress (make serve, {serve})"
        on_waitress = not rest or rest.startswith("LAMBDA_")
        if rest.startswith("LAMBDA_"):  # make serve with one setting changed
            server = f"{server} with {rest}"
        elif rest:  # another server
            server = rest
        for r in rows:
            if r["concurrency"] in (16, 64):
                rps, p99 = r["rps"]["median"], r["p99_ms"]["median"]
                met = "met" if rps >= 2500 and p99 <= 25 else "not met"
                level = r["concurrency"]
                floor = noop.get(level) if on_waitress else None
                bound = noflush.get(level) if on_waitress else None
                lines.append(
                    f"- Local ingest, {server}, {level} clients: {rps:,.0f} "
                    f"webhooks/s, p99 {p99} ms (target 2,500/s and 25 ms: "
                    f"{met}{_why(r, floor, bound)})."
                )
    healthy = {r["concurrency"]: r for r in load.get("two peers", [])}
    for r in load.get("one healthy, one hung peer", []):
        if r["concurrency"] in healthy:
            ratio = r["p50_ms"]["median"] / healthy[r["concurrency"]]["p50_ms"]["median"]
            lines.append(
                f"- A hung peer, {r['concurrency']} clients: p50 x{ratio:.2f} the two healthy "
                f"peers' (target x1.2: {'met' if ratio <= 1.2 else 'not met'})."
            )
    return lines


def _targets(results: dict[str, Any]) -> list[str]:
    """The targets, read off this same run: no number here outlives the tables below it."""
    entries = results["cold_start"]["entry_points"]
    lines = ["**Targets**, from this run:", ""]
    for name in ("local", "aws"):
        over = entries[name]["health_over_bare_ms"]
        verdict = "met" if over <= 30 else "not met"
        lines.append(
            f"- `/health` cold start, {name}: {over} ms over a bare interpreter "
            f"(target 30 ms: {verdict})."
        )
    for name in ("gcp", "azure"):
        e = entries[name]
        lines.append(
            f"- `/health` cold start, {name}: {e['health_over_bare_ms']} ms over a bare "
            f"interpreter, {e['health_over_framework_ms']} ms over `{e['framework']}`, which "
            "the platform's host imports before our module (target 30 ms over bare: "
            f"{'met' if e['health_over_bare_ms'] <= 30 else 'not met'})."
        )
    deployed = results.get("deployed") or {}
    if "aws" in deployed:
        aws, azure = deployed["aws"]["webhook"]["median"], deployed["azure"]["health"]["median"]
        lines.append(
            f"- As deployed, AWS import + /health + S3 client and put: {aws} ms CPU over "
            f"bare (target 300 ms: {'met' if aws <= 300 else 'not met'})."
        )
        lines.append(
            f"- As deployed, Azure first /health with its `azure.functions`: {azure} ms "
            f"CPU over bare (target 180 ms: {'met' if azure <= 180 else 'not met'})."
        )
    lines += report_contenders.targets(results.get("contenders"))
    for cloud in ("aws", "azure"):
        size = results["artifacts"][cloud]["zipped_mib"]
        floor = deployed.get(cloud, {}).get("loaded")
        loaded = (
            f"; in its x86_64 build the files the first three requests load are "
            f"{floor['zipped_mib']} MiB zipped "
            f"on their own ({floor['files']} files; largest "
            + ", ".join(f"{f['name']} {f['mib']}" for f in floor["largest"][:2])
            + " MiB), the least any pruning can ship"
            if floor
            else ""
        )
        lines.append(
            f"- {cloud} archive with bytecode: {size} MiB zipped (target 30 MiB: "
            f"{'met' if size <= 30 else 'not met'}{loaded})."
        )
    lines += _ingest_targets(results.get("load") or {}, results.get("serve", "1 process"))
    lines += _cost_targets(results)
    days = [
        r
        for r in results["query"]
        if r["store"] == "local" and r["scope"] == "day" and r["events"] == 100_000
    ]
    for r in days:
        ms = r["compacted"]["median_ms"]
        lines.append(
            f"- A compacted day of 100k events on the local store: `/query` in {ms} ms "
            f"(target under 1 s: {'met' if ms < 1000 else 'not met'}), x{r['speedup']} "
            "faster than from raw JSON."
        )
    return [*lines, ""]


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Measured by `make bench` ({results['mode']}) on {results['machine']}, "
        f"{results['cpus']} CPUs; {results['duration_s']} s in all.",
        "",
    ]
    lines += _targets(results)
    lines += [*_deployed(results), *report_contenders.table(results.get("contenders"))]
    lines += ["", *_cold(results), *_artifacts(results)]
    lines += _load(results) + _ingest_cost(results) + _outbox(results) + _reconcile(results)
    lines += _query(results)
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, scope in zip(axes, ("hour", "day"), strict=True):
        for store in sorted({r["store"] for r in rows}):
            for kind, style in (("raw", "--o"), ("compacted", "-s")):
                points = sorted(
                    (r["events"], r[kind]["median_ms"])
                    for r in rows
                    if r["store"] == store and r["scope"] == scope
                )
                if points:
                    xs, ys = zip(*points, strict=True)
                    ax.plot(xs, ys, style, label=f"{store}, {kind}")
        ax.set(
            xscale="log",
            yscale="log",
            title=f"/query over one {scope}",
            xlabel="events in the partition",
            ylabel="median latency (ms)",
        )
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def write_page(page: Path, table: str, image: str) -> None:
    """Put `table` and the scaling plot (`image`, relative to the page) between the bench
    markers of `page`, leaving the hand-written text around them as it is."""
    block = f"{START}\n{table}\n![query scaling]({image})\n{END}"
    text = page.read_text() if page.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        raise ValueError(f"{page} lacks the bench markers {START} ... {END}")
    head, rest = text.split(START, 1)
    page.write_text(head + block + rest.split(END, 1)[1])
