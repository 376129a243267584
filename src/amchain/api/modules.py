"""Routes derived from the module specs: ``GET /v1/modules`` and every module's queries.

Each :class:`~amchain.modules.base.QuerySpec` becomes one route at ``/v1<path>``: its path
and query parameters (or, for ``POST``, its JSON body) are typed by the query's params
struct, ``proof`` and ``height`` are added where the query allows them, and the handler runs
in a worker thread on a :class:`~amchain.modules.base.QueryContext` built by
:func:`amchain.api.chain_view.query_context`. A query answers None for "not found" (404);
its refusals are problem documents with the module's codespace.
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import Response

from amchain.api.chain_view import query_context
from amchain.api.openapi import SchemaSet, as_codec_accepts, json_value_schema, query_operation
from amchain.api.problems import ApiProblem, problem_from_error, read_body
from amchain.codec import MAX_SAFE_INTEGER, DecodeError, convert, decode_json
from amchain.ledger import LedgerError
from amchain.modules.base import ModuleSpec, QuerySpec
from amchain.node import Node

__all__ = ["describe_module", "describe_modules", "module_router"]

QUERY_BODY_MAX_BYTES = 256 * 1024
QUERY_BODY_MAX_DEPTH = 16
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


def _schema(type_: Any) -> dict[str, Any]:
    """A self-contained JSON Schema of ``type_`` (its definitions under ``$defs``), narrowed
    to what the strict decoder accepts (:func:`amchain.api.openapi.as_codec_accepts`)."""
    ref = "#/$defs/JsonValue"
    schema: dict[str, Any] = as_codec_accepts(msgspec.json.schema(type_), ref)
    if ref in str(schema):
        schema.setdefault("$defs", {})["JsonValue"] = json_value_schema(ref)
    return schema


def describe_module(spec: ModuleSpec) -> dict[str, Any]:
    """One module as ``GET /v1/modules`` lists it: messages, queries and events, each with
    the JSON Schema of its arguments, parameters, answer or attributes (what the SDK's
    catalog and the CLI's generic commands read)."""
    return {
        "name": spec.name,
        "codespace": spec.codespace,
        "title": spec.title or spec.name,
        "description": spec.description,
        "messages": [
            {
                "name": message.name,
                "summary": message.summary,
                "signers": message.signers,
                "args_schema": _schema(message.args_type),
                "example": None if message.example is None else dict(message.example),
                "cli": None if message.cli is None else message.cli.describe(),
            }
            for message in spec.messages.values()
        ],
        "queries": [
            {
                "name": query.name,
                "summary": query.summary,
                "description": query.description,
                "method": query.method,
                "path": "/v1" + spec.query_path(query),
                "path_params": list(query.path_fields()),
                "proof": query.proof,
                "historical": query.historical,
                "params_schema": _schema(query.params_type),
                "result_schema": _schema(query.result_type),
                "cli": None if query.cli is None else query.cli.describe(),
            }
            for query in spec.queries.values()
        ],
        "events": [
            {
                "type": event.event_type,
                "summary": (event.__doc__ or "").strip().split("\n")[0],
                "attributes_schema": _schema(event),
            }
            for event in spec.events
        ],
        "genesis_schema": None if spec.genesis is None else _schema(spec.genesis.type),
    }


def describe_modules(node: Node) -> dict[str, Any]:
    """``GET /v1/modules``: every module of the node (:func:`describe_module`)."""
    return {"modules": [describe_module(spec) for spec in node.registry.modules]}


def _flag(request: Request, name: str) -> bool:
    text = request.query_params.get(name)
    if text is None:
        return False
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ApiProblem(400, "api", 1, "Bad request parameter", f"{name}: use true or false")


def _height(request: Request) -> int | None:
    text = request.query_params.get("height")
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 16) or (
        int(text) > MAX_SAFE_INTEGER
    ):
        raise ApiProblem(
            400, "api", 3, "Bad height", "height: a block height, an integer from 0 to 2^53-1"
        )
    return int(text)


