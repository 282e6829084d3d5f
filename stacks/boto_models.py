"""botocore's data, trimmed to what the AWS function calls (functions/aws/sdk.py OPERATIONS).

botocore reads a client's model, its endpoints and its paginators from `botocore/data/` at the
client's creation, each parsed into ordered dicts: S3's model alone is 1.4 MB of JSON for ~100
operations, `endpoints.json` 1.2 MB for every service, and S3's endpoint rules 0.9 MB
(gzipped). The archive keeps botocore's own data, cut to the operations and services the
function calls and to the endpoint rules its clients can reach; botocore loads it unchanged.
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


def _fixed(condition: Mapping[str, Any], pinned: Mapping[str, bool]) -> bool | None:
    """A rule condition's value when it tests only a pinned parameter, else None (unknown)."""
    fn, argv = condition.get("fn"), condition.get("argv", ())
    if "assign" in condition:
        return None  # it binds a name later conditions read: kept whatever it tests
    if fn == "not" and len(argv) == 1 and isinstance(argv[0], dict):
        inner = _fixed(argv[0], pinned)
        return None if inner is None else not inner
    refs = [a["ref"] for a in argv if isinstance(a, dict) and a.get("ref") in pinned]
    if fn == "isSet" and refs:
        return True  # a pinned parameter is always set
    if fn == "booleanEquals" and len(refs) == 1:
        constant = [a for a in argv if isinstance(a, bool)]
        if len(constant) == 1:
            return pinned[refs[0]] == constant[0]
    return None


def _reachable(rules: list[Any], pinned: Mapping[str, bool]) -> list[Any]:
    """The rules that can match with `pinned`'s values, each without the conditions those
    values make true. botocore evaluates rules in order, the first match wins, and a tree's
    rules end with one that always matches: dropping what never matches changes no answer."""
    kept: list[Any] = []
    for rule in rules:
        values = [_fixed(c, pinned) for c in rule["conditions"]]
        if False in values:
            continue
        conditions = [c for c, v in zip(rule["conditions"], values, strict=True) if v is None]
        out = {k: v for k, v in rule.items() if k != "documentation"}
        out["conditions"] = conditions
        if rule["type"] == "tree":
            out["rules"] = _reachable(rule["rules"], pinned)
            if not out["rules"]:
                raise ValueError("an endpoint rule tree lost every rule")
        kept.append(out)
        if not conditions and rule["type"] != "tree":
            break  # it always matches: nothing after it is ever evaluated
    return kept


def trim_rules(ruleset: Mapping[str, Any], pinned: Mapping[str, bool]) -> dict[str, Any]:
    """An endpoint rule set (botocore's `endpoint-rule-set-1`) without the branches that the
    clients' pinned parameters rule out (functions/aws/sdk.py PINNED_RULE_PARAMETERS), and
    without documentation. Parameters it does not declare are ignored."""
    pinned = {k: v for k, v in pinned.items() if k in ruleset["parameters"]}
    parameters = {
        name: {k: v for k, v in spec.items() if k != "documentation"}
        for name, spec in ruleset["parameters"].items()
    }
    return {**ruleset, "parameters": parameters, "rules": _reachable(ruleset["rules"], pinned)}


def _read(path: Path) -> Any:
    raw = path.read_bytes()
    return json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)


def _write(path: Path, doc: Any) -> None:
    # Compact: botocore's JSON parse is much of a client's creation (it reads .json before
    # .json.gz, so the archive's zip compression replaces the gzip it need not undo).
    path.write_text(json.dumps(doc, sort_keys=True, separators=(",", ":")))


def _service_dir(data: Path, service: str) -> Path:
    versions = sorted(p for p in (data / service).iterdir() if p.is_dir())
    return versions[-1]  # botocore loads the newest API version unless told otherwise


def trim_data(
    data: Path, operations: Mapping[str, frozenset[str]], pinned: Mapping[str, bool]
) -> None:
    """Rewrite a vendored `botocore/data` in place (plain compact JSON: reproducible)."""
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
        rules_file = next(folder.glob("endpoint-rule-set-1.json*"))
        _write(folder / "endpoint-rule-set-1.json", trim_rules(_read(rules_file), pinned))
        if rules_file.name != "endpoint-rule-set-1.json":
            rules_file.unlink()
        for name in UNUSED:
            (folder / name).unlink(missing_ok=True)
