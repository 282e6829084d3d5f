"""botocore's data, trimmed to what the AWS function calls (functions/aws/sdk.py OPERATIONS).

botocore reads a client's model, its endpoints and its paginators from `botocore/data/` at the
client's creation, each parsed into ordered dicts: S3's model alone is 1.4 MB of JSON for ~100
operations, and `endpoints.json` 1.2 MB for every service. The archive keeps botocore's own
data, cut to the operations and services the function calls; botocore loads it unchanged.
See docs/deploying.md (cold starts).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

# Files botocore reads only for what the function never does: docs examples and waiters.
UNUSED = ("examples-1.json", "waiters-2.json")


def _shape_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("shape"), str):
            yield node["shape"]
        for value in node.values():
            yield from _shape_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _shape_refs(value)


def _without_docs(node: Any) -> Any:
    """Documentation only feeds help() text; dropped, it is half the model's bytes."""
    if isinstance(node, dict):
        return {k: _without_docs(v) for k, v in node.items() if k != "documentation"}
    if isinstance(node, list):
        return [_without_docs(v) for v in node]
    return node


def trim_model(model: Mapping[str, Any], operations: frozenset[str]) -> dict[str, Any]:
    """The service model with `operations` only, and the shapes they reach."""
    missing = operations - model["operations"].keys()
    if missing:
        raise ValueError(f"the model has no operation {sorted(missing)}")
    kept = {name: model["operations"][name] for name in sorted(operations)}
    shapes: dict[str, Any] = {}
    pending = list(_shape_refs(kept))
    while pending:
        name = pending.pop()
        if name not in shapes:
            shapes[name] = model["shapes"][name]
            pending.extend(_shape_refs(shapes[name]))
    # Docs dropped from operations and shapes only: botocore reads those with a default, but
    # indexes `documentation` elsewhere (clientContextParams).
    return {
        **model,
        "operations": _without_docs(kept),
        "shapes": _without_docs(dict(sorted(shapes.items()))),
    }


def trim_endpoints(endpoints: Mapping[str, Any], services: frozenset[str]) -> dict[str, Any]:
    """endpoints.json with every partition and region, and only `services`' entries."""
    partitions = [
        {**p, "services": {k: v for k, v in p["services"].items() if k in services}}
        for p in endpoints["partitions"]
    ]
    return {**endpoints, "partitions": partitions}


def _read(path: Path) -> Any:
    raw = path.read_bytes()
    return json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)


def _write(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, sort_keys=True))


def _service_dir(data: Path, service: str) -> Path:
    versions = sorted(p for p in (data / service).iterdir() if p.is_dir())
    return versions[-1]  # botocore loads the newest API version unless told otherwise


def trim_data(data: Path, operations: Mapping[str, frozenset[str]]) -> None:
    """Rewrite a vendored `botocore/data` in place (plain JSON, sorted keys: reproducible)."""
    endpoints = trim_endpoints(_read(data / "endpoints.json"), frozenset(operations))
    _write(data / "endpoints.json", endpoints)
    for service, wanted in operations.items():
        folder = _service_dir(data, service)
        model_file = next(folder.glob("service-2.json*"))
        _write(folder / "service-2.json", trim_model(_read(model_file), wanted))
        if model_file.name != "service-2.json":
            model_file.unlink()
        pages = folder / "paginators-1.json"
        if pages.exists():
            doc = _read(pages)
            doc["pagination"] = {k: v for k, v in doc["pagination"].items() if k in wanted}
            _write(pages, doc)
        for name in UNUSED:
            (folder / name).unlink(missing_ok=True)
