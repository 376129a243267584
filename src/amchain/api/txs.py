"""Transactions: submit, look up, list.

* ``POST /v1/txs`` — one signed transaction or ``{"txs": [...]}``; ``?wait=commit`` answers
  once committed, ``?wait=final`` once a quorum of peers signed the block's commit record.
* ``GET /v1/txs/{hash}`` — status and receipt, optionally waiting, optionally proven.
* ``GET /v1/txs?vin=…&did=…&signer=…&height=…&module=…`` — transaction summaries; filters
  combine (a transaction must match every one given).
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from amchain.api.openapi import problem_responses
from amchain.api.problems import (
    PROBLEM_MEDIA_TYPE,
    ApiProblem,
    problem_body,
    problem_from_error,
    read_body,
)
from amchain.api.proofs import tx_bundle
from amchain.codec import MAX_SAFE_INTEGER, DecodeError
from amchain.ledger import Receipt, TxCode
from amchain.node import Node, NodeUnavailable
from amchain.storage import StoredTx

__all__ = ["MAX_TXS_PAGE", "RECENT_BLOCKS", "tx_summary", "txs_router"]

MAX_WAIT_MS = 60_000
BATCH_MAX_DEPTH = 14
MAX_TXS_PAGE = 1000
RECENT_BLOCKS = 10_000  # how far back an unfiltered listing looks
SCAN_FOR_FILTERS = 10_000  # candidates read when several filters narrow one index
HASH_PATTERN = "^[0-9a-fA-F]{64}$"
WAIT_QUERY = Query(
    None,
    pattern="^(commit|final)$",
    description="`commit`: answer once committed; `final`: once a quorum of peers signed the "
    "block's commit record",
)
TIMEOUT_QUERY = Query(10_000, ge=0, le=MAX_WAIT_MS, description="how long to wait, ms")


class TxSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A transaction in a list: where it is, what it asked, and how it ended."""

    hash: str
    height: int
    index: int
    time_ms: int | None
    module: str
    message: str
    signers: list[str]
    args: dict[str, Any]
    ok: bool
    codespace: str
    code: int
    error: str
    event_types: list[str]


class TxList(msgspec.Struct, frozen=True):
    """Transaction summaries and the filters that chose them."""

    filter: dict[str, Any]
    txs: list[TxSummary]


