"""The REST API under ``/v1``: submit transactions, read blocks, DIDs and vehicles, stream events.

Every refusal is ``application/problem+json`` (RFC 9457) with ``codespace`` and ``code``;
bad input of every kind gets a 4xx. Read endpoints are plain functions (FastAPI runs them
in worker threads, each with its own SQLite read connection).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import amchain
from amchain.api.browse import browse_router
from amchain.api.cluster import install_cluster_api
from amchain.api.credentials import credentials_router
from amchain.api.problems import (
    PROBLEM_MEDIA_TYPE,
    ApiProblem,
    problem_body,
    problem_from_error,
    problem_response,
)
from amchain.api.proofs import (
    ProofUnavailable,
    did_bundle,
    state_bundle,
    tx_bundle,
    vehicle_history_at,
)
from amchain.api.views import (
    block_json,
    history_summary_line,
    organisations_json,
    refused_rollbacks,
    tx_json,
)
from amchain.codec import DecodeError, DecodeErrorCode
from amchain.ledger import SignedTxWire
from amchain.modules import identity, vehicles
from amchain.node import Node, NodeUnavailable
from amchain.node.cluster import ClusterNode
from amchain.node.node import CommittedBlock

MAX_WAIT_MS = 60_000
BATCH_MAX_DEPTH = 14


def _not_found(what: str, detail: str) -> ApiProblem:
    return ApiProblem(404, "api", 404, f"{what} not found", detail)


def _parse_hash(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ApiProblem(
            400, "api", 2, "Bad transaction hash", "a transaction hash is 64 hex digits"
        ) from None
    if len(raw) != 32:
        raise ApiProblem(
            400, "api", 2, "Bad transaction hash", "a transaction hash is 64 hex digits"
        )
    return raw


_PROOF_STATUS = {20: 404, 21: 410, 22: 422}
PROOF_QUERY = Query(False, description="add a proof bundle (check it with `amchain verify`)")
HEIGHT_QUERY = Query(None, ge=0, description="answer as of this height (default: the head)")


def _proof_problem(error: ProofUnavailable) -> ApiProblem:
    return ApiProblem(
        _PROOF_STATUS.get(error.code, 400), "proof", error.code, error.title, error.detail
    )


def _json(body: Any) -> Response:
    # msgspec encodes stored records embedded as msgspec.Raw without decoding them again.
    return Response(msgspec.json.encode(body), media_type="application/json")


def _tx_schema() -> dict[str, Any]:
    (schema,), components = msgspec.json.schema_components(
        [SignedTxWire], ref_template="#/components/schemas/{name}"
    )
    return {"schema": schema, "components": components}


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiProblem(
            413,
            "codec",
            int(DecodeErrorCode.TOO_LARGE),
            "Too large",
            f"request body of {declared} bytes exceeds {limit} bytes",
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiProblem(
                413,
                "codec",
                int(DecodeErrorCode.TOO_LARGE),
                "Too large",
                f"request body exceeds {limit} bytes",
            )
        chunks.append(chunk)
    return b"".join(chunks)


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

    tx_schema = _tx_schema()
    app = FastAPI(
        title="AutoMobile Chain API",
        version=amchain.__version__,
        description=(
            "Consortium ledger for vehicle identity and life history. Errors are "
            "`application/problem+json` with `codespace` and `code`."
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
        where = ".".join(str(p) for p in first.get("loc", ()))
        return problem_response(
            ApiProblem(
                400, "api", 1, "Bad request parameter", f"{where}: {first.get('msg', 'invalid')}"
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            ApiProblem(exc.status_code, "api", exc.status_code, str(exc.detail), str(exc.detail))
        )

    # -- status and blocks ----------------------------------------------------------------
    @app.get("/v1/status", tags=["chain"], summary="Chain head, node identity and load")
    def status() -> dict[str, Any]:
        head = node.head
        return {
            "chain_id": node.chain_id,
            "height": head.height,
            "latest_block_hash": head.hash,
            "latest_block_time_ms": head.time_ms,
            "state_root": head.state_root.hex(),
            "pending_txs": node.pending_count(),
            "node_key": node.node_key.public_key.hex(),
            "ordering": getattr(node, "ordering", "solo"),
            "version": amchain.__version__,
            "modules": [m.name for m in node.registry.modules],
        }

    @app.get("/v1/blocks/latest", tags=["chain"], summary="The latest committed block")
    def latest_block() -> dict[str, Any]:
        block = node.store.get_block(node.head.height)
        if block is None:
            raise _not_found("Block", "no block committed yet")
        return block_json(block)

    @app.get("/v1/blocks/{height}", tags=["chain"], summary="A block by height")
    def get_block(height: int) -> dict[str, Any]:
        if height < 0:
            raise ApiProblem(400, "api", 3, "Bad height", "heights start at 0")
        block = node.store.get_block(height)
        if block is None:
            raise _not_found("Block", f"no block at height {height} (head is {node.head.height})")
        return block_json(block)

    # -- transactions ---------------------------------------------------------------------
    @app.post(
        "/v1/txs",
        tags=["transactions"],
        summary='Submit one signed transaction, or a batch as {"txs": [...]}',
        status_code=202,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                tx_schema["schema"],
                                {
                                    "type": "object",
                                    "properties": {
                                        "txs": {"type": "array", "items": tx_schema["schema"]}
                                    },
                                    "required": ["txs"],
                                    "additionalProperties": False,
                                },
                            ]
                        }
                    }
                },
            },
            "components": {"schemas": tx_schema["components"]},
        },
    )
    async def submit(
        request: Request,
        wait: str | None = Query(
            None,
            description="`commit`: answer once committed; `final`: once a quorum of peers "
            "signed the block's commit record",
        ),
        timeout_ms: int = Query(10_000, ge=0, le=MAX_WAIT_MS),
    ) -> Response:
        if wait not in (None, "commit", "final"):
            raise ApiProblem(
                400, "api", 4, "Bad wait mode", "wait must be 'commit', 'final' or absent"
            )
        raw = await _read_body(request, node.config.max_body_bytes)
        try:
            is_batch, outcomes = await node.submit_body(raw, max_depth=BATCH_MAX_DEPTH)
        except DecodeError as error:
            raise problem_from_error(error) from None
        except NodeUnavailable as exc:
            return JSONResponse(
                problem_body(
                    503,
                    "node",
                    getattr(exc, "code", 1),
                    getattr(exc, "title", "Node busy"),
                    str(exc),
                ),
                status_code=503,
                media_type=PROBLEM_MEDIA_TYPE,
                headers={"Retry-After": "1"},
            )
        results: list[dict[str, Any]] = []
        for outcome in outcomes:
            if outcome.error is not None:
                problem = problem_from_error(outcome.error)
                results.append(
                    {
                        "index": outcome.index,
                        "hash": outcome.tx_hash,
                        "status": "refused",
                        "error": problem_body(
                            problem.status,
                            problem.codespace,
                            problem.code,
                            problem.title,
                            problem.detail,
                            **problem.extra,
                        ),
                    }
                )
            else:
                results.append(
                    {"index": outcome.index, "hash": outcome.tx_hash, "status": "pending"}
                )
        if wait is not None:
            pending = [r for r in results if r["status"] == "pending"]
            hashes = [bytes.fromhex(r["hash"]) for r in pending]
            if wait == "final":
                answers = await node.wait_for_finals(hashes, timeout_ms / 1000)
                committed = [stored for stored, _ in answers]
                finals = [final for _, final in answers]
            else:
                committed = await node.wait_for_commits(hashes, timeout_ms / 1000)
                finals = [False] * len(hashes)
            for result, stored, final in zip(pending, committed, finals, strict=True):
                if stored is None:
                    _, _, dropped = node.tx_status(bytes.fromhex(result["hash"]))
                    if dropped is not None:
                        problem = problem_from_error(dropped)
                        result.update(
                            status="refused",
                            error=problem_body(
                                problem.status,
                                problem.codespace,
                                problem.code,
                                problem.title,
                                problem.detail,
                            ),
                        )
                    continue
                result.update(
                    status="committed",
                    height=stored.height,
                    receipt=msgspec.to_builtins(stored.receipt),
                )
                if wait == "final":
                    result["final"] = final
        if not is_batch:
            single = results[0]
            if single["status"] == "refused":
                refusal = single["error"]
                return JSONResponse(
                    refusal, status_code=refusal["status"], media_type=PROBLEM_MEDIA_TYPE
                )
            receipt = single.get("receipt")
            if receipt is not None and not receipt["ok"]:
                # Committed, but the module refused it: state is unchanged, the refusal is on chain.
                body = problem_body(
                    422,
                    receipt["codespace"],
                    receipt["code"],
                    f"Refused by {receipt['codespace']}",
                    receipt["message"],
                    hash=single["hash"],
                    height=single["height"],
                    recorded_on_chain=True,
                    details=receipt.get("details", {}),
                )
                return JSONResponse(body, status_code=422, media_type=PROBLEM_MEDIA_TYPE)
            return JSONResponse(single, status_code=200 if single["status"] == "committed" else 202)
        accepted = sum(1 for r in results if r["status"] != "refused")
        return Response(
            msgspec.json.encode(
                {"accepted": accepted, "refused": len(results) - accepted, "results": results}
            ),
            status_code=202 if accepted else 400,
            media_type="application/json",
        )

    @app.get(
        "/v1/txs/{tx_hash}", tags=["transactions"], summary="A transaction's status and receipt"
    )
    async def get_tx(
        tx_hash: str,
        wait: str | None = Query(
            None,
            description="`commit`: wait until committed; `final`: until a quorum of peers "
            "signed the block's commit record",
        ),
        timeout_ms: int = Query(10_000, ge=0, le=MAX_WAIT_MS),
        proof: bool = PROOF_QUERY,
    ) -> dict[str, Any]:
        if wait not in (None, "commit", "final"):
            raise ApiProblem(
                400, "api", 4, "Bad wait mode", "wait must be 'commit', 'final' or absent"
            )
        raw = _parse_hash(tx_hash)
        final: bool | None = None
        if wait == "commit":
            await node.wait_for_commit(raw, timeout_ms / 1000)
        elif wait == "final":
            _, final = await node.wait_for_final(raw, timeout_ms / 1000)
        status, stored, dropped = await asyncio.to_thread(node.tx_status, raw)
        if stored is not None:
            body = tx_json(stored)
            if final is not None:
                body["final"] = final
            if proof:
                body["proof"] = await asyncio.to_thread(tx_bundle, node, stored)
            return body
        if status == "pending":
            return {"status": "pending", "hash": tx_hash.lower()}
        if dropped is not None:
            problem = problem_from_error(dropped)
            return {
                "status": "dropped",
                "hash": tx_hash.lower(),
                "error": problem_body(
                    problem.status, problem.codespace, problem.code, problem.title, problem.detail
                ),
            }
        raise _not_found("Transaction", f"no transaction {tx_hash} on this node")

    # -- identity -------------------------------------------------------------------------
    @app.get("/v1/dids/{did:path}", tags=["identity"], summary="Resolve a DID to its DID document")
    def get_did(
        did: str, proof: bool = PROOF_QUERY, height: int | None = HEIGHT_QUERY
    ) -> dict[str, Any]:
        state = node.store.state()
        try:
            if proof or height is not None:
                bundle = did_bundle(node, did, height)
                result = None if bundle is None else dict(bundle["resolution"])
            else:
                result = identity.resolve_did(state, did)
        except identity.IdentityError as error:
            raise problem_from_error(error, status=400, did=did) from None
        except ProofUnavailable as error:
            raise _proof_problem(error) from None
        if result is None:
            raise _not_found("DID", f"{did} is not known on this chain")
        result = dict(result)
        result["didResolutionMetadata"] = {"contentType": "application/did+json"}
        if proof:
            result["proof"] = bundle
        return result

    # -- state ----------------------------------------------------------------------------
    @app.get(
        "/v1/state/{key:path}",
        tags=["state"],
        summary="One state entry (e.g. vehicles/v/<VIN>), optionally with its proof",
    )
    def get_state(
        key: str, proof: bool = PROOF_QUERY, height: int | None = HEIGHT_QUERY
    ) -> Response:
        try:
            bundle = state_bundle(node, key, height)
        except ProofUnavailable as error:
            raise _proof_problem(error) from None
        body: dict[str, Any] = {
            "key": key,
            "value": bundle["entry"]["value"],
            "height": bundle["height"],
        }
        if proof:
            body["proof"] = bundle
        return _json(body)

    @app.get("/v1/organisations", tags=["consortium"], summary="Consortium organisations and roles")
    def list_orgs() -> dict[str, Any]:
        return {"organisations": organisations_json(node.store.state())}

    # -- vehicles -------------------------------------------------------------------------
    def _vehicle_or_404(state: Any, vin: str) -> Any:
        record = vehicles.get_vehicle(state, vin.upper())
        if record is None:
            raise _not_found("Vehicle", f"no vehicle with VIN {vin} is registered")
        return record

    @app.get("/v1/vehicles/{vin}", tags=["vehicles"], summary="A vehicle's current record")
    def get_vehicle(vin: str) -> dict[str, Any]:
        state = node.store.state()
        record = _vehicle_or_404(state, vin)
        data: dict[str, Any] = msgspec.to_builtins(record)
        data["owners_count"] = len(record.owners)
        return data

    @app.get(
        "/v1/vehicles/{vin}/history",
        tags=["vehicles"],
        summary="A vehicle's life history, in order, with flags",
    )
    def get_history(
        vin: str, proof: bool = PROOF_QUERY, height: int | None = HEIGHT_QUERY
    ) -> Response:
        vin = vin.upper()
        try:
            record, raw_events, at, bundle = vehicle_history_at(node, vin, height, prove=proof)
        except ProofUnavailable as error:
            raise _proof_problem(error) from None
        if record is None:
            raise _not_found("Vehicle", f"no vehicle with VIN {vin} is registered")
        entries = msgspec.json.decode(
            b"[" + b",".join(raw_events) + b"]", type=list[vehicles.HistoryEntry]
        )
        state = node.store.state()
        flags: dict[str, Any] = dict(vehicles.summarize_history(record, entries))
        rollbacks = [
            r
            for r in refused_rollbacks(node.store, node.registry, state, record.vin)
            if r["height"] <= at
        ]
        flags["refused_odometer_rollbacks"] = rollbacks
        body: dict[str, Any] = {
            "vin": record.vin,
            "did": record.did,
            "make": record.make,
            "model": record.model,
            "model_year": record.model_year,
            "summary": history_summary_line(flags, rollbacks),
            "flags": flags,
            "history_head": record.history_head,
            "event_count": record.event_count,
            "events": [msgspec.Raw(e) for e in raw_events],
            "as_of_height": at,
        }
        if bundle is not None:
            # The answer is itself the bundle (its events are the proven ones): `amchain
            # verify` checks it as saved; summary and flags are for display, not proven.
            body.update(bundle)
        return _json(body)

    app.include_router(browse_router(node))
    app.include_router(credentials_router(node))

    # -- event stream ---------------------------------------------------------------------
    @app.get(
        "/v1/events",
        tags=["events"],
        summary="Server-sent events: committed blocks' events, resumable from a height",
    )
    async def events(
        request: Request,
        from_height: int | None = Query(
            None, ge=0, description="first height to send (default: next block)"
        ),
    ) -> StreamingResponse:
        last_id = request.headers.get("last-event-id")
        if from_height is None:
            from_height = (
                int(last_id) + 1 if last_id and last_id.isdigit() else node.head.height + 1
            )
        queue = node.subscribe()

        def block_event(height: int) -> str | None:
            block = node.store.get_block(height)
            if block is None:
                return None
            txs = node.store.block_txs(height)
            payload = {
                "height": height,
                "hash": block.hash,
                "time_ms": block.header.time_ms,
                "tx_count": len(txs),
                "events": [
                    {"tx_hash": t.hash, "type": e.type, "attributes": e.attributes}
                    for t in txs
                    for e in t.receipt.events
                ],
                "failed": [
                    {"tx_hash": t.hash, "codespace": t.receipt.codespace, "code": t.receipt.code}
                    for t in txs
                    if not t.receipt.ok
                ],
            }
            data = json.dumps(payload, separators=(",", ":"))
            return f"id: {height}\nevent: block\ndata: {data}\n\n"

        async def stream() -> AsyncIterator[str]:
            next_height = from_height
            idle_s = 0
            try:
                yield ": amchain event stream\n\n"
                while True:
                    while next_height <= node.head.height:
                        chunk = await asyncio.to_thread(block_event, next_height)
                        if chunk is None:
                            break
                        yield chunk
                        next_height += 1
                    # Wake every second to notice a client that left; keep-alive every 15 s.
                    try:
                        block: CommittedBlock = await asyncio.wait_for(queue.get(), 1)
                        del block  # the loop above reads it from storage, in order
                        idle_s = 0
                    except TimeoutError:
                        idle_s += 1
                        if idle_s >= 15:
                            idle_s = 0
                            yield ": keep-alive\n\n"
                    if await request.is_disconnected():
                        return
            finally:
                node.unsubscribe(queue)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    return app
