"""DuckDB connections that can spill: a writable temp directory (the default `.tmp` is
read-only on Lambda and Azure's run-from-package mount) and half the function's memory.
See docs/query.md.
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
