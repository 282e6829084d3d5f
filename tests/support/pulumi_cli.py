"""The Pulumi CLI's own checks that run before a program does, reproduced from its source.

The CLI cannot be installed here, so these follow pulumi/pulumi (read at commit 1b5949891b3c,
August 2026) rule by rule:

- `sdk/go/common/workspace/loaders.go` LoadProject: every command (`stack init`, `config set`,
  `preview`, `up`) loads Pulumi.yaml through `ValidateProject` (a non-empty string `name`, then
  the JSON schema `sdk/go/common/workspace/project.json`) and then `Project.Validate`
  (`sdk/go/common/workspace/project.go`).
- `pkg/workspace/config.go` ValidateStackConfigAndApplyProjectConfig (mergeConfig): before
  `preview`/`up` run the program, every key Pulumi.yaml declares without `default` or `value` is
  required on the stack ("Stack 'aws' is missing configuration value(s) ..."), declared defaults
  are applied, and every explicitly typed key's stack value is checked against its type
  (`ValidateConfigValue`) and, when declared `secret`, must be stored encrypted.
- Stack files (`LoadProjectStack`): values are kept as text (`fmt.Sprintf("%v")`), objects and
  arrays as JSON, `{secure: ...}` as encrypted; a key without a namespace takes the project's.

What the checker does not do: decrypt (a secure value is only marked secure), nor anything
after the program starts. The YAML is read with PyYAML where the CLI uses go-yaml; for what our
files hold (strings, integers, booleans) the two agree.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

# The parts of project.json a project file like ours meets, transcribed: the types a config
# key may declare are exactly these five (`simpleConfigType`); `number` is not one of them.
SIMPLE_CONFIG_TYPES = ["string", "integer", "boolean", "array", "object"]
_ITEMS: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"oneOf": [{"enum": SIMPLE_CONFIG_TYPES}, {"$ref": "#/$defs/items"}]},
        "items": {"$ref": "#/$defs/items"},
    },
    "if": {"properties": {"type": {"const": "array"}}},
    "then": {"required": ["items"]},
}
PROJECT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["name"],
    "additionalProperties": True,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": ["string", "null"]},
        "author": {"type": ["string", "null"]},
        "website": {"type": ["string", "null"]},
        "license": {"type": ["string", "null"]},
        "main": {"type": ["string", "null"]},
        "stackConfigDir": {"type": ["string", "null"]},
        "runtime": {
            "oneOf": [
                {"type": "string", "minLength": 1},
                {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "options": {"type": "object", "additionalProperties": True},
                    },
                    "additionalProperties": False,
                },
            ]
        },
        "config": {
            "type": ["object", "string", "null"],
            "additionalProperties": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "integer"},
                    {"type": "boolean"},
                    {"type": "array"},
                    {"$ref": "#/$defs/declaration"},
                ]
            },
        },
    },
    "$defs": {
        "items": _ITEMS,
        "declaration": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "type": {"enum": SIMPLE_CONFIG_TYPES},
                "items": {"$ref": "#/$defs/items"},
                "description": {"type": "string"},
                "secret": {"type": "boolean"},
                "default": {},
                "value": {},
            },
        },
    },
}


class CliError(Exception):
    """What the CLI would print before stopping."""


@dataclass(frozen=True)
class Value:
    """A stack config value as the CLI holds it (resource/config.Value): text, or JSON text for
    an object, and whether it is encrypted."""

    text: str
    secure: bool = False
    is_object: bool = False


@dataclass
class Project:
    name: str
    config: dict[str, Any] = field(default_factory=dict)


def go_text(value: Any) -> str:
    """fmt.Sprintf("%v") of a YAML scalar: Go prints booleans in lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_project(path: Path) -> Project:
    raw = yaml.safe_load(path.read_text())
    validate_project(raw)
    return Project(raw["name"], dict(raw.get("config") or {}))


