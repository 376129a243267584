"""The node's modules as a client learns them from ``GET /v1/modules``.

The catalog is what lets ``client.tx(module, message, args)`` check the arguments before
signing (against the JSON Schema the node derives from the message's args struct) and
``client.query(module, name, **params)`` find the query's route: a client needs no code of
the module, so it works against any node, with any modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import jsonschema

from amchain.sdk._errors import TxBuildError

__all__ = ["MessageInfo", "ModuleCatalog", "ModuleInfo", "QueryInfo"]


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """A message of a module: what it does, who signs, its arguments' JSON Schema."""

    name: str
    summary: str
    signers: str
    args_schema: dict[str, Any]
    example: dict[str, Any] | None

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
