"""Load from wrk (Debian's package, a compiled generator): `POST /webhook` with a JSON body,
latency percentiles from its own histogram. The bench installs it (Makefile); without it, the
Python generator (bench/load.py) is used and labelled as such.

    .venv/bin/python -m bench.wrk URL [--connections 16] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, '{"n": ' .. counter .. ', "bench": true}')
end
"""
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}  # wrk's units.c


def available() -> bool:
    return shutil.which("wrk") is not None


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()  # type: ignore[union-attr]
    return round(float(number) * UNITS[unit], 3)


def load(
    url: str, connections: int, seconds: float, path: str = "/webhook/bench"
) -> dict[str, Any]:
    """One run: requests per second, p50 and p99 latency (ms), and non-2xx answers."""
    threads = min(2, connections)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(SCRIPT)
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(1, int(seconds))}s",
                "--latency",
                "-s",
                str(script),
                f"{url}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    try:
        return parse(out)
    except ValueError as exc:
        raise RuntimeError(f"{exc} from {url}{path}:\n{out[-1500:]}") from exc


def parse(out: str) -> dict[str, Any]:
    """wrk's report -> requests per second, p50 and p99 (ms), non-2xx answers. wrk pads a value
    with a one-letter unit by a space (`print_units` in wrk's src/wrk.c: "99%    1.44s "), so
    a p99 of a second or more ends its line with one: the match allows it."""
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    if "99" not in percentiles:
        raise ValueError("wrk reported no latency percentiles")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(percentiles["50"]),
        "p99_ms": _ms(percentiles["99"]),
        "errors": int(errors.group(1)) if errors else 0,
        "generator": "wrk",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    print(json.dumps(load(args.url, args.connections, args.seconds)))


if __name__ == "__main__":
    main()
