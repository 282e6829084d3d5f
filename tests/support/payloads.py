"""Platform payloads kept as JSON under tests/events/<cloud>/, loaded by one helper (in the
tooling package, which the local mesh's request builders share)."""

from __future__ import annotations

from tools.payloads import load_event

__all__ = ["load_event"]
