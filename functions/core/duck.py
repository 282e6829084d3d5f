"""DuckDB connections that can spill: a writable temp directory and a memory limit sized from
the function's memory.

DuckDB's default `temp_directory` is `.tmp` under the working directory, which is read-only on
Lambda (`/var/task`) and on Azure's run-from-package mount: a sort or join larger than memory
then fails with an I/O error instead of spilling. Every platform gives a writable temp
directory (`/tmp`), and the function's memory is known (LAMBDA_MEMORY_MB, set by the stack, or
Lambda's own AWS_LAMBDA_FUNCTION_MEMORY_SIZE): DuckDB gets half, the rest is Python's.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

MIN_LIMIT_MB = 64


def config(memory_mb: int | None, temp_root: str | None = None) -> dict[str, Any]:
    spill = os.path.join(temp_root or tempfile.gettempdir(), "lambda-duckdb")
    os.makedirs(spill, exist_ok=True)
    settings: dict[str, Any] = {
        "autoinstall_known_extensions": False,
        "temp_directory": spill,
    }
    if memory_mb:
        settings["memory_limit"] = f"{max(MIN_LIMIT_MB, memory_mb // 2)}MB"
    return settings


def connect(memory_mb: int | None, temp_root: str | None = None) -> Any:
    import duckdb

    con = duckdb.connect(config=config(memory_mb, temp_root))
    # A long query would otherwise draw a progress bar into the function's log (a session
    # option: DuckDB refuses it in the connection's config).
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")  # timestamps are UTC, whatever the machine's zone
    return con