def _bad_params(error: msgspec.ValidationError) -> ApiProblem:
    detail = str(error)
    where = detail.rsplit(" - at `$.", 1)
    if len(where) == 2:
        detail = f"{where[1].rstrip('`')}: {where[0]}"
    return ApiProblem(400, "api", 1, "Bad request parameter", detail)


class _Formatter(string.Formatter):
    """Formats a ``not_found`` template with the params; a missing one stays a name."""

    def get_value(self, key: int | str, args: Any, kwargs: Any) -> Any:
        return (
            kwargs.get(key, key) if isinstance(key, str) else super().get_value(key, args, kwargs)
        )


def _not_found(query: QuerySpec[Any, Any], params: Any) -> ApiProblem:
    values = msgspec.structs.asdict(params) if isinstance(params, msgspec.Struct) else {}
    template = query.not_found or "nothing matches"
    return ApiProblem(404, "api", 404, "Not found", _Formatter().format(template, **values))


def _endpoint(
    node: Node, spec: ModuleSpec, query: QuerySpec[Any, Any]
) -> Callable[[Request], Awaitable[Response]]:
    struct_params = isinstance(query.params_type, type) and issubclass(
        query.params_type, msgspec.Struct
    )
    names = (
        [f.encode_name for f in msgspec.structs.fields(query.params_type)] if struct_params else []
    )

    async def answer(request: Request) -> Response:
        # validate: the parameters, typed by the query's params struct
        prove = _flag(request, "proof") if query.proof == "on_request" else query.proof == "always"
        height = _height(request) if query.historical else None
        if query.method == "POST":
            raw = await read_body(request, QUERY_BODY_MAX_BYTES)
            try:
                value = decode_json(
                    raw, max_bytes=QUERY_BODY_MAX_BYTES, max_depth=QUERY_BODY_MAX_DEPTH
                )
                params = convert(value, query.params_type, what=f"{spec.name}.{query.name}")
            except DecodeError as error:
                raise problem_from_error(error) from None
        else:
            given: dict[str, Any] = dict(request.path_params)
            for name in names:
                if name not in given and name in request.query_params:
                    given[name] = request.query_params[name]
            try:
                params = msgspec.convert(given, query.params_type, strict=False)
            except msgspec.ValidationError as error:
                raise _bad_params(error) from None

        def run() -> Any:
            ctx = query_context(node, height=height, prove=prove)
            # authorise
            if query.policy is not None:
                query.policy(ctx, params)
            # answer
            return query.handler(ctx, params)

        try:
            result = await asyncio.to_thread(run)
        except LedgerError as error:
            # A module refusing a query's parameters is a bad request (400); the proof
            # codespace says itself which status (404, 410, 422).
            status = None if error.codespace in ("proof", "tx") else 400
            raise problem_from_error(error, status=status) from None
        if result is None:
            raise _not_found(query, params)
        return Response(msgspec.json.encode(result), media_type="application/json")

    answer.__name__ = f"{spec.name}_{query.name}"
    return answer


def _route_order(item: tuple[str, ModuleSpec, QuerySpec[Any, Any]]) -> tuple[int, int]:
    """Fixed paths before templated ones (``/credentials/status`` before
    ``/credentials/{credential_id}``), longer before shorter."""
    path = item[0]
    return path.count("{"), -len(path)


def module_router(node: Node, schemas: SchemaSet) -> APIRouter:
    """The routes of every query of ``node``'s modules."""
    router = APIRouter()
    routes = [
        ("/v1" + spec.query_path(query), spec, query)
        for spec in node.registry.modules
        for query in spec.queries.values()
    ]
    for path, spec, query in sorted(routes, key=_route_order):
        router.add_api_route(
            path,
            _endpoint(node, spec, query),
            methods=[query.method],
            tags=[spec.name],
            summary=query.summary,
            description=query.description or None,
            operation_id=f"{spec.name}.{query.name}",
            openapi_extra=query_operation(spec, query, schemas),
            response_class=Response,
        )

    described = msgspec.json.encode(describe_modules(node))  # the specs do not change

    @router.get(
        "/v1/modules",
        tags=["chain"],
        summary="The chain's modules: messages, queries and events, with their JSON Schemas",
        response_model=None,
    )
    def modules() -> Response:
        return Response(described, media_type="application/json")

    return router
