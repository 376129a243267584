"""The chain's own routes: status, blocks and state entries (with proofs).

* ``GET /v1/status`` — chain id, head, node key, modules.
* ``GET /v1/blocks/latest``, ``/v1/blocks/{height}`` — a block: header, commit record,
  transaction hashes, end-of-block receipts.
* ``GET /v1/blocks?before=H&limit=N`` — block summaries, newest first.
* ``GET /v1/state/{key}`` — one state entry, optionally proven, optionally at a height.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

import amchain
from amchain.api.openapi import problem_responses
from amchain.api.problems import ApiProblem, problem_from_error
from amchain.api.proofs import state_bundle
from amchain.codec import MAX_SAFE_INTEGER
from amchain.ledger import BlockHeader, LedgerError, Receipt, SignedCommit
from amchain.node import Node
from amchain.storage import StoredBlock

__all__ = ["MAX_BLOCKS_PAGE", "chain_router"]

MAX_BLOCKS_PAGE = 500
PROOF_QUERY = Query(False, description="add a proof bundle (check it with `amchain verify`)")
HEIGHT_QUERY = Query(
    None, ge=0, le=MAX_SAFE_INTEGER, description="answer as of this height (default: the head)"
)


class NodeStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The chain head, the node's identity and load."""

    chain_id: str
    height: int
    latest_block_hash: str
    latest_block_time_ms: int
    state_root: str
    pending_txs: int
    node_key: str
    ordering: str
    version: str
    modules: list[str]


class BlockAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A committed block: header, this node's signed commit record, transaction hashes, and
    the receipts of the end-of-block hooks that emitted events or refused."""

    height: int
    hash: str
    header: BlockHeader
    commit: SignedCommit
    tx_hashes: list[str]
    hook_receipts: list[Receipt]


class BlockSummary(msgspec.Struct, frozen=True, kw_only=True):
    height: int
    hash: str
    time_ms: int
    tx_count: int


class BlockPage(msgspec.Struct, frozen=True, kw_only=True):
    """Block summaries newest first; ``next_before`` asks for the next page."""

    head: int
    blocks: list[BlockSummary]
    next_before: int | None


class StateAnswer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One state entry (``value`` null when absent), with its proof bundle if asked for."""

    key: str
    value: Any
    height: int
    proof: dict[str, Any] | None = None


ANSWER_TYPES: tuple[Any, ...] = (NodeStatus, BlockAnswer, BlockPage, StateAnswer)


def _json(body: Any) -> Response:
    # msgspec encodes stored records embedded as msgspec.Raw without decoding them again.
    return Response(msgspec.json.encode(body), media_type="application/json")


def _ok(type_: Any, description: str) -> dict[str | int, dict[str, Any]]:
    name = type_.__name__
    return {
        200: {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    }


def block_answer(node: Node, block: StoredBlock) -> BlockAnswer:
    return BlockAnswer(
        height=block.header.height,
        hash=block.hash,
        header=block.header,
        commit=block.commit,
        tx_hashes=block.tx_hashes,
        hook_receipts=node.store.block_hook_receipts(block.header.height),
    )


def chain_router(node: Node) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/v1/status",
        tags=["chain"],
        summary="Chain head, node identity and load",
        response_class=Response,
        responses={**_ok(NodeStatus, "The node's status"), **problem_responses(503)},
    )
    def status() -> Response:
        head = node.head
        return _json(
            NodeStatus(
                chain_id=node.chain_id,
                height=head.height,
                latest_block_hash=head.hash,
                latest_block_time_ms=head.time_ms,
                state_root=head.state_root.hex(),
                pending_txs=node.pending_count(),
                node_key=node.node_key.public_key.hex(),
                ordering=node.ordering,
                version=amchain.__version__,
                modules=list(node.registry.names),
            )
        )

    @router.get(
        "/v1/blocks/latest",
        tags=["chain"],
        summary="The latest committed block",
        response_class=Response,
        responses={**_ok(BlockAnswer, "The block"), **problem_responses(404, 503)},
    )
    def latest_block() -> Response:
        block = node.store.get_block(node.head.height)
        if block is None:
            raise ApiProblem(404, "api", 404, "Not found", "no block committed yet")
        return _json(block_answer(node, block))

    @router.get(
        "/v1/blocks/{height}",
        tags=["chain"],
        summary="A block by height",
        response_class=Response,
        responses={**_ok(BlockAnswer, "The block"), **problem_responses(400, 404, 503)},
    )
    def get_block(
        height: Annotated[int, Path(ge=0, le=MAX_SAFE_INTEGER, description="the block's height")],
    ) -> Response:
        block = node.store.get_block(height)
        if block is None:
            raise ApiProblem(
                404,
                "api",
                404,
                "Not found",
                f"no block at height {height} (head is {node.head.height})",
            )
        return _json(block_answer(node, block))

    @router.get(
        "/v1/blocks",
        tags=["chain"],
        summary="Recent block summaries, newest first",
        response_class=Response,
        responses={**_ok(BlockPage, "A page of blocks"), **problem_responses(400, 503)},
    )
    def list_blocks(
        before: int | None = Query(
            None,
            ge=0,
            le=MAX_SAFE_INTEGER,
            description="list blocks below this height (default: from the head)",
        ),
        limit: int = Query(25, ge=1, le=MAX_BLOCKS_PAGE),
    ) -> Response:
        head = node.head.height
        top = head if before is None else min(head, before - 1)
        rows = node.store.recent_blocks(top, limit) if top >= 0 else []
        blocks = [
            BlockSummary(height=height, hash=block_hash, time_ms=header.time_ms, tx_count=count)
            for height, block_hash, header, count in rows
        ]
        lowest = rows[-1][0] if rows else 0
        return _json(
            BlockPage(head=head, blocks=blocks, next_before=lowest if lowest > 0 else None)
        )

    @router.get(
        "/v1/state/{key:path}",
        tags=["state"],
        summary="One state entry (e.g. vehicles/v/<VIN>), optionally with its proof",
        response_class=Response,
        responses={**_ok(StateAnswer, "The entry"), **problem_responses(400, 404, 410, 503)},
    )
    async def get_state(
        key: str, proof: bool = PROOF_QUERY, height: int | None = HEIGHT_QUERY
    ) -> Response:
        try:
            bundle = await asyncio.to_thread(state_bundle, node, key, height)
        except LedgerError as error:
            raise problem_from_error(error) from None
        return _json(
            StateAnswer(
                key=key,
                value=bundle["entry"]["value"],
                height=bundle["height"],
                proof=bundle if proof else None,
            )
        )

    return router
