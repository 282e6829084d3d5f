"""The stored platform payloads: every one cites where its shape comes from, and parses."""

from __future__ import annotations

import fnmatch
import json
import re

import pytest

from tools.payloads import EVENTS, load_event

STORED = sorted(str(p.relative_to(EVENTS)) for p in EVENTS.glob("*/*.json"))


def _cited() -> list[str]:
    """The file patterns in the first column of tests/events/README.md's table."""
    rows = [
        line for line in (EVENTS / "README.md").read_text().splitlines() if line.startswith("|")
    ]
    return [p for row in rows for p in re.findall(r"`([\w*./-]+\.json)`", row.split("|")[1])]


@pytest.mark.parametrize("path", STORED)
def test_every_stored_payload_has_a_cited_source(path: str) -> None:
    assert any(fnmatch.fnmatch(path, pattern) for pattern in _cited()), path


@pytest.mark.parametrize("path", STORED)
def test_every_stored_payload_loads_as_a_fresh_copy(path: str) -> None:
    cloud, name = path.removesuffix(".json").split("/")
    first = load_event(cloud, name)
    assert first == json.loads((EVENTS / path).read_text())
    first["changed"] = True
    assert "changed" not in load_event(cloud, name)
