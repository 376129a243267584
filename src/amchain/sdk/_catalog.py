"""The node's modules as a client learns them from ``GET /v1/modules``.

The catalog is what lets ``client.tx(module, message, args)`` check the arguments before
signing (against the JSON Schema the node derives from the message's args struct) and
``client.query(module, name, **params)`` find the query's route: a client needs no code of
the module, so it works against any node, with any modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import jsonschema

from amchain.sdk._errors import TxBuildError

__all__ = [
    "FieldInfo",
    "MessageInfo",
    "ModuleCatalog",
    "ModuleInfo",
    "QueryInfo",
    "describe_fields",
    "resolve_schema",
    "schema_variants",
    "without_null",
]


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """A field of a message's arguments or a query's parameters, for help and forms."""

    name: str
    """Dotted for nested fields (``event.odometer_km``)."""
    type: str
    meaning: str
    required: bool


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """A message of a module: what it does, who signs, its arguments' JSON Schema."""

    name: str
    summary: str
    signers: str
    args_schema: dict[str, Any]
    example: dict[str, Any] | None
    cli: dict[str, Any] | None = None
    """A command of its own the module asks the CLI for (``command``, ``positional``,
    ``options``, ``field_prefix``, ``summary``)."""

    def check(self, args: Any) -> None:
        """Raises: TxBuildError: ``args`` do not fit the message (where and why)."""
        check_against(self.args_schema, args, f"{self.name} args")


