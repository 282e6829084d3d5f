"""What a stack exports: the fields every cloud has, each cloud's class adds its own.

`stacks/program.py` exports them field by field, under the names docs/deploying.md, `make smoke` and
scripts/converge.py read: a field renamed here is an output renamed for every deployed stack.
See docs/deploying.md (outputs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import pulumi

from stacks.query_tables import COST_MODEL, LATE_NOTE


@dataclass(frozen=True, kw_only=True)
class StackOutputs:
    """The outputs of every cloud's component."""

    base_url: pulumi.Output[str]
    bucket: pulumi.Output[str]
    functions: Mapping[str, pulumi.Output[str]]  # role (http, jobs, ...) -> deployed name
    logs_url: pulumi.Output[str]
    query_example: pulumi.Output[str]
    query_cost_model: str = COST_MODEL
    query_not_compacted_yet: str = LATE_NOTE

    def as_dict(self) -> dict[str, object]:
        """Output name -> value, in field order (not `dataclasses.asdict`: it deep-copies)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}
