"""The REST API under ``/v1``: the chain's own routes and every module's queries.

Every refusal is ``application/problem+json`` (RFC 9457) with ``codespace`` and ``code``;
bad input of every kind gets a 4xx. The OpenAPI document (``/openapi.json``) is built from
the same structs the node decodes with: every message's arguments, every query's
parameters and answer, every refusal's problem document.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

import amchain
from amchain.api import chain, txs
from amchain.api.chain import chain_router
from amchain.api.cluster import install_cluster_api
from amchain.api.events import events_router
from amchain.api.hygiene import HttpHygiene, allowed_hosts, allowed_methods
from amchain.api.modules import module_router
from amchain.api.openapi import SchemaSet, problem_responses, registry_types, tx_body_schema
from amchain.api.operations import operations_router
from amchain.api.problems import ApiProblem, problem_response
from amchain.api.txs import txs_router
from amchain.node import Node
from amchain.node.cluster import ClusterNode

__all__ = ["create_app"]

# Every operation may answer these (a halted consortium peer: 503 on every route).
_ALWAYS = (503,)
# Parameters whose refusal has a code of its own (stable since before the schema checked them).
_PARAMETER_CODES: dict[str, tuple[int, str, str]] = {
    "tx_hash": (2, "Bad transaction hash", "a transaction hash is 64 hex digits"),
    "height": (3, "Bad height", "heights are integers from 0"),
    "wait": (4, "Bad wait mode", "wait must be 'commit', 'final' or absent"),
}


def _finish_openapi(document: dict[str, Any], schemas: SchemaSet) -> dict[str, Any]:
    """Add the msgspec-generated components, and make every operation document its
    refusals as problem documents (FastAPI's pydantic 422 is never sent: a bad parameter is
    a 400 problem)."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components.update(schemas.components)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            validation = responses.get("422", {})
            if "HTTPValidationError" in str(validation):
                del responses["422"]
            refusals = list(_ALWAYS)
            if operation.get("parameters") or operation.get("requestBody"):
                refusals.append(400)
            for status, answer in problem_responses(*refusals).items():
                responses.setdefault(str(status), answer)
    return document


def create_app(node: Node, *, manage_node: bool = False) -> FastAPI:
    """Build the API for ``node``. With ``manage_node`` the app starts and stops the node."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_node:
            await node.start()
        try:
            yield
        finally:
            if manage_node:
                await node.stop()

    schemas = SchemaSet([*registry_types(node.registry), *chain.ANSWER_TYPES, *txs.ANSWER_TYPES])
    app = FastAPI(
        title="AutoMobile Chain API",
        version=amchain.__version__,
        description=(
            "Consortium ledger for vehicle identity, life history and supply chains. Errors "
            "are `application/problem+json` with `codespace` and `code`. `GET /v1/modules` "
            "lists the chain's modules with the JSON Schema of every message and query."
        ),
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.node = node
    if isinstance(node, ClusterNode):
        install_cluster_api(app, node)

    # -- errors ---------------------------------------------------------------------------
    @app.exception_handler(ApiProblem)
    async def _problem(_request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        location = [str(p) for p in first.get("loc", ())]
        name = location[-1] if location else ""
        if name in _PARAMETER_CODES:
            code, title, detail = _PARAMETER_CODES[name]
            return problem_response(ApiProblem(400, "api", code, title, detail))
        where = ".".join(location)
        return problem_response(
            ApiProblem(
                400, "api", 1, "Bad request parameter", f"{where}: {first.get('msg', 'invalid')}"
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Every method the path allows, not only those of the first route that matched
            # it (GET and POST /v1/txs are two routes).
            headers["Allow"] = ", ".join(allowed_methods(app.router.routes, request.scope))
        return problem_response(
            ApiProblem(
                exc.status_code,
                "api",
                exc.status_code,
                str(exc.detail),
                str(exc.detail),
                headers=headers,
            )
        )

    # -- HTTP rules: CORS (none unless configured), then host, HEAD and OPTIONS -----------
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(node.config.cors_origins),
        allow_methods=["GET", "HEAD", "POST"],
        allow_headers=["content-type", "last-event-id"],
        max_age=600,
    )
    app.add_middleware(
        HttpHygiene,
        hosts=allowed_hosts(node.config.host, node.config.public_names),
        routes=lambda: app.router.routes,
    )

    # -- routes ---------------------------------------------------------------------------
    app.include_router(chain_router(node))
    app.include_router(txs_router(node, tx_body_schema(node.registry, schemas)))
    app.include_router(events_router(node))
    app.include_router(operations_router(node))
    app.include_router(module_router(node, schemas))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _finish_openapi(document, schemas)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
