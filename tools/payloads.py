"""The platforms' payloads, kept as JSON under tests/events/<cloud>/ (sources cited in
tests/events/README.md), loaded by this one helper: by the tests, and by the request builders
in tools/platforms.py that the local mesh shares."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from tools.processes import ROOT

EVENTS = ROOT / "tests" / "events"


@cache
def _read(cloud: str, name: str) -> Any:
    return json.loads((EVENTS / cloud / f"{name}.json").read_text())


def load_event(cloud: str, name: str) -> Any:
    """A fresh copy of a stored payload, safe to modify."""
    return copy.deepcopy(_read(cloud, name))