@dataclass(frozen=True, slots=True)
class QueryInfo:
    """A query of a module: its route and its parameters' and answer's JSON Schemas."""

    name: str
    summary: str
    method: str
    path: str
    path_params: list[str]
    proof: str
    historical: bool
    params_schema: dict[str, Any]
    result_schema: dict[str, Any]
    cli: dict[str, Any] | None = None

    def fields(self) -> dict[str, dict[str, Any]]:
        """The parameters' schemas by name (``{}`` for a body that is not an object)."""
        return _properties(self.params_schema)

    def check(self, params: Any) -> None:
        """Raises: TxBuildError: ``params`` (or the body) do not fit the query."""
        check_against(self.params_schema, params, f"{self.name} parameters")


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """A module of the node: its messages, queries and event types."""

    name: str
    title: str
    description: str
    codespace: str
    messages: dict[str, MessageInfo]
    queries: dict[str, QueryInfo]
    events: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def _properties(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The properties of an object schema (following its top ``$ref``)."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        schema = schema.get("$defs", {}).get(name, {})
    properties = schema.get("properties", {})
    return dict(properties) if isinstance(properties, dict) else {}


class ModuleCatalog:
    """The modules of one node, by name."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.modules: dict[str, ModuleInfo] = {}
        for entry in data.get("modules", []):
            self.modules[entry["name"]] = ModuleInfo(
                name=entry["name"],
                title=entry.get("title", entry["name"]),
                description=entry.get("description", ""),
                codespace=entry.get("codespace", entry["name"]),
                messages={
                    m["name"]: MessageInfo(
                        name=m["name"],
                        summary=m.get("summary", ""),
                        signers=m.get("signers", ""),
                        args_schema=m.get("args_schema", {}),
                        example=m.get("example"),
                        cli=m.get("cli"),
                    )
                    for m in entry.get("messages", [])
                },
                queries={
                    q["name"]: QueryInfo(
                        name=q["name"],
                        summary=q.get("summary", ""),
                        method=q.get("method", "GET"),
                        path=q["path"],
                        path_params=list(q.get("path_params", [])),
                        proof=q.get("proof", "no"),
                        historical=bool(q.get("historical", False)),
                        params_schema=q.get("params_schema", {}),
                        result_schema=q.get("result_schema", {}),
                        cli=q.get("cli"),
                    )
                    for q in entry.get("queries", [])
                },
                events=list(entry.get("events", [])),
                raw=dict(entry),
            )

    def module(self, name: str) -> ModuleInfo:
        """Raises: TxBuildError: the node runs no module ``name``."""
        try:
            return self.modules[name]
        except KeyError:
            known = ", ".join(self.modules) or "none"
            raise TxBuildError(f"the node has no module {name!r} (modules: {known})") from None

    def message(self, module: str, name: str) -> MessageInfo:
        """Raises: TxBuildError: no such module or message."""
        info = self.module(module)
        try:
            return info.messages[name]
        except KeyError:
            known = ", ".join(info.messages) or "none"
            raise TxBuildError(
                f"module {module!r} has no message {name!r} (messages: {known})"
            ) from None

    def query(self, module: str, name: str) -> QueryInfo:
        """Raises: TxBuildError: no such module or query."""
        info = self.module(module)
        try:
            return info.queries[name]
        except KeyError:
            known = ", ".join(info.queries) or "none"
            raise TxBuildError(
                f"module {module!r} has no query {name!r} (queries: {known})"
            ) from None


def resolve_schema(schema: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$ref`` followed into ``root``'s ``$defs``."""
    seen = 0
    current = dict(schema)
    while "$ref" in current and seen < 32:
        name = str(current.pop("$ref")).rsplit("/", 1)[-1]
        current = {**root.get("$defs", {}).get(name, {}), **current}
        seen += 1
    return current


def schema_variants(schema: Mapping[str, Any], root: Mapping[str, Any]) -> list[dict[str, Any]]:
    options = schema.get("anyOf") or schema.get("oneOf")
    if not options:
        return []
    return [resolve_schema(option, root) for option in options]


def without_null(schema: dict[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    """An optional field's non-null schema (``X | None`` is ``anyOf: [X, null]``)."""
    variants = schema_variants(schema, root)
    if variants and "discriminator" not in schema:
        real = [v for v in variants if v.get("type") != "null"]
        if len(real) == 1:
            return real[0]
    return schema


def type_name(schema: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    """A short name of a field's type for help texts."""
    schema = without_null(resolve_schema(schema, root), root)
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


def describe_fields(schema: Mapping[str, Any], *, prefix: str = "") -> list[FieldInfo]:
    """Every field of an object schema, nested ones dotted (``event.odometer_km``); a tagged
    union's variants each introduced by a line naming the tag's value."""
    root = schema
    return [
        FieldInfo(
            name=name.rstrip("?"), type=kind, meaning=meaning, required=not name.endswith("?")
        )
        for name, kind, meaning in _describe(resolve_schema(schema, root), root, prefix)
    ]


def _describe(
    schema: Mapping[str, Any], root: Mapping[str, Any], prefix: str
) -> Iterable[tuple[str, str, str]]:
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        resolved = without_null(resolve_schema(prop, root), root)
        label = prefix + name + ("" if name in required else "?")
        meaning = str(prop.get("description") or resolved.get("description") or "")
        yield label, type_name(prop, root), _plain(meaning)
        if "properties" in resolved:
            yield from _describe(resolved, root, prefix + name + ".")
        elif "discriminator" in resolved:
            tag = resolved["discriminator"].get("propertyName", "type")
            for variant in schema_variants(resolved, root):
                value = variant.get("properties", {}).get(tag, {})
                tags = value.get("enum") or [value.get("const")]
                yield (
                    f"{prefix}{name}.* ({tag}={tags[0]})",
                    "",
                    _plain(str(variant.get("description", ""))),
                )
                sub = {k: v for k, v in variant.get("properties", {}).items() if k != tag}
                yield from _describe({**variant, "properties": sub}, root, f"{prefix}{name}.")


def _plain(text: str) -> str:
    """A docstring's first line without its reStructuredText literal marks."""
    return text.strip().split("\n")[0].replace("``", "")


def check_against(schema: Mapping[str, Any], value: Any, what: str) -> None:
    """Check ``value`` against a JSON Schema the node published.

    Raises:
        TxBuildError: where and why it does not fit (the node would refuse it too).
    """
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(the whole value)"
        raise TxBuildError(f"{what}: {where}: {error.message}")


def query_request_parts(
    query: QueryInfo, params: Mapping[str, Any]
) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """The path, query parameters and (for ``POST``) body of a query with ``params``.

    Raises:
        TxBuildError: a path parameter is missing, or a parameter the query does not take.
    """
    path = query.path
    if query.method == "POST":
        return path, {}, dict(params)
    known = query.fields()
    unknown = [name for name in params if name not in known]
    if unknown:
        raise TxBuildError(
            f"query {query.name!r} takes {', '.join(known) or 'no parameters'}; "
            f"not {', '.join(unknown)}"
        )
    rest = dict(params)
    for name in query.path_params:
        if name not in rest:
            raise TxBuildError(f"query {query.name!r} needs {name}")
        value = str(rest.pop(name))
        # A ``{name:path}`` parameter keeps its slashes and colons; others are one segment.
        slot = "{" + name + ":path}"
        if slot in path:
            path = path.replace(slot, quote(value, safe="/:"))
        else:
            path = path.replace("{" + name + "}", quote(value, safe=":"))
    query_params = {
        name: ("true" if value is True else "false" if value is False else value)
        for name, value in rest.items()
        if value is not None
    }
    return path, query_params, None
