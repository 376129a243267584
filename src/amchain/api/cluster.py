"""Consortium endpoints of a peer (``/v1/cluster/...``) and the halted-peer guard.

* ``GET /v1/cluster/status`` — this peer: height, state root, final height, lag, role.
* ``POST /v1/cluster/txs`` — transactions another peer admitted, for the block cutter.
* ``GET /v1/cluster/blocks?from_height=N&count=K`` — final blocks with the quorum's signed
  commit records, for a peer behind etcd's retained history.

A halted peer answers every other request with ``503`` and the reason it halted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse

from amchain.api.problems import PROBLEM_MEDIA_TYPE, ApiProblem, problem_body
from amchain.codec import MAX_SAFE_INTEGER, DecodeError, decode_json
from amchain.node import NodeUnavailable
from amchain.node.cluster import ClusterNode

MAX_FORWARD_BYTES = 16 * 1024 * 1024
_ALWAYS_SERVED = ("/v1/status", "/v1/cluster/status", "/docs", "/openapi.json")


def install_cluster_api(app: FastAPI, node: ClusterNode) -> None:
    """Add the consortium endpoints and the halted-peer guard to ``app``."""

    @app.middleware("http")
    async def _halted_guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        reason = node.halted()
        if reason is not None and not request.url.path.startswith(_ALWAYS_SERVED):
            return JSONResponse(
                problem_body(503, "node", 3, "Peer halted", reason),
                status_code=503,
                media_type=PROBLEM_MEDIA_TYPE,
            )
        return await call_next(request)

    @app.get("/v1/cluster/status", tags=["cluster"], summary="This peer in the consortium")
    def cluster_status() -> dict[str, Any]:
        return node.cluster_status()

    @app.post(
        "/v1/cluster/txs",
        tags=["cluster"],
        summary="Transactions admitted by another peer, for the block cutter",
        status_code=202,
    )
    async def forwarded(request: Request) -> JSONResponse:
        raw = await request.body()
        if len(raw) > MAX_FORWARD_BYTES:
            raise ApiProblem(413, "codec", 1, "Too large", "forwarded batch is too large")
        try:
            value = decode_json(raw, max_bytes=MAX_FORWARD_BYTES, max_depth=14)
        except DecodeError as error:
            raise ApiProblem(400, "codec", int(error.code), "Bad batch", error.message) from None
        values = value.get("txs") if isinstance(value, dict) else None
        if not isinstance(values, list):
            raise ApiProblem(400, "api", 5, "Bad batch", 'expected {"txs": [...]}')
        try:
            outcomes = await node.submit(values)
        except NodeUnavailable as exc:
            return JSONResponse(
                problem_body(503, "node", getattr(exc, "code", 1), "Unavailable", str(exc)),
                status_code=503,
                media_type=PROBLEM_MEDIA_TYPE,
            )
        accepted = sum(1 for o in outcomes if o.accepted)
        return JSONResponse({"accepted": accepted, "count": len(values)}, status_code=202)

    @app.get(
        "/v1/cluster/blocks",
        tags=["cluster"],
        summary="Final blocks with their quorum certificates (catch-up for other peers)",
    )
    def blocks(
        from_height: int = Query(..., ge=1, le=MAX_SAFE_INTEGER),
        count: int = Query(16, ge=1, le=256),
    ) -> Response:
        return Response(node.export_blocks(from_height, count), media_type="application/json")
