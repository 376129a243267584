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
from amchain.api.problems import ApiProblem
from amchain.codec import MAX_SAFE_INTEGER
from amchain.node import CommittedBlock, Node

__all__ = ["events_router"]

KEEP_ALIVE_S = 15
STREAMS_PER_CLIENT = 8


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
    streams: dict[str, int] = {}  # open streams per client address

    def open_stream(client: str) -> None:
        """Count a new stream of ``client``; refuse one past the limits (429)."""
        if sum(streams.values()) >= node.config.max_event_streams:
            raise ApiProblem(
                503,
                "api",
                6,
                "Too many event streams",
                f"this node serves {node.config.max_event_streams} event streams at once; "
                "retry later",
                headers={"Retry-After": "10"},
            )
        if streams.get(client, 0) >= STREAMS_PER_CLIENT:
            raise ApiProblem(
                429,
                "api",
                7,
                "Too many event streams",
                f"a client may hold {STREAMS_PER_CLIENT} event streams at once; close one first",
                headers={"Retry-After": "10"},
            )
        streams[client] = streams.get(client, 0) + 1

    def close_stream(client: str) -> None:
        left = streams.get(client, 0) - 1
        if left > 0:
            streams[client] = left
        else:
            streams.pop(client, None)

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
            **problem_responses(400, 429, 503),
        },
    )
    async def events(
        request: Request,
        from_height: int | None = Query(
            None,
            ge=0,
            le=MAX_SAFE_INTEGER,
            description="first height to send (default: next block)",
        ),
    ) -> StreamingResponse:
        last_id = request.headers.get("last-event-id") or ""
        if from_height is None:
            resumable = last_id.isascii() and last_id.isdigit() and len(last_id) <= 15
            from_height = int(last_id) + 1 if resumable else node.head.height + 1
        client = request.client.host if request.client is not None else ""
        open_stream(client)
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
                close_stream(client)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    return router
