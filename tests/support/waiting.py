"""Waiting on an outcome, bounded: the verdict follows what happened, not the machine's speed."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(check: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Whether `check` came true within `timeout` seconds (asked every 0.2 s, once more at the
    end)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()