def validate_project(raw: Any) -> None:
    """ValidateProject, then Project.Validate."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise CliError("project is missing a non-empty string 'name' attribute")
    errors = sorted(
        jsonschema.Draft202012Validator(PROJECT_SCHEMA).iter_errors(raw), key=lambda e: e.path
    )
    if errors:
        shown = "; ".join(f"#/{'/'.join(map(str, e.path))}: {e.message}" for e in errors)
        raise CliError(f"could not validate 'Pulumi.yaml': {shown}")
    for key, declared in (raw.get("config") or {}).items():
        _validate_declaration(raw["name"], key, declared)


def _validate_declaration(project: str, key: str, declared: Any) -> None:
    if not isinstance(declared, dict):
        return  # a bare value (`key: value`) is a value, not a type
    if "default" in declared and "value" in declared:
        raise CliError(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
    typed = "type" in declared
    if ":" not in key or key.startswith(f"{project}:"):
        if typed and declared["type"] == "array" and "items" not in declared:
            raise CliError(
                f"The configuration key '{key}' declares an array but does not specify the "
                "underlying type via the 'items' attribute"
            )
        if (
            typed
            and "default" in declared
            and not valid_value(declared["type"], declared.get("items"), declared["default"])
        ):
            raise CliError(
                f"The default value specified for configuration key '{key}' is not of the "
                f"expected type '{declared['type']}'"
            )
        return
    if typed:
        raise CliError(
            f"Configuration key '{key}' is not namespaced by the project and should "
            "not define a type"
        )
    if "default" in declared:
        raise CliError(
            f"Configuration key '{key}' is not namespaced by the project and should "
            "not define a default value"
        )
    if "value" not in declared:
        raise CliError(
            f"Configuration key '{key}' is namespaced and must provide an attribute 'value'"
        )


_GO_INT = re.compile(r"^[+-]?[0-9]+$")


def valid_value(type_name: str, items: dict[str, Any] | None, value: Any) -> bool:
    """workspace.ValidateConfigValue."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return value.is_integer()
        # strconv.Atoi: optional sign and digits, within int64.
        return (
            isinstance(value, str) and bool(_GO_INT.match(value)) and -(2**63) <= int(value) < 2**63
        )
    if type_name == "boolean":
        return value in ("true", "false") or isinstance(value, bool)
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(valid_value(items["type"], items.get("items"), item) for item in value)


def parse_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def load_stack(project: Project, path: Path) -> dict[str, Value]:
    """LoadProjectStack: the stack file's `config:` map as config Values."""
    raw = yaml.safe_load(path.read_text()) or {}
    values: dict[str, Value] = {}
    for key, value in (raw.get("config") or {}).items():
        values[parse_key(project.name, key)] = stack_value(value)
    return values


def stack_value(value: Any) -> Value:
    if isinstance(value, dict) and set(value) == {"secure"}:
        return Value(str(value["secure"]), secure=True)
    if isinstance(value, dict | list):
        return Value(json.dumps(value), is_object=True)
    return Value(go_text(value))


def default_value(raw: Any) -> Value:
    """createConfigValue: a string, integer or boolean as text; anything else (a float too) as
    JSON, an object value."""
    if isinstance(raw, str | int | bool):
        return Value(go_text(raw))
    return Value(json.dumps(raw), is_object=True)


def config_set(
    stack: dict[str, Value], project: Project, key: str, text: str, secret: bool = False
) -> None:
    """`pulumi config set [--secret] KEY VALUE`: a plain (or encrypted) string value."""
    stack[parse_key(project.name, key)] = Value(text, secure=secret)


def merge_and_validate(
    project: Project, stack_name: str, stack: dict[str, Value]
) -> dict[str, Value]:
    """ValidateStackConfigAndApplyProjectConfig: returns the config the program receives."""
    merged = dict(stack)
    missing = []
    for key in sorted(project.config):
        declared = project.config[key]
        full = parse_key(project.name, key)
        if not isinstance(declared, dict):
            declared = {"value": declared}
        has = "default" in declared or "value" in declared
        if full not in merged and not has and full.split(":")[0] == project.name:
            missing.append(key)
            continue
        if full not in merged and has:
            merged[full] = default_value(declared.get("value", declared.get("default")))
    if missing:
        plural = "values" if len(missing) > 1 else "value"
        raise CliError(
            f"Stack '{stack_name}' is missing configuration {plural} "
            + ", ".join(f"'{k}'" for k in missing)
        )
    for key in sorted(project.config):
        declared = project.config[key]
        if not isinstance(declared, dict) or "type" not in declared:
            continue
        value = merged[parse_key(project.name, key)]
        if declared.get("secret") and not value.secure:
            raise CliError(
                f"Stack '{stack_name}' with configuration key '{key}' must be "
                "encrypted as it's secret"
            )
        content = json.loads(value.text) if value.is_object else value.text
        if not valid_value(declared["type"], declared.get("items"), content):
            raise CliError(
                f"Stack '{stack_name}' with configuration key '{key}' must be of "
                f"type '{declared['type']}'"
            )
    return merged
