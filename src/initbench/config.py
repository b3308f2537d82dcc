"""Check a config against the JSON schema and fill in its defaults, with one readable message.

Snakemake's own ``validate`` prints the whole schema on error; a user who misspelled one key
wants the key path and the valid choices instead. Torch-free: the Snakefile calls this before
any job is planned.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml


class ConfigError(ValueError):
    """The config is wrong; the message names the key path."""


def _path(parts) -> str:
    return ".".join(str(p) for p in parts) or "<top level>"


def _fill_defaults(node, schema):
    """Insert the schema's defaults into ``node`` (recursively), without touching given values."""
    if not isinstance(node, dict) or schema.get("type") != "object":
        return node
    for key, sub in schema.get("properties", {}).items():
        if key not in node and "default" in sub:
            node[key] = copy.deepcopy(sub["default"])
        if key in node:
            _fill_defaults(node[key], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in node.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(value, extra)
    return node


def _describe(schema: dict) -> str:
    """One alternative of a oneOf, in words: ``auto``, ``an integer >= 1``, ``a number > 0 < 1``."""
    if "enum" in schema:
        return ", ".join(map(str, schema["enum"]))
    kind = {"integer": "an integer", "number": "a number", "null": "null", "string": "a string"}.get(
        schema.get("type"), str(schema.get("type"))
    )
    bounds = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
    return " ".join([kind] + [f"{op} {schema[key]}" for key, op in bounds.items() if key in schema])


def _message(err) -> str:
    where = _path(err.absolute_path)
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        hint = f"; valid keys here: {', '.join(allowed)}" if allowed else ""
        keys = ", ".join(f"{where}.{k}" if err.absolute_path else k for k in extra)
        return f"unknown key {keys}{hint}"
    if err.parent is not None and err.parent.validator == "oneOf" and isinstance(err.parent.instance, dict):
        # a mapping meant as the object alternative: say what that object lacks or has too much
        inner = [e for e in err.parent.context if e.validator in ("required", "additionalProperties")]
        if inner:
            return f"{_path(err.parent.absolute_path)}: {inner[0].message}"
    if err.parent is not None and err.parent.validator == "oneOf":  # e.g. an integer, auto or null
        choices = " or ".join(_describe(alt) for alt in err.parent.validator_value)
        return f"{_path(err.parent.absolute_path)}: {err.parent.instance!r} is not valid; expected {choices}"
    if err.validator == "enum":
        return f"{where}: {err.instance!r} is not one of {', '.join(map(str, err.validator_value))}"
    if err.validator == "required":
        return f"{where}: {err.message}"
    return f"{where}: {err.message}"


def validate(config: dict, schema_path: str | Path) -> dict:
    """Return a copy of ``config`` checked against the schema, with defaults filled in.

    Raises ConfigError with the key path of the first problem (the deepest one, which is the
    one a user can act on).
    """
    import jsonschema

    schema = yaml.safe_load(Path(schema_path).read_text())
    config = _fill_defaults(copy.deepcopy(dict(config)), schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (-len(e.absolute_path), e.message))
    if errors:
        # best_match prefers shallow errors; an unknown key deep inside is the one to act on
        unknown = [e for e in errors if e.validator == "additionalProperties"]
        raise ConfigError(_message(unknown[0] if unknown else jsonschema.exceptions.best_match(errors)))
    from . import grid  # semantic checks: init specs, activations, datasets named by studies

    grid.check(config)
    return config


def load(path: str | Path, schema_path: str | Path) -> dict:
    """Read a YAML config file and validate it."""
    return validate(yaml.safe_load(Path(path).read_text()) or {}, schema_path)
