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

__all__ = ["FieldError", "describe_fields", "parse_fields"]

_TRUE = ("1", "true", "yes", "y", "on")
_FALSE = ("0", "false", "no", "n", "off")


class FieldError(ValueError):
    """A pair that is not ``NAME=VALUE``, a field the schema lacks, or a value of the wrong
    type (a usage error)."""


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    seen = 0
    current = dict(schema)
    while "$ref" in current and seen < 32:
        name = str(current.pop("$ref")).rsplit("/", 1)[-1]
        current = {**root.get("$defs", {}).get(name, {}), **current}
        seen += 1
    return current


def _variants(schema: Mapping[str, Any], root: Mapping[str, Any]) -> list[dict[str, Any]]:
    options = schema.get("anyOf") or schema.get("oneOf")
    if not options:
        return []
    return [_resolve(option, root) for option in options]


def _without_null(schema: dict[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    """An optional field's non-null schema (``X | None`` is ``anyOf: [X, null]``)."""
    variants = _variants(schema, root)
    if variants and "discriminator" not in schema:
        real = [v for v in variants if v.get("type") != "null"]
        if len(real) == 1:
            return real[0]
    return schema


def type_name(schema: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    """A short name of a field's type for help texts."""
    schema = _without_null(_resolve(schema, root), root)
    if "enum" in schema:
        return "|".join(str(v) for v in schema["enum"])
    if "const" in schema:
        return str(schema["const"])
    if "discriminator" in schema:
        tag = schema["discriminator"].get("propertyName", "type")
        return f"one of {len(schema['discriminator'].get('mapping', {}))} kinds, by {tag}"
    kind = schema.get("type")
    if kind == "array":
        return f"list of {type_name(schema.get('items', {}), root)}"
    if isinstance(kind, str):
        return {"integer": "int", "boolean": "bool", "string": "text"}.get(kind, kind)
    return "JSON"


def describe_fields(schema: Mapping[str, Any], *, prefix: str = "") -> list[tuple[str, str, str]]:
    """``(name, type, meaning)`` of every field, nested fields dotted, required ones marked."""
    root = schema
    return list(_describe(_resolve(schema, root), root, prefix))


def _describe(
    schema: Mapping[str, Any], root: Mapping[str, Any], prefix: str
) -> Iterable[tuple[str, str, str]]:
    required = set(schema.get("required", []))
    for name, field in schema.get("properties", {}).items():
        resolved = _without_null(_resolve(field, root), root)
        label = prefix + name + ("" if name in required else "?")
        meaning = str(field.get("description") or resolved.get("description") or "")
        yield label, type_name(field, root), meaning.split("\n")[0]
        if "properties" in resolved:
            yield from _describe(resolved, root, prefix + name + ".")
        elif "discriminator" in resolved:
            tag = resolved["discriminator"].get("propertyName", "type")
            for variant in _variants(resolved, root):
                value = variant.get("properties", {}).get(tag, {})
                tags = value.get("enum") or [value.get("const")]
                yield (
                    f"{prefix}{name}.* ({tag}={tags[0]})",
                    "",
                    str(variant.get("description", "")).split("\n")[0],
                )
                sub = {k: v for k, v in variant.get("properties", {}).items() if k != tag}
                yield from _describe({**variant, "properties": sub}, root, f"{prefix}{name}.")


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
    schema = _resolve(schema, root)
    if not isinstance(value, str):
        if isinstance(value, dict) and ("properties" in schema or "discriminator" in schema):
            return _convert_object(value, schema, root, where)
        return value  # from an args file: already typed
    if value == "null" and any(v.get("type") == "null" for v in _variants(schema, root)):
        return None
    schema = _without_null(schema, root)
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
    schema = _without_null(dict(schema), root)
    if "discriminator" in schema:
        tag = schema["discriminator"].get("propertyName", "type")
        chosen = raw.get(tag)
        mapping = schema["discriminator"].get("mapping", {})
        if chosen not in mapping:
            kinds = ", ".join(mapping)
            raise FieldError(f"give {where + '.' if where else ''}{tag}= one of: {kinds}")
        schema = _resolve({"$ref": mapping[chosen]}, root)
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
    return _convert_object(raw, _resolve(schema, schema), schema, "")
