"""Platform payloads kept as JSON under tests/events/<cloud>/, loaded by one helper."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[1] / "events"


@cache
def _read(cloud: str, name: str) -> Any:
    return json.loads((EVENTS / cloud / f"{name}.json").read_text())


def load_event(cloud: str, name: str) -> Any:
    """A fresh copy of a stored payload, safe to modify."""
    return copy.deepcopy(_read(cloud, name))
