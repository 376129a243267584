"""Listing endpoints for browsing the chain: recent blocks, and transactions by index.

``GET /v1/blocks`` pages through block summaries newest first; ``GET /v1/txs`` lists the
transactions of a block or those indexed under a DID, a VIN or a signer key (oldest first).
The explorer reads these like any other client.
"""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter, Query

from amchain.api.problems import ApiProblem
from amchain.node import Node
from amchain.storage import StoredTx

MAX_BLOCKS_PAGE = 500
MAX_TXS_PAGE = 1000
RECENT_BLOCKS = 10_000  # how far back an unfiltered listing looks


def tx_summary(stored: StoredTx, time_ms: int | None) -> dict[str, Any]:
    """A transaction in a list: where it is, what it asked, and how it ended."""
    body = msgspec.json.decode(stored.tx)["body"]
    receipt = stored.receipt
    return {
        "hash": stored.hash,
        "height": stored.height,
        "index": stored.index,
        "time_ms": time_ms,
        "module": body["module"],
        "message": body["message"],
        "signers": body["signers"],
        "args": body["args"],
        "ok": receipt.ok,
        "codespace": receipt.codespace,
        "code": receipt.code,
        "error": receipt.message,
        "event_types": [e.type for e in receipt.events],
    }


def browse_router(node: Node) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/blocks", tags=["chain"], summary="Recent block summaries, newest first")
    def list_blocks(
        before: int | None = Query(
            None, ge=0, description="list blocks below this height (default: from the head)"
        ),
        limit: int = Query(25, ge=1, le=MAX_BLOCKS_PAGE),
    ) -> dict[str, Any]:
        head = node.head.height
        top = head if before is None else min(head, before - 1)
        rows = node.store.recent_blocks(top, limit) if top >= 0 else []
        blocks = [
            {
                "height": height,
                "hash": block_hash,
                "time_ms": header.time_ms,
                "tx_count": tx_count,
            }
            for height, block_hash, header, tx_count in rows
        ]
        lowest = rows[-1][0] if rows else 0
        return {"head": head, "blocks": blocks, "next_before": lowest if lowest > 0 else None}

    @router.get(
        "/v1/txs",
        tags=["transactions"],
        summary="Recent transactions, those of a block, or those naming a DID, VIN or signer",
        description=(
            "With no filter: the most recent transactions of the last "
            f"{RECENT_BLOCKS:,} blocks, newest first (`failed_only` lists recent refusals). "
            "With one of `height`, `did`, `vin`, `signer`: those transactions, oldest first."
        ),
    )
    def list_txs(
        height: int | None = Query(None, ge=0, description="the transactions of this block"),
        did: str | None = Query(None, description="transactions naming this DID"),
        vin: str | None = Query(None, description="transactions about this vehicle"),
        signer: str | None = Query(None, description="transactions signed by this hex key"),
        failed_only: bool = Query(False, description="only transactions with a failed receipt"),
        limit: int = Query(100, ge=1, le=MAX_TXS_PAGE),
    ) -> dict[str, Any]:
        chosen = [
            (name, value)
            for name, value in (
                ("height", height),
                ("did", did),
                ("vin", vin),
                ("signer", signer),
            )
            if value is not None
        ]
        if len(chosen) > 1:
            raise ApiProblem(
                400,
                "api",
                5,
                "Choose one filter",
                "give at most one of height, did, vin or signer",
            )
        name, value = chosen[0] if chosen else ("recent", True)
        if name == "recent":
            min_height = max(0, node.head.height - RECENT_BLOCKS + 1)
            stored = node.store.recent_txs(min_height, limit, failed_only=failed_only)
        elif name == "height":
            stored = node.store.block_txs(int(value))
            if failed_only:
                stored = [t for t in stored if not t.receipt.ok]
            stored = stored[:limit]
        else:
            kind = {"did": "did", "vin": "vehicle", "signer": "signer"}[name]
            text = str(value)
            text = text.upper() if name == "vin" else text.lower() if name == "signer" else text
            stored = node.store.indexed_txs(kind, text, limit=limit, failed_only=failed_only)
        times: dict[int, int | None] = {}
        for t in stored:
            if t.height not in times:
                header = node.store.get_header(t.height)
                times[t.height] = header.time_ms if header else None
        return {
            "filter": {name: value},
            "txs": [tx_summary(t, times[t.height]) for t in stored],
        }

    return router