class TxStatus(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A transaction's status (``committed``, ``pending``, ``dropped``) and receipt."""

    status: str
    hash: str
    height: int | None = None
    index: int | None = None
    transaction: dict[str, Any] | None = None
    receipt: Receipt | None = None
    final: bool | None = None
    error: dict[str, Any] | None = None
    proof: dict[str, Any] | None = None


ANSWER_TYPES: tuple[Any, ...] = (TxList, TxStatus)


def tx_summary(stored: StoredTx, time_ms: int | None) -> TxSummary:
    body = msgspec.json.decode(stored.tx)["body"]
    receipt = stored.receipt
    return TxSummary(
        hash=stored.hash,
        height=stored.height,
        index=stored.index,
        time_ms=time_ms,
        module=body["module"],
        message=body["message"],
        signers=body["signers"],
        args=body["args"],
        ok=receipt.ok,
        codespace=receipt.codespace,
        code=receipt.code,
        error=receipt.message,
        event_types=[e.type for e in receipt.events],
    )


def _refusal(error: Any) -> dict[str, Any]:
    problem = problem_from_error(error)
    return problem_body(
        problem.status,
        problem.codespace,
        problem.code,
        problem.title,
        problem.detail,
        **problem.extra,
    )


def _parse_hash(text: str) -> bytes:
    # Read side: either case is the same hash; whitespace or other lengths are not.
    if _HASH.fullmatch(text) is None:
        raise ApiProblem(
            400, "api", 2, "Bad transaction hash", "a transaction hash is 64 hex digits"
        )
    return bytes.fromhex(text)


_HASH = re.compile("[0-9a-fA-F]{64}")


def _ok(name: str, description: str) -> dict[str | int, dict[str, Any]]:
    return {
        200: {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    }


def txs_router(node: Node, tx_body_schema: dict[str, Any]) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/v1/txs",
        tags=["transactions"],
        summary='Submit one signed transaction, or a batch as {"txs": [...]}',
        status_code=202,
        response_class=Response,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": tx_body_schema}},
            },
        },
        responses={
            **problem_responses(400, 403, 404, 409, 413, 422, 429, 503),
            200: {"description": "Committed (with `wait`)"},
            202: {"description": "Admitted: waiting to be ordered (a batch: some admitted)"},
            400: {
                "description": "Refused: the body, or (a batch) every transaction in it",
                "content": {
                    "application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/Problem"}
                    },
                    "application/json": {"schema": {"type": "object"}},
                },
            },
        },
    )
    async def submit(
        request: Request,
        wait: str | None = WAIT_QUERY,
        timeout_ms: int = TIMEOUT_QUERY,
    ) -> Response:
        raw = await read_body(request, node.config.max_body_bytes)
        try:
            is_batch, outcomes = await node.submit_body(raw, max_depth=BATCH_MAX_DEPTH)
        except DecodeError as error:
            raise problem_from_error(error) from None
        except NodeUnavailable as exc:
            raise ApiProblem(
                503,
                "node",
                getattr(exc, "code", 1),
                getattr(exc, "title", "Node busy"),
                str(exc),
                headers={"Retry-After": str(exc.retry_after_s)},
            ) from None
        results: list[dict[str, Any]] = []
        for outcome in outcomes:
            if outcome.error is not None:
                results.append(
                    {
                        "index": outcome.index,
                        "hash": outcome.tx_hash,
                        "status": "refused",
                        "error": _refusal(outcome.error),
                    }
                )
            else:
                results.append(
                    {"index": outcome.index, "hash": outcome.tx_hash, "status": "pending"}
                )
        if wait is not None:
            await _wait_for(node, results, wait, timeout_ms)
        if not is_batch:
            return _single_answer(results[0])
        accepted = sum(1 for r in results if r["status"] != "refused")
        over_quota = all(
            outcome.error is not None
            and outcome.error.codespace == "tx"
            and outcome.error.code == TxCode.QUOTA_EXCEEDED
            for outcome in outcomes
        )
        return Response(
            msgspec.json.encode(
                {"accepted": accepted, "refused": len(results) - accepted, "results": results}
            ),
            status_code=202 if accepted else 429 if over_quota else 400,
            media_type="application/json",
        )

    @router.get(
        "/v1/txs/{tx_hash}",
        tags=["transactions"],
        summary="A transaction's status and receipt",
        response_class=Response,
        responses={**_ok("TxStatus", "The transaction"), **problem_responses(400, 404, 503)},
    )
    async def get_tx(
        tx_hash: Annotated[str, Path(pattern=HASH_PATTERN, description="the transaction's hash")],
        wait: str | None = WAIT_QUERY,
        timeout_ms: int = TIMEOUT_QUERY,
        proof: bool = Query(False, description="add a proof bundle (`amchain verify`)"),
    ) -> Response:
        raw = _parse_hash(tx_hash)
        final: bool | None = None
        if wait == "commit":
            await node.wait_for_commit(raw, timeout_ms / 1000)
        elif wait == "final":
            _, final = await node.wait_for_final(raw, timeout_ms / 1000)
        status, stored, dropped = await asyncio.to_thread(node.tx_status, raw)
        if stored is not None:
            answer = TxStatus(
                status="committed",
                hash=stored.hash,
                height=stored.height,
                index=stored.index,
                transaction=msgspec.json.decode(stored.tx),
                receipt=stored.receipt,
                final=final,
                proof=await asyncio.to_thread(tx_bundle, node, stored) if proof else None,
            )
        elif status == "pending":
            answer = TxStatus(status="pending", hash=tx_hash.lower())
        elif dropped is not None:
            answer = TxStatus(status="dropped", hash=tx_hash.lower(), error=_refusal(dropped))
        else:
            raise ApiProblem(404, "api", 404, "Not found", f"no transaction {tx_hash} on this node")
        return Response(msgspec.json.encode(answer), media_type="application/json")

    @router.get(
        "/v1/txs",
        tags=["transactions"],
        summary="Recent transactions, or those of a block, a DID, a VIN, a signer or a module",
        description=(
            "With no filter: the most recent transactions of the last "
            f"{RECENT_BLOCKS:,} blocks, newest first (`failed_only` lists recent refusals; "
            "`module` those of one module). With `height`, `did`, `vin` or `signer`: those "
            "transactions, oldest first. Filters combine: a transaction must match all."
        ),
        response_class=Response,
        responses={**_ok("TxList", "Transaction summaries"), **problem_responses(400, 503)},
    )
    def list_txs(
        height: int | None = Query(
            None, ge=0, le=MAX_SAFE_INTEGER, description="the transactions of this block"
        ),
        did: str | None = Query(None, description="transactions naming this DID"),
        vin: str | None = Query(None, description="transactions about this vehicle"),
        signer: str | None = Query(None, description="transactions signed by this hex key"),
        module: str | None = Query(None, description="transactions calling this module"),
        failed_only: bool = Query(False, description="only transactions with a failed receipt"),
        limit: int = Query(100, ge=1, le=MAX_TXS_PAGE),
    ) -> Response:
        indexed = [
            (kind, text)
            for kind, text in (
                ("vehicle", (vin or "").upper()),
                ("did", did or ""),
                ("signer", (signer or "").lower()),
            )
            if text
        ]
        chosen = {
            name: value
            for name, value in (
                ("height", height),
                ("did", did),
                ("vin", vin),
                ("signer", signer),
                ("module", module),
            )
            if value not in (None, "")
        }
        narrowing = len(indexed) + (height is not None) > 1 or (
            module and (indexed or height is not None)
        )
        fetch = SCAN_FOR_FILTERS if narrowing else limit
        if height is not None:
            stored = node.store.block_txs(height)
            if failed_only:
                stored = [t for t in stored if not t.receipt.ok]
        elif indexed:
            kind, text = indexed.pop(0)
            stored = node.store.indexed_txs(kind, text, limit=fetch, failed_only=failed_only)
        else:
            min_height = max(0, node.head.height - RECENT_BLOCKS + 1)
            stored = node.store.recent_txs(
                min_height, limit, failed_only=failed_only, module=module or None
            )
            module = None
        if stored and indexed:
            low, high = min(t.height for t in stored), max(t.height for t in stored)
            for kind, text in indexed:
                found = node.store.indexed_positions(kind, text, low, high)
                stored = [t for t in stored if (t.height, t.index) in found]
        times: dict[int, int | None] = {}
        summaries = []
        for t in stored:
            if t.height not in times:
                header = node.store.get_header(t.height)
                times[t.height] = header.time_ms if header else None
            summary = tx_summary(t, times[t.height])
            if module and summary.module != module:
                continue
            summaries.append(summary)
            if len(summaries) == limit:
                break
        return Response(
            msgspec.json.encode(TxList(filter=chosen or {"recent": True}, txs=summaries)),
            media_type="application/json",
        )

    return router


async def _wait_for(node: Node, results: list[dict[str, Any]], wait: str, timeout_ms: int) -> None:
    """Wait for the admitted transactions of ``results`` and note how each ended."""
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
                result.update(status="refused", error=_refusal(dropped))
            continue
        result.update(
            status="committed", height=stored.height, receipt=msgspec.to_builtins(stored.receipt)
        )
        if wait == "final":
            result["final"] = final


def _single_answer(single: dict[str, Any]) -> Response:
    if single["status"] == "refused":
        refusal = single["error"]
        # Over quota: the signer's own transactions drain at block pace.
        headers = {"Retry-After": "1"} if refusal["status"] == 429 else None
        return JSONResponse(
            refusal, status_code=refusal["status"], media_type=PROBLEM_MEDIA_TYPE, headers=headers
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
