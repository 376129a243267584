"""The elected cutter cuts blocks: block ``N`` is appended with a transaction guarded by
``create_revision == 0`` on ``blocks/N``, so a height is written exactly once even when two
cutters race.

A cutter that loses such a race, or has just won an election, re-synchronises first: it
waits until its own peer has applied every block in etcd, so it never orders a transaction
twice, then cuts on top of the latest block. It never runs more than ``max_blocks_ahead``
blocks ahead of its peer. Every ``compact_every`` blocks it deletes block and commit keys
more than ``keep_blocks`` below the final height and compacts etcd's history.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from amchain.consensus.etcd_blocks import encode_block, pack_block_value
from amchain.consensus.etcd_context import OrderingContext, log, now_ms
from amchain.consensus.etcd_election import CutterElection
from amchain.consensus.etcd_mempool import WaitingTxs
from amchain.consensus.etcdv3 import Compare, EtcdUnavailable, prefix_end, put_op
from amchain.ledger import compute_block_hash, make_block_header

__all__ = ["BlockCutter"]


class BlockCutter:
    def __init__(self, ctx: OrderingContext, waiting: WaitingTxs, election: CutterElection) -> None:
        self._ctx = ctx
        self._waiting = waiting
        self._election = election
        self._cut_head: tuple[int, str, int] | None = None
        self._term = -1  # the election term the cut head belongs to
        self._compacted_below = 0
        self._compaction: asyncio.Task[None] | None = None
        self.blocks_cut = 0
        self.races_lost = 0

    def _may_cut(self) -> bool:
        return self._election.is_cutter and self._ctx.hooks.halted() is None

    async def _resync(self) -> bool:
        """Wait until this peer applied every block in etcd; then cut on top of it."""
        ctx, waiting = self._ctx, self._waiting
        term = self._election.term
        latest = await self._latest_height()
        while ctx.hooks.applied()[0] < latest and not ctx.stopping:
            if not self._may_cut():
                return False
            waiting.applied.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiting.applied.wait(), 0.5)
        self._cut_head = ctx.hooks.applied()
        self._term = term
        return True

    async def _latest_height(self) -> int:
        ctx = self._ctx
        kvs, _ = await ctx.etcd.range(
            ctx.keys.blocks, prefix_end(ctx.keys.blocks), limit=1, descending=True, keys_only=True
        )
        if not kvs:
            return ctx.hooks.applied()[0] if ctx.latest_seen < 0 else ctx.latest_seen
        height = ctx.keys.height_of(kvs[0].key)
        ctx.see_height(height)
        return height

    async def _wait(self, event: asyncio.Event, seconds: float) -> None:
        event.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)

    async def loop(self) -> None:
        ctx, waiting = self._ctx, self._waiting
        config = ctx.config
        wait_s = config.max_block_wait_ms / 1000
        while not ctx.stopping:
            if not self._may_cut():
                self._cut_head = None
                await self._wait(waiting.arrived, 0.5)
                continue
            if self._cut_head is None or self._term != self._election.term:
                try:
                    if not await self._resync():
                        continue
                except (EtcdUnavailable, RuntimeError) as exc:
                    ctx.mark_etcd(False, str(exc))
                    await asyncio.sleep(0.3)
                    continue
            assert self._cut_head is not None
            # Back-pressure: never run more than max_blocks_ahead blocks ahead of our peer.
            if self._cut_head[0] - ctx.hooks.applied()[0] >= config.max_blocks_ahead:
                await self._wait(waiting.applied, 0.5)
                continue
            if not waiting.ready(config.max_block_txs):
                await self._wait(waiting.arrived, 0.5)
                continue
            # Let a block fill for up to max_block_wait_ms.
            deadline = time.monotonic() + wait_s
            while (
                waiting.unordered() < config.max_block_txs
                and time.monotonic() < deadline
                and not ctx.stopping
            ):
                await self._wait(waiting.arrived, max(0.0, deadline - time.monotonic()))
            await self._cut_one()

    async def _cut_one(self) -> None:
        ctx = self._ctx
        assert self._cut_head is not None
        height, prev_hash, prev_time = self._cut_head
        block_time = max(now_ms(), prev_time)
        txs = self._waiting.take(block_time)
        if not txs:
            return
        header = make_block_header(
            chain_id=ctx.chain_id,
            height=height + 1,
            prev_hash=prev_hash,
            time_ms=block_time,
            txs=txs,
            proposer=bytes.fromhex(ctx.config.node_key_hex),
        )
        data = pack_block_value(encode_block(header, (tx.canonical for tx in txs)))
        key = ctx.keys.block(header.height)
        try:
            won, revision, _ = await ctx.etcd.txn([Compare(key, "CREATE", 0)], [put_op(key, data)])
        except (EtcdUnavailable, RuntimeError) as exc:
            # Unknown outcome: re-synchronise from etcd before cutting again.
            ctx.mark_etcd(False, str(exc))
            self._cut_head = None
            await asyncio.sleep(0.2)
            return
        if not won:
            self.races_lost += 1
            log.warning("height %d was already written by another cutter; resyncing", height + 1)
            self._cut_head = None
            return
        ctx.mark_etcd(True)
        self._waiting.mark_ordered(txs, header.height)
        self._cut_head = (header.height, compute_block_hash(header).hex(), block_time)
        ctx.see_height(header.height)
        self.blocks_cut += 1
        if header.height % ctx.config.compact_every == 0:
            self._compaction = asyncio.create_task(self._compact(revision))

    async def _compact(self, revision: int) -> None:
        """Delete block and commit keys below ``final − keep_blocks``; compact history."""
        ctx = self._ctx
        floor = ctx.hooks.final_height() - ctx.config.keep_blocks
        if floor <= self._compacted_below:
            return
        try:
            await ctx.etcd.delete_range(ctx.keys.blocks, ctx.keys.block(floor))
            await ctx.etcd.delete_range(ctx.keys.commits, ctx.keys.commits_of(floor))
            _, current = await ctx.etcd.range(ctx.keys.cutter, count_only=True)
            await ctx.etcd.compact(current)
            self._compacted_below = floor
            log.info("etcd: removed blocks below %d, compacted at revision %d", floor, current)
        except (EtcdUnavailable, RuntimeError) as exc:
            log.warning("etcd compaction failed: %s", exc)
