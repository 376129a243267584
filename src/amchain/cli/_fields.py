"""Typed arguments from the command line: ``NAME=VALUE`` pairs read by a JSON Schema.

The schemas are the ones the node publishes (``GET /v1/modules``), derived from the
modules' structs: ``event.type=odometer event.odometer_km=12500`` becomes
``{"event": {"type": "odometer", "odometer_km": 12500}}``, each value typed by its field
(integers, booleans, lists as ``a,b`` or JSON, free-form values as JSON), a tagged union's
variant chosen by its tag. What does not fit is refused here with the field's name and type.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from amchain.sdk import resolve_schema, schema_variants, without_null

__all__ = ["FieldError", "parse_fields"]

_TRUE = ("1", "true", "yes", "y", "on")
_FALSE = ("0", "false", "no", "n", "off")


class FieldError(ValueError):
    """A pair that is not ``NAME=VALUE``, a field the schema lacks, or a value of the wrong
    type (a usage error)."""


def _nest(pairs: Iterable[str], base: Mapping[str, Any] | None) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(json.dumps(base)) if base else {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise FieldError(f"fields are NAME=VALUE, got {pair!r}")
        target = raw
        parts = name.split(".")
        for part in parts[:-1]:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                raise FieldError(f"{name}: {part} is not an object")
            target = nested
        target[parts[-1]] = value
    return raw


def _convert(value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], where: str) -> Any:
    schema = resolve_schema(schema, root)
    if not isinstance(value, str):
        if isinstance(value, dict) and ("properties" in schema or "discriminator" in schema):
            return _convert_object(value, schema, root, where)
        return value  # from an args file: already typed
    if value == "null" and any(v.get("type") == "null" for v in schema_variants(schema, root)):
        return None
    schema = without_null(schema, root)
    kind = schema.get("type")
    if "enum" in schema or "const" in schema:
        allowed = [str(v) for v in schema.get("enum", [schema.get("const")])]
        if value not in allowed:
            raise FieldError(f"{where} must be one of {', '.join(allowed)} (got {value!r})")
        return value
    if kind == "integer":
        try:
            return int(value.replace("_", ""))
        except ValueError:
            raise FieldError(f"{where} is an integer, not {value!r}") from None
    if kind == "boolean":
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise FieldError(f"{where} is a bool: true or false, not {value!r}")
    if kind == "string":
        return value
    if kind == "array":
        if value.startswith("["):
            return _json(value, where)
        items = schema.get("items", {})
        return [
            _convert(item.strip(), items, root, f"{where}[{i}]")
            for i, item in enumerate(value.split(","))
            if item.strip()
        ]
    return _json(value, where) if value[:1] in '{["' or value in ("true", "false") else value


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise FieldError(f"{where}: not JSON ({exc})") from None


def _convert_object(
    raw: dict[str, Any], schema: Mapping[str, Any], root: Mapping[str, Any], where: str
) -> dict[str, Any]:
    schema = without_null(dict(schema), root)
    if "discriminator" in schema:
        tag = schema["discriminator"].get("propertyName", "type")
        chosen = raw.get(tag)
        mapping = schema["discriminator"].get("mapping", {})
        if chosen not in mapping:
            kinds = ", ".join(mapping)
            raise FieldError(f"give {where + '.' if where else ''}{tag}= one of: {kinds}")
        schema = resolve_schema({"$ref": mapping[chosen]}, root)
    properties = schema.get("properties", {})
    out: dict[str, Any] = {}
    for name, value in raw.items():
        here = f"{where}.{name}" if where else name
        if name not in properties:
            known = ", ".join(properties) or "none"
            raise FieldError(f"there is no field {here} (fields: {known})")
        out[name] = _convert(value, properties[name], root, here)
    missing = [name for name in schema.get("required", []) if name not in out]
    if missing:
        what = where or "the arguments"
        needed = ", ".join(f"{where}.{m}" if where else m for m in missing)
        raise FieldError(f"{what} needs {needed} (fields: {', '.join(properties)})")
    return out


def parse_fields(
    pairs: Iterable[str], schema: Mapping[str, Any], *, base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The arguments ``NAME=VALUE`` pairs give (over ``base``, e.g. an args file), typed by
    ``schema``.

    Raises:
        FieldError: a malformed pair, an unknown field or a value of the wrong type.
    """
    raw = _nest(pairs, base)
    return _convert_object(raw, resolve_schema(schema, schema), schema, "")
