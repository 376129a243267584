"""``GET /v1/events``: server-sent events, one per committed block, resumable from a height.

Each ``block`` event carries the block's height, hash, time, transaction count, every event
of its transactions' receipts and of its end-of-block hooks (``tx_hash`` then
``end_block/<module>``), and the refusals. A client resumes with ``Last-Event-ID`` (the
last height it got) or ``from_height``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from amchain.api.openapi import problem_responses
from amchain.node import CommittedBlock, Node

__all__ = ["events_router"]

KEEP_ALIVE_S = 15


def block_event(node: Node, height: int) -> str | None:
    """The SSE frame of the block at ``height`` (None: not committed)."""
    block = node.store.get_block(height)
    if block is None:
        return None
    txs = node.store.block_txs(height)
    hooks = node.store.block_hook_receipts(height)
    payload = {
        "height": height,
        "hash": block.hash,
        "time_ms": block.header.time_ms,
        "tx_count": len(txs),
        "events": [
            {"tx_hash": t.hash, "type": e.type, "attributes": e.attributes}
            for t in txs
            for e in t.receipt.events
        ]
        + [
            {"tx_hash": r.tx_hash, "type": e.type, "attributes": e.attributes}
            for r in hooks
            for e in r.events
        ],
        "failed": [
            {"tx_hash": r.tx_hash, "codespace": r.codespace, "code": r.code}
            for r in [t.receipt for t in txs] + hooks
            if not r.ok
        ],
    }
    data = json.dumps(payload, separators=(",", ":"))
    return f"id: {height}\nevent: block\ndata: {data}\n\n"


def events_router(node: Node) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/v1/events",
        tags=["events"],
        summary="Server-sent events: committed blocks' events, resumable from a height",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "An unbounded stream of `block` events",
                "content": {
                    "text/event-stream": {
                        "schema": {
                            "type": "object",
                            "description": "one server-sent event: `block`, with the block's "
                            "height as `id` and its JSON as `data`",
                            "properties": {
                                "event": {"type": "string"},
                                "id": {"type": "string"},
                                "data": {"type": "string"},
                            },
                        }
                    }
                },
            },
            **problem_responses(400, 503),
        },
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
        start = from_height

        async def stream() -> AsyncIterator[str]:
            next_height = start
            idle_s = 0
            try:
                yield ": amchain event stream\n\n"
                while True:
                    while next_height <= node.head.height:
                        chunk = await asyncio.to_thread(block_event, node, next_height)
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
                        if idle_s >= KEEP_ALIVE_S:
                            idle_s = 0
                            yield ": keep-alive\n\n"
                    if await request.is_disconnected():
                        return
            finally:
                node.unsubscribe(queue)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    return router
